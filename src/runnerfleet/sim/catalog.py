"""The policies the simulator knows by name, with the defaults an environment file gets.

Every name but ``static`` is a ``runnerfleet.scaling`` policy run through the very same
``decide()`` as the Lambda. ``static`` is a simulator-only baseline: a fixed fleet sized for the
zero-wait peak of the trace, never scaled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runnerfleet.errors import SpecError
from runnerfleet.scaling import POLICY_NAMES, Policy, policy_from_mapping
from runnerfleet.scaling.policies import POLICY_DEFAULTS

STATIC = "static"
SIM_POLICY_NAMES = (*POLICY_NAMES, STATIC)

#: the environment file's ``scaling:`` defaults (envfile.scaling.ScalingSection, and the
#: Lambda's scaling.settings: a test keeps the three in step). ``queue`` is the default policy.
DEFAULT_POLICY = "queue"
ENV_COOLDOWN_S = 300
DEFAULTS: dict[str, dict[str, Any]] = {
    "seed": {"headroom_jobs": 2, "cooldown_s": 600},  # the seed's CloudFormation defaults
    "idle": {**POLICY_DEFAULTS["idle"], "cooldown_s": ENV_COOLDOWN_S},
    "queue": {**POLICY_DEFAULTS["queue"], "cooldown_s": ENV_COOLDOWN_S},
    "schedule": {
        "base": {"policy": "queue", "idle_count": 0, "idle_time_s": 600, "cooldown_s": 300},
        "periods": [
            {
                "cron": "* 7-19 * * 1-5",
                "timezone": "UTC",
                "name": "office hours",
                "overrides": {"idle_count": 4},
            },
        ],
    },
}
#: the defaults before they were chosen by their worst case over every workload family
#: (docs/benchmarks.md, "Policies"): cheapest on the public trace, but on a quiet workload
#: every job waited a boot where the seed's formula started it within a poll
PREVIOUS: dict[str, dict[str, Any]] = {
    "queue": {"idle_count": 0, "idle_time_s": 120, "scale_factor": 0.25, "cooldown_s": 300},
}
#: the seed template's MinSize is 1 and its formula can never reach 0
MIN_SIZE = {"seed": 1}


@dataclass(frozen=True, slots=True)
class SimPolicy:
    """A named policy ready to simulate: ``policy`` is None for the static baseline."""

    label: str
    name: str
    policy: Policy | None
    params: Mapping[str, Any]
    min_size: int
    static_size: int = 0


def build_policy(
    name: str,
    slots: int,
    overrides: Mapping[str, Any] | None = None,
    *,
    peak_running: int = 0,
    label: str | None = None,
) -> SimPolicy:
    """Make a policy from its defaults plus ``overrides``; slots per instance come from
    the simulation (``concurrent``), like the Lambda reads them from the environment."""
    if name not in SIM_POLICY_NAMES:
        raise SpecError(
            f"unknown policy {name!r}",
            hint=f"choose from {', '.join(SIM_POLICY_NAMES)}",
        )
    extra = dict(overrides or {})
    if name == STATIC:
        size = int(extra.pop("size", math.ceil(peak_running / slots)))
        if extra:
            raise SpecError(f"policy static: unknown keys {sorted(extra)}", hint="only 'size'")
        return SimPolicy(label or STATIC, STATIC, None, {"size": size}, size, static_size=size)
    params = _merge(name, slots, extra)
    try:
        policy = policy_from_mapping(name, params)
    except ValueError as exc:
        raise SpecError(f"policy {name}: {exc}", hint="see docs/scaling.md for the keys") from exc
    return SimPolicy(label or name, name, policy, params, MIN_SIZE.get(name, 0))


def _merge(name: str, slots: int, extra: dict[str, Any]) -> dict[str, Any]:
    base = dict(DEFAULTS[name])
    if name == "schedule":
        inner = dict(base["base"])
        inner.update(extra.pop("base", {}))
        inner.update(extra)  # flat keys address the base policy
        inner["concurrent"] = slots
        return {"base": inner, "periods": base["periods"]}
    base.update(extra)
    base["concurrent"] = slots
    return base


def parse_overrides(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["queue.idle_count=4", "static.size=12"]`` -> ``{"queue": {"idle_count": 4}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        policy, dot, param = key.partition(".")
        if not sep or not dot or not param:
            raise SpecError(
                f"--set {item!r} is not POLICY.KEY=VALUE",
                hint="for example --set queue.idle_count=4 --set seed.headroom_jobs=4",
            )
        out.setdefault(policy.strip(), {})[param.strip()] = _value(raw.strip())
    return out


def _value(raw: str) -> Any:
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw
