"""The drain model: one pure step function for termination lifecycle actions and spot
interruptions, its per-instance state record, and the parsing of the events that start it.

Nothing here imports boto3, httpx or the clock: times come in as float epoch seconds. The same
step function runs in the lifecycle Lambda (delivery and abandon), in the simulator and in the
reliability benchmark; the drain script on the instance is held to it by a scenario table.
"""

from runnerfleet.drain.commands import classify_invocation, undeliverable_error
from runnerfleet.drain.events import LifecycleEvent, parse_lifecycle_event
from runnerfleet.drain.spot import (
    JobRef,
    JobView,
    SpotEvent,
    SpotEventKind,
    SpotPlan,
    jobs_to_retry,
    parse_job_list,
    parse_spot_event,
    plan_spot_response,
)
from runnerfleet.drain.step import drain_step, record
from runnerfleet.drain.types import (
    COMMAND_RAN,
    CommandStatus,
    DrainAction,
    DrainDecision,
    DrainLimits,
    DrainState,
    Observation,
)

__all__ = [
    "COMMAND_RAN",
    "CommandStatus",
    "DrainAction",
    "DrainDecision",
    "DrainLimits",
    "DrainState",
    "JobRef",
    "JobView",
    "LifecycleEvent",
    "Observation",
    "SpotEvent",
    "SpotEventKind",
    "SpotPlan",
    "classify_invocation",
    "drain_step",
    "jobs_to_retry",
    "parse_job_list",
    "parse_lifecycle_event",
    "parse_spot_event",
    "plan_spot_response",
    "record",
    "undeliverable_error",
]
