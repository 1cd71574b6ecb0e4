"""The environment file's ``scaling`` section, as plain JSON, mapped to a scaling policy.

``runnerfleet.stack.autoscaler_settings`` builds the mapping from an environment file
(``{"scaling": {...}, "concurrent": 4, "tags": [...], "projects": [...]}``) and the fleet
template hands it to the autoscaler function as ``RUNNERFLEET_SCALING``; the CLI and the
sandbox read the same function environment. Plain data keeps pydantic out of the Lambda.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runnerfleet.scaling.policies import (
    BREAK_EVEN_K,
    POLICY_DEFAULTS,
    BasePolicy,
    HeadroomPolicy,
    IdlePolicy,
    Period,
    Policy,
    QueuePolicy,
    Schedule,
    parse_duration,
)

#: ``idle_time_s: auto``: scale in at the break-even of idle cost against boot time
AUTO = "auto"
#: the boot time ``auto`` assumes when ``scaling.boot_estimate_s`` is not set
DEFAULT_BOOT_S = 180.0
# environment-file key in a schedule period -> policy field it overrides
PERIOD_KEYS = {"min": "min_instances", "idle_count": "idle_count", "idle_time_s": "idle_time_s"}


def policy_from_scaling(config: Mapping[str, Any]) -> Policy:
    """The policy for a ``RUNNERFLEET_SCALING`` mapping; raises ValueError naming the key."""
    scaling: Mapping[str, Any] = config.get("scaling") or {}
    base = _base_policy(scaling, config.get("concurrent"))
    periods = tuple(_period(raw, base) for raw in scaling.get("schedule") or ())
    return Schedule(base=base, periods=periods) if periods else base


def _base_policy(scaling: Mapping[str, Any], concurrent: Any) -> BasePolicy:
    name = str(scaling.get("policy", "queue"))
    cooldown_s = parse_duration(scaling.get("cooldown_s", 300))
    stale_after_s = parse_duration(scaling.get("stale_after_s", 180))
    if name == "seed":
        return HeadroomPolicy(
            concurrent=int(concurrent or 1),
            headroom_jobs=int(scaling.get("headroom_jobs", 2)),
            cooldown_s=cooldown_s,
            stale_after_s=stale_after_s,
        )
    kinds: dict[str, type[IdlePolicy] | type[QueuePolicy]] = {
        "idle": IdlePolicy,
        "queue": QueuePolicy,
    }
    if name not in kinds:
        raise ValueError(f"scaling.policy {name!r} is not one of seed, idle, queue")
    defaults = POLICY_DEFAULTS[name]  # as in the environment file

    def given(key: str) -> Any:
        value = scaling.get(key)
        return defaults[key] if value is None else value

    idle_time = given("idle_time_s")
    auto = idle_time == AUTO
    return kinds[name](
        idle_count=int(given("idle_count")),
        idle_time_s=0.0 if auto else parse_duration(idle_time),
        break_even_k=BREAK_EVEN_K if auto else 0.0,
        boot_s=parse_duration(scaling.get("boot_estimate_s") or DEFAULT_BOOT_S),
        scale_factor=float(given("scale_factor")),
        scale_factor_limit=int(scaling.get("scale_factor_limit", 0)),
        concurrent=int(concurrent) if concurrent else None,
        cooldown_s=cooldown_s,
        stale_after_s=stale_after_s,
    )


def _period(raw: Mapping[str, Any], base: BasePolicy) -> Period:
    overrides: dict[str, Any] = {}
    for key, field in PERIOD_KEYS.items():
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(base, HeadroomPolicy) and field != "min_instances":
            raise ValueError(f"scaling.schedule: the seed policy has no {key}; use min")
        overrides[field] = parse_duration(value) if field.endswith("_s") else int(value)
        if field == "idle_time_s" and not isinstance(base, HeadroomPolicy):
            overrides["break_even_k"] = 0.0  # a period's fixed idle time wins over auto
    return Period(
        cron=str(raw["cron"]),
        timezone=str(raw.get("timezone", "UTC")),
        overrides=overrides,
        name=str(raw.get("name", "")),
    )
