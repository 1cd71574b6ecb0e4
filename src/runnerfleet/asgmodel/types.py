"""Values of the Auto Scaling fleet model: states, configuration, events, errors.

State names and error codes are the AWS ones (botocore ``LifecycleState``, ``ValidationError``,
``ScalingActivityInProgressFault``) so that code driving the model reads like code driving AWS.
Sources are keyed as in the shared reference ``aws-autoscaling-facts.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runnerfleet.errors import AwsError
from runnerfleet.scaling.lifecycle import (
    ABANDON,
    CONTINUE,
    DEFAULT_HEARTBEAT_TIMEOUT_S,
    LIFECYCLE_RESULTS,
    SPOT_NOTICE_S,
    global_timeout_s,
    heartbeat_timeout_problem,
)
from runnerfleet.scaling.types import LifecycleState

__all__ = ["ABANDON", "CONTINUE", "SPOT_NOTICE_S"]  # re-exported: the model's callers use them


S = LifecycleState

#: states that count toward desired capacity (Terminating ones and the warm pool do not)
COUNTED = frozenset({S.PENDING, S.PENDING_WAIT, S.IN_SERVICE})
WAITING = frozenset({S.PENDING_WAIT, S.TERMINATING_WAIT, S.WARMED_PENDING_WAIT})
WARM = frozenset(
    {
        S.WARMED_PENDING,
        S.WARMED_PENDING_WAIT,
        S.WARMED_STOPPED,
        S.WARMED_RUNNING,
    }
)
TERMINATING = frozenset({S.TERMINATING, S.TERMINATING_WAIT, S.TERMINATING_PROCEED})
GONE = frozenset({S.TERMINATED, S.WARMED_TERMINATED})


class FleetModelError(AwsError):
    """What AWS would answer with an error; ``code`` is the AWS error code."""

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        self.code = code
        super().__init__(f"{code}: {message}", hint=hint)


def validation_error(message: str, hint: str | None = None) -> FleetModelError:
    return FleetModelError("ValidationError", message, hint=hint)


@dataclass(frozen=True, slots=True)
class HookConfig:
    """One lifecycle hook. API defaults: 3600 s heartbeat timeout, ABANDON [BC-AS]."""

    heartbeat_timeout_s: float = DEFAULT_HEARTBEAT_TIMEOUT_S
    default_result: str = ABANDON

    def __post_init__(self) -> None:
        problem = heartbeat_timeout_problem(self.heartbeat_timeout_s)
        if problem is not None:
            raise validation_error(problem)
        if self.default_result not in LIFECYCLE_RESULTS:
            raise validation_error(
                f"DefaultResult must be CONTINUE or ABANDON, not {self.default_result!r}"
            )

    @property
    def global_timeout_s(self) -> float:
        return global_timeout_s(self.heartbeat_timeout_s)


@dataclass(frozen=True, slots=True)
class WarmPoolConfig:
    """PutWarmPool. Pool size = (MaxGroupPreparedCapacity or MaxSize) - desired, >= MinSize."""

    min_size: int = 0
    max_group_prepared_capacity: int | None = None
    pool_state: str = "Stopped"  # Stopped | Running
    reuse_on_scale_in: bool = False


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """An Auto Scaling group as the model needs it.

    ``pending_s`` is how long EC2 takes before the instance leaves Pending (reaches the launch
    hook or InService); ``terminating_s`` is EC2 shutdown after Terminating:Proceed.
    """

    min_size: int
    max_size: int
    desired: int
    default_cooldown_s: float = 300.0
    launch_hook: HookConfig | None = None
    terminate_hook: HookConfig | None = None
    pending_s: float = 0.0
    terminating_s: float = 0.0
    new_instances_protected: bool = False
    warm_pool: WarmPoolConfig | None = None
    spot: bool = False
    capacity_rebalance: bool = False
    termination_policy: str = "OldestInstance"  # OldestInstance | NewestInstance

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.desired <= self.max_size:
            raise validation_error(
                f"need 0 <= MinSize ({self.min_size}) <= DesiredCapacity ({self.desired}) "
                f"<= MaxSize ({self.max_size})"
            )
        if self.warm_pool is not None and self.spot:
            raise validation_error(
                "You cannot add a warm pool to Auto Scaling groups that launch Spot Instances",
                hint="use on-demand instances with a warm pool, or spot without one",
            )
        if self.termination_policy not in ("OldestInstance", "NewestInstance"):
            raise validation_error(f"unknown termination policy {self.termination_policy!r}")


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    """What DescribeAutoScalingInstances / DescribeWarmPool would show about one instance."""

    instance_id: str
    state: LifecycleState
    launched_at: float
    state_since: float
    protected: bool
    from_warm_pool: bool
    action_deadline: float | None  # heartbeat deadline while in a *:Wait state
    spot_kill_at: float | None


class EventKind(StrEnum):
    LAUNCHING = "launching"  # entered Pending (or Warmed:Pending)
    LAUNCH_ACTION = "launch_lifecycle_action"  # EC2 Instance-launch Lifecycle Action
    IN_SERVICE = "in_service"
    WARMED = "warmed"  # reached Warmed:Stopped / Warmed:Running
    TERMINATE_ACTION = "terminate_lifecycle_action"  # EC2 Instance-terminate Lifecycle Action
    HOOK_TIMEOUT = "hook_timeout"  # the default result was applied
    SPOT_WARNING = "spot_interruption_warning"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class FleetEvent:
    at: float
    kind: EventKind
    instance_id: str
    origin: str = ""  # EC2 | AutoScalingGroup | WarmPool, as in the EventBridge detail
    destination: str = ""
    detail: str = ""
