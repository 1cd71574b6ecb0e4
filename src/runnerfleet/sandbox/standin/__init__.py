"""A GitLab stand-in for tests and the sandbox: the slice of REST API v4 runnerfleet uses.

Loopback only. Seed it through ``GitLabStandIn.state`` (a ``StandInState``), talk to it with
python-gitlab (user API) or plain HTTP (runner API: verify, managers, jobs).
"""

from runnerfleet.sandbox.standin.jobs import enqueue_job, request_job, update_job
from runnerfleet.sandbox.standin.model import ApiError, StandInState
from runnerfleet.sandbox.standin.seed import SANDBOX_ACCESS_TOKEN, seed_for_spec, seed_sandbox
from runnerfleet.sandbox.standin.server import GitLabStandIn

__all__ = [
    "SANDBOX_ACCESS_TOKEN",
    "ApiError",
    "GitLabStandIn",
    "StandInState",
    "enqueue_job",
    "request_job",
    "seed_for_spec",
    "seed_sandbox",
    "update_job",
]
