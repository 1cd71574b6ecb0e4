"""runnerfleet.scaling: the pure scaling core (snapshot -> decision). No IO, no clock."""

from runnerfleet.scaling.decide import decide, idle_target, in_cooldown
from runnerfleet.scaling.policies import (
    POLICY_NAMES,
    BasePolicy,
    HeadroomPolicy,
    IdlePolicy,
    Period,
    Policy,
    QueuePolicy,
    Schedule,
    parse_duration,
    policy_from_mapping,
    policy_name,
)
from runnerfleet.scaling.types import (
    FleetSnapshot,
    InstanceView,
    LifecycleState,
    ReasonCode,
    ScalingDecision,
    parse_state,
)

__all__ = [
    "POLICY_NAMES",
    "BasePolicy",
    "FleetSnapshot",
    "HeadroomPolicy",
    "IdlePolicy",
    "InstanceView",
    "LifecycleState",
    "Period",
    "Policy",
    "QueuePolicy",
    "ReasonCode",
    "ScalingDecision",
    "Schedule",
    "decide",
    "idle_target",
    "in_cooldown",
    "parse_duration",
    "parse_state",
    "policy_from_mapping",
    "policy_name",
]
