"""Snapshot and decision types shared by the autoscaler, the simulator and the sandbox.

Pure data: no clock, no IO. Times are float epoch seconds handed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LifecycleState(StrEnum):
    """AWS Auto Scaling lifecycle states (botocore ``LifecycleState``), one enum for the scaling
    core, the Auto Scaling model, the simulator and the sandbox."""

    PENDING = "Pending"
    PENDING_WAIT = "Pending:Wait"
    PENDING_PROCEED = "Pending:Proceed"
    IN_SERVICE = "InService"
    TERMINATING = "Terminating"
    TERMINATING_WAIT = "Terminating:Wait"
    TERMINATING_PROCEED = "Terminating:Proceed"
    TERMINATED = "Terminated"
    WARMED_PENDING = "Warmed:Pending"
    WARMED_PENDING_WAIT = "Warmed:Pending:Wait"
    WARMED_PENDING_PROCEED = "Warmed:Pending:Proceed"
    WARMED_STOPPED = "Warmed:Stopped"
    WARMED_RUNNING = "Warmed:Running"
    WARMED_HIBERNATED = "Warmed:Hibernated"
    WARMED_TERMINATING = "Warmed:Terminating"
    WARMED_TERMINATING_WAIT = "Warmed:Terminating:Wait"
    WARMED_TERMINATING_PROCEED = "Warmed:Terminating:Proceed"
    WARMED_TERMINATED = "Warmed:Terminated"


BOOTING_STATES = frozenset(
    {LifecycleState.PENDING, LifecycleState.PENDING_WAIT, LifecycleState.PENDING_PROCEED}
)
WARM_STATES = frozenset(s for s in LifecycleState if s.value.startswith("Warmed:"))
LEAVING_STATES = frozenset(
    {
        LifecycleState.TERMINATING,
        LifecycleState.TERMINATING_WAIT,
        LifecycleState.TERMINATING_PROCEED,
        LifecycleState.TERMINATED,
    }
)


def parse_state(value: str) -> LifecycleState | None:
    """Map an AWS lifecycle state string to ours; None for states we do not track.

    Sub-states we do not list (``Terminating:Retained``, ``Warmed:Terminating:Retained``) fold
    into their parent state.
    """
    try:
        return LifecycleState(value)
    except ValueError:
        pass
    for state in LifecycleState:
        if value.startswith(state.value + ":"):
            return state
    return None


@dataclass(frozen=True, slots=True)
class InstanceView:
    """One instance as the autoscaler saw it."""

    instance_id: str
    state: LifecycleState
    launched_at: float
    slots: int  # job slots: min(gitlab_runner_concurrent, sum of limits); 0 if unknown
    running_jobs: int | None  # None = metrics missing or stale -> counts as busy
    scraped_at: float | None = None
    idle_since: float | None = None  # when running_jobs last became 0
    protected: bool = False  # scale-in protection currently set


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """Everything ``decide()`` may look at, observed at time ``now``."""

    now: float
    instances: tuple[InstanceView, ...]
    desired: int
    min_size: int
    max_size: int
    pending_jobs: int | None = None  # GitLab queue for this fleet's tags, if known
    last_scale_in_at: float | None = None  # for the scale-in cooldown
    last_scale_out_at: float | None = None
    refresh_in_progress: bool = False  # instance refresh / rolling update: do not fight it


class ReasonCode(StrEnum):
    """Machine-readable reasons, one CloudWatch metric each (see ``metric_names``)."""

    SCALE_OUT_DEMAND = "ScaleOutDemand"  # running jobs + idle target exceed capacity
    SCALE_OUT_QUEUE = "ScaleOutQueue"  # pending jobs need slots
    SCALE_OUT_MIN = "ScaleOutMinSize"  # below the group's minimum
    SCALE_IN_IDLE = "ScaleInIdle"  # idle instances past their idle time removed
    HOLD_STEADY = "HoldSteady"  # capacity matches the target
    HOLD_COOLDOWN = "HoldCooldown"  # scale-in wanted but the cooldown has not passed
    HOLD_NO_IDLE = "HoldNoIdleInstance"  # scale-in wanted but every candidate is busy
    HOLD_REFRESH = "HoldRefresh"  # instance refresh or rolling update in progress
    AT_MAX = "AtMaxSize"  # demand exceeds max_size
    METRICS_MISSING = "MetricsMissing"  # some instances had no fresh metrics
    QUEUE_UNKNOWN = "QueueUnknown"  # the queue policy could not read pending jobs
    WARM_POOL = "WarmPoolReady"  # warm instances wait in the pool (not counted as capacity)


@dataclass(frozen=True, slots=True)
class ScalingDecision:
    """What to do. ``desired`` is the group's desired capacity after the action.

    For ``scale_in`` the adapter terminates each instance in ``terminate`` with
    ShouldDecrementDesiredCapacity=True; ``desired`` already accounts for that.
    """

    desired: int
    terminate: tuple[str, ...]  # specific idle instances to remove
    protect: tuple[str, ...]  # instances that should carry scale-in protection (busy)
    unprotect: tuple[str, ...]
    reasons: tuple[str, ...]  # human-readable, also published as the decision reason
    action: str  # "scale_out" | "scale_in" | "hold"
    codes: tuple[ReasonCode, ...] = ()
    policy: str = ""  # which policy (or schedule period) decided
