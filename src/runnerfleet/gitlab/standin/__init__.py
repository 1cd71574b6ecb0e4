"""A GitLab stand-in for tests and the sandbox: the slice of REST API v4 runnerfleet uses.

Loopback only. Seed it through ``GitLabStandIn.state`` (a ``StandInState``), talk to it with
python-gitlab (user API) or plain HTTP (runner API: verify, managers, jobs).
"""

from runnerfleet.gitlab.standin.jobs import enqueue_job, request_job, update_job
from runnerfleet.gitlab.standin.model import ApiError, StandInState
from runnerfleet.gitlab.standin.server import GitLabStandIn

__all__ = ["ApiError", "GitLabStandIn", "StandInState", "enqueue_job", "request_job", "update_job"]
