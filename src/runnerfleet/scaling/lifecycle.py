"""Facts of EC2 Auto Scaling lifecycle hooks and spot notices: the one home of these numbers.

The drain policy, the Auto Scaling model, the stack and the Lambda handlers import them from
here. Sources are keyed as in ``aws-autoscaling-facts.md``: PutLifecycleHook's HeartbeatTimeout
(30..7200 s, default 3600) and GlobalTimeout ("172800 seconds (48 hours) or 100 times
HeartbeatTimeout, whichever is smaller") [BC-AS]; the spot interruption notice "two minutes
before Amazon EC2 stops or terminates" the instance [EC2UG:spot-instance-termination-notices].
"""

from __future__ import annotations

CONTINUE = "CONTINUE"
ABANDON = "ABANDON"
LIFECYCLE_RESULTS = (CONTINUE, ABANDON)

MIN_HEARTBEAT_TIMEOUT_S = 30
MAX_HEARTBEAT_TIMEOUT_S = 7200
DEFAULT_HEARTBEAT_TIMEOUT_S = 3600
MAX_GLOBAL_TIMEOUT_S = 172_800
GLOBAL_TIMEOUT_HEARTBEATS = 100
SPOT_NOTICE_S = 120


def global_timeout_s(heartbeat_timeout_s: float) -> float:
    """How long AWS lets one lifecycle action wait, whatever the heartbeats."""
    return float(min(MAX_GLOBAL_TIMEOUT_S, GLOBAL_TIMEOUT_HEARTBEATS * heartbeat_timeout_s))


def heartbeat_timeout_problem(value: float) -> str | None:
    """What is wrong with ``value`` as a HeartbeatTimeout, or None when AWS accepts it."""
    if MIN_HEARTBEAT_TIMEOUT_S <= value <= MAX_HEARTBEAT_TIMEOUT_S:
        return None
    return (
        f"HeartbeatTimeout {value:g} is outside "
        f"{MIN_HEARTBEAT_TIMEOUT_S}..{MAX_HEARTBEAT_TIMEOUT_S} seconds (the AWS range)"
    )
