"""Parsing EventBridge lifecycle-action events (pure: dict in, value out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

TERMINATE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
_TOKEN_LEN = 36


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One terminate lifecycle action. The token is the idempotency key of the drain."""

    token: str
    group: str
    hook: str
    instance_id: str
    time: float  # epoch seconds; when the instance entered Terminating:Wait
    event_id: str = ""
    origin: str = ""
    destination: str = ""


def parse_time(value: str) -> float:
    """EventBridge's 'time' (ISO 8601, UTC 'Z') to epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def parse_lifecycle_event(event: Mapping[str, Any]) -> LifecycleEvent | None:
    """The terminate lifecycle action in ``event``, or None for anything else.

    Raises ValueError when the event claims to be a terminate action but is malformed.
    """
    if event.get("detail-type") != TERMINATE_DETAIL_TYPE:
        return None
    detail = event.get("detail") or {}
    if detail.get("LifecycleTransition") != TERMINATING:
        return None
    missing = [
        k
        for k in (
            "LifecycleActionToken",
            "AutoScalingGroupName",
            "LifecycleHookName",
            "EC2InstanceId",
        )
        if not detail.get(k)
    ]
    if missing:
        raise ValueError(f"terminate lifecycle event lacks {', '.join(missing)}")
    token = str(detail["LifecycleActionToken"])
    if len(token) != _TOKEN_LEN:
        raise ValueError("LifecycleActionToken is not a 36-character UUID")
    return LifecycleEvent(
        token=token,
        group=str(detail["AutoScalingGroupName"]),
        hook=str(detail["LifecycleHookName"]),
        instance_id=str(detail["EC2InstanceId"]),
        time=parse_time(str(event.get("time", "1970-01-01T00:00:00Z"))),
        event_id=str(event.get("id", "")),
        origin=str(detail.get("Origin", "")),
        destination=str(detail.get("Destination", "")),
    )
