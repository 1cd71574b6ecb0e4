"""Schedule periods: which policy applies now, by cron expression in a time zone.

Matching is per minute, like docker-autoscaler's ``periods``: a period applies while its cron
expression matches the current minute, and the last matching period wins.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

if TYPE_CHECKING:
    from runnerfleet.scaling.policies import BasePolicy, Period, Schedule


def check_period(cron: str, timezone: str) -> None:
    """Raise ValueError when the cron expression or the time zone is not usable."""
    if not croniter.is_valid(cron):
        raise ValueError(f"schedule period: {cron!r} is not a 5-field cron expression")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"schedule period: unknown time zone {timezone!r}") from exc


def matches(period: Period, now: float) -> bool:
    local = datetime.fromtimestamp(now, ZoneInfo(period.timezone)).replace(second=0, microsecond=0)
    return bool(croniter.match(period.cron, local))


def active_period(schedule: Schedule, now: float) -> Period | None:
    chosen = None
    for period in schedule.periods:
        if matches(period, now):
            chosen = period  # the last match wins
    return chosen


def active_policy(schedule: Schedule, now: float) -> tuple[BasePolicy, str]:
    """The policy in force at ``now`` and a label naming the period (or ``base``)."""
    period = active_period(schedule, now)
    if period is None:
        return schedule.base, "schedule:base"
    label = period.name or f"{period.cron} {period.timezone}"
    return dataclasses.replace(schedule.base, **dict(period.overrides)), f"schedule:{label}"
