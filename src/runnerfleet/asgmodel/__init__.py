"""A pure model of one EC2 Auto Scaling group: lifecycle states, hooks, heartbeats, warm pool.

Shared by the simulator, the sandbox (behind its AWS endpoint) and the reliability benchmark.
Time is a value passed into every call; nothing here reads a clock or does IO.
"""

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import (
    ABANDON,
    CONTINUE,
    EventKind,
    FleetConfig,
    FleetEvent,
    FleetModelError,
    HookConfig,
    InstanceStatus,
    WarmPoolConfig,
)

__all__ = [
    "ABANDON",
    "CONTINUE",
    "EventKind",
    "Fleet",
    "FleetConfig",
    "FleetEvent",
    "FleetModelError",
    "HookConfig",
    "InstanceStatus",
    "WarmPoolConfig",
]
