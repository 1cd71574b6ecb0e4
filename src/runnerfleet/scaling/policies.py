"""Policy configurations: one frozen dataclass per policy kind, plus loading from a mapping.

Durations are seconds. ``concurrent`` is job slots per instance (``gitlab_runner_concurrent``);
where it is optional, ``None`` means "take it from the scraped instances".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.scaling.schedule import check_period


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True, slots=True)
class HeadroomPolicy:
    """desired = ceil((running + headroom_jobs) / concurrent): the original sample's formula,
    offered as the policy named ``seed``."""

    concurrent: int
    headroom_jobs: int
    cooldown_s: float = 600.0
    stale_after_s: float = 180.0
    min_instances: int = 0  # a floor above the group's MinSize (schedules raise it by day)

    def __post_init__(self) -> None:
        _check(self.concurrent >= 1, "seed.concurrent must be at least 1")
        _check(self.min_instances >= 0, "seed.min_instances must be 0 or more")
        _check(self.headroom_jobs >= 0, "seed.headroom_jobs must be 0 or more")
        _check(self.cooldown_s >= 0 and self.stale_after_s > 0, "seed: durations must be >= 0")


@dataclass(frozen=True, slots=True)
class IdlePolicy:
    """Keep a target of idle job slots, like docker-autoscaler's ``[[runners.autoscaler.policy]]``.

    idle target = max(idle_count, min(ceil(in_use * scale_factor), scale_factor_limit));
    a scale_factor_limit of 0 means no limit. Instances idle for ``idle_time_s`` are removed
    unless needed to keep the idle target.
    """

    idle_count: int = 0
    idle_time_s: float = 600.0
    scale_factor: float = 0.0
    scale_factor_limit: int = 0
    cooldown_s: float = 300.0
    stale_after_s: float = 180.0
    concurrent: int | None = None
    min_instances: int = 0
    break_even_k: float = 0.0  # > 0: idle_time_s is ignored, instances go after k x boot_s
    boot_s: float = 180.0  # the group's boot time (configured estimate or observed median)

    def __post_init__(self) -> None:
        _validate_idle(self, "idle")


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """The idle policy plus GitLab's pending jobs: each pending job needs a free slot too.

    ``pending_weight`` scales the queue (below 1 when other runners share the same tags).
    When the queue is unknown it behaves exactly like the idle policy.
    """

    idle_count: int = 0
    idle_time_s: float = 600.0
    scale_factor: float = 0.0
    scale_factor_limit: int = 0
    cooldown_s: float = 300.0
    stale_after_s: float = 180.0
    concurrent: int | None = None
    pending_weight: float = 1.0
    min_instances: int = 0
    break_even_k: float = 0.0
    boot_s: float = 180.0

    def __post_init__(self) -> None:
        _validate_idle(self, "queue")
        _check(0 <= self.pending_weight <= 10, "queue.pending_weight must be within 0..10")


def _validate_idle(policy: IdlePolicy | QueuePolicy, name: str) -> None:
    _check(policy.idle_count >= 0, f"{name}.idle_count must be 0 or more")
    _check(policy.idle_time_s >= 0, f"{name}.idle_time_s must be 0 or more")
    _check(policy.scale_factor >= 0, f"{name}.scale_factor must be 0 or more")
    _check(policy.scale_factor_limit >= 0, f"{name}.scale_factor_limit must be 0 or more")
    _check(policy.cooldown_s >= 0, f"{name}.cooldown_s must be 0 or more")
    _check(policy.stale_after_s > 0, f"{name}.stale_after_s must be more than 0")
    _check(policy.concurrent is None or policy.concurrent >= 1, f"{name}.concurrent must be >= 1")
    _check(policy.min_instances >= 0, f"{name}.min_instances must be 0 or more")
    _check(0 <= policy.break_even_k <= 10, f"{name}.break_even_k must be within 0..10")
    _check(policy.boot_s > 0, f"{name}.boot_s must be more than 0")


#: ``idle_time_s: auto`` keeps an idle instance for this many boot times. Keeping it idle for
#: t costs t; terminating it and launching again when a job comes costs about one boot of
#: waiting (and one boot of billed start-up). Waiting one boot before letting go never costs
#: more than twice the better of the two choices made with hindsight (the ski-rental bound).
BREAK_EVEN_K = 1.0


def scale_in_idle_s(policy: IdlePolicy | QueuePolicy) -> float:
    """How long an instance must be idle before it may go: ``idle_time_s``, or with
    ``break_even_k`` > 0 the break-even ``break_even_k * boot_s``."""
    if policy.break_even_k > 0:
        return policy.break_even_k * policy.boot_s
    return policy.idle_time_s


BasePolicy = HeadroomPolicy | IdlePolicy | QueuePolicy

#: what an environment file's unset ``idle_count``, ``idle_time_s`` and ``scale_factor`` mean
#: for the idle and queue policies (envfile.scaling.POLICY_DEFAULTS holds the same values).
#: ``idle`` notices demand only by a busy slot, so it keeps two free; ``queue`` sees GitLab's
#: queue. The queue values were chosen by their worst case over every workload family.
POLICY_DEFAULTS: dict[str, dict[str, float]] = {
    "idle": {"idle_count": 2, "idle_time_s": 120, "scale_factor": 0.25},
    "queue": {"idle_count": 2, "idle_time_s": 180, "scale_factor": 0},
}


@dataclass(frozen=True, slots=True)
class Period:
    """While ``cron`` matches the current minute in ``timezone``, apply ``overrides`` to the base.

    Example: ``Period("* 8-18 * * 1-5", "Europe/Berlin", {"idle_count": 8})``.
    """

    cron: str
    timezone: str = "UTC"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True, slots=True)
class Schedule:
    """A base policy and periods; the last matching period wins (as in docker-autoscaler)."""

    base: BasePolicy
    periods: tuple[Period, ...] = ()

    def __post_init__(self) -> None:
        names = {f.name for f in dataclasses.fields(self.base)}
        for period in self.periods:
            check_period(period.cron, period.timezone)
            unknown = sorted(set(period.overrides) - names)
            _check(not unknown, f"schedule period {period.cron!r}: unknown keys {unknown}")
            dataclasses.replace(self.base, **dict(period.overrides))  # validates the values


Policy = HeadroomPolicy | IdlePolicy | QueuePolicy | Schedule

POLICY_NAMES = ("seed", "idle", "queue", "schedule")
_KINDS: dict[str, type[BasePolicy]] = {
    "seed": HeadroomPolicy,
    "idle": IdlePolicy,
    "queue": QueuePolicy,
}
_NAMES: dict[type, str] = {kind: name for name, kind in _KINDS.items()} | {Schedule: "schedule"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"90"``, ``"30s"``, ``"10m"``, ``"1h"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    _check(match is not None, f"{value!r} is not a duration (use seconds, or 30s, 10m, 1h)")
    assert match is not None
    return float(match.group(1)) * _UNIT[match.group(2)]


def policy_name(policy: Policy) -> str:
    return _NAMES[type(policy)]


def policy_from_mapping(name: str, params: Mapping[str, Any]) -> Policy:
    """Build a policy from plain data (an environment file, a policy file, Lambda env vars).

    ``schedule`` takes ``{"base": {"policy": "idle", ...}, "periods": [{"cron": ..., "timezone":
    ..., "overrides": {...}}]}``. Raises ValueError naming the offending key.
    """
    _check(name in POLICY_NAMES, f"unknown scaling policy {name!r}; choose one of {POLICY_NAMES}")
    if name == "schedule":
        return _schedule_from_mapping(params)
    kind = _KINDS[name]
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(params) - set(fields))
    _check(not unknown, f"policy {name!r}: unknown keys {unknown}; known: {sorted(fields)}")
    values = {key: _coerce(key, value) for key, value in params.items()}
    return kind(**values)


def _coerce(key: str, value: Any) -> Any:
    if key.endswith("_s"):
        return parse_duration(value)
    if key in ("scale_factor", "pending_weight", "break_even_k"):
        return float(value)
    if value is None:
        return None
    return int(value)


def _schedule_from_mapping(params: Mapping[str, Any]) -> Schedule:
    unknown = sorted(set(params) - {"base", "periods"})
    _check(not unknown, f"schedule: unknown keys {unknown}; known: ['base', 'periods']")
    base_params = dict(params.get("base") or {})
    base_name = str(base_params.pop("policy", "idle"))
    _check(base_name != "schedule", "schedule.base cannot itself be a schedule")
    base = policy_from_mapping(base_name, base_params)
    assert not isinstance(base, Schedule)
    periods = tuple(_period_from_mapping(p) for p in params.get("periods") or ())
    return Schedule(base=base, periods=periods)


def _period_from_mapping(raw: Mapping[str, Any]) -> Period:
    unknown = sorted(set(raw) - {"cron", "timezone", "overrides", "name"})
    _check(not unknown, f"schedule period: unknown keys {unknown}")
    _check("cron" in raw, "schedule period: 'cron' is required, e.g. '* 8-18 * * 1-5'")
    overrides = {k: _coerce(k, v) for k, v in dict(raw.get("overrides") or {}).items()}
    return Period(
        cron=str(raw["cron"]),
        timezone=str(raw.get("timezone", "UTC")),
        overrides=overrides,
        name=str(raw.get("name", "")),
    )
