"""Pure decisions for draining runners: termination lifecycle actions and spot interruptions.

Nothing here imports boto3, httpx or the clock: times come in as float epoch seconds. The same
functions run in the Lambda handlers, in the operator commands and in the fleet model.
"""

from runnerfleet.drain.decide import classify_invocation, decide_drain, undeliverable_error
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
from runnerfleet.drain.types import (
    CommandStatus,
    DrainAction,
    DrainDecision,
    DrainLimits,
    DrainState,
)

__all__ = [
    "CommandStatus",
    "DrainAction",
    "DrainDecision",
    "DrainLimits",
    "DrainState",
    "JobRef",
    "JobView",
    "LifecycleEvent",
    "SpotEvent",
    "SpotEventKind",
    "SpotPlan",
    "classify_invocation",
    "decide_drain",
    "jobs_to_retry",
    "parse_job_list",
    "parse_lifecycle_event",
    "parse_spot_event",
    "plan_spot_response",
    "undeliverable_error",
]
