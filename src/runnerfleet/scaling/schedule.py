"""Schedule periods: which policy applies now, by cron expression in a time zone.

Matching is per minute, like docker-autoscaler's ``periods``: a period applies while its cron
expression matches the current minute, and the last matching period wins.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import lru_cache
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
    fields = _fields(period.cron)
    if fields is None:  # L, W or # syntax: let croniter decide (slower)
        return bool(croniter.match(period.cron, local))
    minutes, hours, days, months, weekdays = fields
    if not (_has(minutes, local.minute) and _has(hours, local.hour)):
        return False
    if not _has(months, local.month):
        return False
    day_ok, dow_ok = _has(days, local.day), _has(weekdays, (local.weekday() + 1) % 7)
    if days is not None and weekdays is not None:
        return day_ok or dow_ok  # cron: both restricted means either may match
    return day_ok and dow_ok


Fields = tuple[frozenset[int] | None, ...]


@lru_cache(maxsize=256)
def _fields(cron: str) -> Fields | None:
    """The expression as sets of allowed values per field (None = any), or None when it uses
    syntax beyond plain lists and ranges. croniter.match re-walks the schedule on every call;
    the simulator asks once per simulated minute, so this is worth caching."""
    expanded, nth = croniter.expand(cron)
    if nth:
        return None
    out: list[frozenset[int] | None] = []
    for field in expanded:
        if field == ["*"]:
            out.append(None)
        elif all(isinstance(v, int) for v in field):
            out.append(frozenset(int(v) for v in field))
        else:
            return None
    return tuple(out)


def _has(allowed: frozenset[int] | None, value: int) -> bool:
    return allowed is None or value in allowed


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
