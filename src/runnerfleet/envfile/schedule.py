"""Schedule periods checked at load time with the autoscaler's own library and semantics.

The autoscaler evaluates ``scaling.schedule`` with croniter (``croniter.expand`` and
``croniter.match``) in the period's ``zoneinfo`` time zone on every run; an expression or a
zone it cannot use would fail there every minute. Here the same calls run once, at load.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterError, croniter

CRON_FIX = (
    "write five fields, minute hour day-of-month month day-of-week, e.g. '* 8-18 * * mon-fri'"
)
# Present on some machines only: a schedule must mean the same on the laptop and in Lambda.
MACHINE_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def cron_problem(expression: str) -> str | None:
    """None when the autoscaler can evaluate ``expression``; else ``problem; fix: ...``."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has five fields, this one has {len(fields)}; fix: {CRON_FIX}"
    try:
        croniter.expand(expression)
        croniter.match(expression, datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    except (CroniterError, ValueError, KeyError, IndexError, TypeError) as exc:
        return (
            f"{expression[:60]!r} is not a valid cron expression ({_reason(exc)}); fix: {CRON_FIX}"
        )
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).split("]", 1)[-1].strip(" ,") or type(exc).__name__
    return text[:80]


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - MACHINE_ZONES


def timezone_problem(name: str) -> str | None:
    """None for an IANA time zone zoneinfo loads; else ``problem; fix: ...``."""
    if name in _zones():
        try:
            ZoneInfo(name)
            return None
        except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            pass
    close = difflib.get_close_matches(name, sorted(_zones()), n=1)
    fix = f"did you mean {close[0]!r}?" if close else "use an IANA name like Europe/Berlin or UTC"
    return f"unknown time zone {name[:60]!r}; fix: {fix}"
