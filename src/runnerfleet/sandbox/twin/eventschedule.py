"""EventBridge schedule expressions: ``rate(value unit)`` and ``cron(6 fields)``, in UTC.

``cron`` fields are Minutes Hours Day-of-month Month Day-of-week Year, with ``?`` for "any"
and Day-of-week 1-7 = SUN-SAT (one more than classic cron); they are read by ``croniter``
after that translation. The Year field is not evaluated (every year matches). An expression
the twin cannot read never fires, and says so in the log.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from croniter import croniter

log = logging.getLogger("runnerfleet.twin.events")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
NEVER = float("inf")


class Schedule(Protocol):
    def next_after(self, at: float) -> float:
        """The first run strictly after ``at`` (epoch seconds); ``inf`` for never."""
        ...


@dataclass(frozen=True)
class Rate:
    period_s: float

    def next_after(self, at: float) -> float:
        return at + self.period_s


@dataclass(frozen=True)
class Cron:
    expression: str  # classic five-field cron

    def next_after(self, at: float) -> float:
        start = datetime.fromtimestamp(at, tz=UTC)
        return float(croniter(self.expression, start).get_next(float))


@dataclass(frozen=True)
class Never:
    reason: str

    def next_after(self, at: float) -> float:
        return NEVER


def parse_schedule(expression: str) -> Schedule:
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            return _never(expression, "a rate must be at least 1")
        return Rate(value * _UNIT_S[unit])
    cron = _CRON.match(text)
    if cron:
        return _cron(expression, cron.group(1).split())
    return _never(expression, "not rate(...) or cron(...)")


def _cron(expression: str, fields: list[str]) -> Schedule:
    if len(fields) != 6:
        return _never(expression, "cron takes six fields")
    minutes, hours, dom, month, dow, _year = fields
    classic = " ".join([minutes, hours, _any(dom), month, _weekdays(_any(dow))])
    if not croniter.is_valid(classic):
        return _never(expression, f"cron fields {classic!r} are not valid")
    return Cron(classic)


def _any(field: str) -> str:
    return "*" if field == "?" else field


def _weekdays(field: str) -> str:
    """EventBridge's 1-7 (SUN-SAT) as classic cron's 0-6; names stay."""
    return re.sub(r"(?<![A-Za-z#/])([1-7])", lambda m: str(int(m.group(1)) - 1), field)


def _never(expression: str, why: str) -> Schedule:
    log.warning("schedule %r never fires in the sandbox: %s", expression, why)
    return Never(why)
