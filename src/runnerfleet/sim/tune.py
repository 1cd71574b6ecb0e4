"""Search a policy's parameters for the lowest cost that meets a p95 queue-wait target.

Coordinate descent over a small grid per parameter: start from the defaults, try every value
of one parameter with the others fixed, keep the best, move to the next parameter, repeat until
a full pass changes nothing (or the evaluation budget is spent). "Best" is: meeting the target
with no job killed and the lowest cost; when nothing meets the target yet, the lowest p95 wait.
Every evaluation is a full, deterministic simulation through the real ``decide()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.errors import SpecError
from runnerfleet.sim.catalog import DEFAULTS, build_policy
from runnerfleet.sim.engine import simulate
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import PolicyResult, bounds, summarize
from runnerfleet.sim.trace import Trace

_IDLE_SPACE: dict[str, tuple[float, ...]] = {
    "idle_count": (0, 1, 2, 3, 4, 6, 8, 12),
    "idle_time_s": (0, 60, 120, 300, 600, 1200),
    "cooldown_s": (0, 60, 120, 300, 600),
    "scale_factor": (0.0, 0.1, 0.25, 0.5),
}
SEARCH_SPACE: dict[str, dict[str, tuple[float, ...]]] = {
    "seed": {"headroom_jobs": (0, 1, 2, 3, 4, 6, 8, 12), "cooldown_s": (60, 120, 300, 600, 900)},
    "idle": _IDLE_SPACE,
    "queue": _IDLE_SPACE,
}
#: keys of the environment file's ``scaling:`` section
ENV_KEYS = ("headroom_jobs", "idle_count", "idle_time_s", "scale_factor", "cooldown_s")


@dataclass(slots=True)
class TuneOutcome:
    policy: str
    target_p95_s: float
    best: PolicyResult
    params: dict[str, Any]
    met: bool
    tried: list[PolicyResult] = field(default_factory=list)


def score(result: PolicyResult, target_p95_s: float) -> tuple[int, float, float]:
    """Smaller is better: feasible first, then cost; otherwise the p95 wait."""
    ok = result.wait_p95_s <= target_p95_s and result.jobs_killed == 0
    ok = ok and result.jobs_unserved == 0
    return (0, result.cost, result.wait_p95_s) if ok else (1, result.wait_p95_s, result.cost)


def tune(
    trace: Trace,
    name: str,
    config: SimConfig,
    target_p95_s: float,
    *,
    max_evals: int = 40,
    progress: Callable[[PolicyResult], None] | None = None,
) -> TuneOutcome:
    if name not in SEARCH_SPACE:
        raise SpecError(
            f"cannot tune policy {name!r}", hint=f"tune one of {', '.join(SEARCH_SPACE)}"
        )
    limits = bounds(trace, config.slots, config.boot.cold_s)
    seen: dict[tuple[tuple[str, Any], ...], PolicyResult] = {}

    def evaluate(params: Mapping[str, Any]) -> PolicyResult:
        key = tuple(sorted(params.items()))
        if key not in seen:
            policy = build_policy(name, config.slots, params, label=_label(name, params))
            seen[key] = summarize(simulate(trace, policy, config), limits)
            if progress is not None:
                progress(seen[key])
        return seen[key]

    current = {k: v for k, v in DEFAULTS[name].items() if k in SEARCH_SPACE[name]}
    best = evaluate(current)
    changed = True
    while changed and len(seen) < max_evals:
        changed = False
        for param, values in SEARCH_SPACE[name].items():
            for value in values:
                if len(seen) >= max_evals:
                    break
                trial = {**current, param: value}
                result = evaluate(trial)
                if score(result, target_p95_s) < score(best, target_p95_s):
                    best, current, changed = result, trial, True
    met = score(best, target_p95_s)[0] == 0
    return TuneOutcome(name, target_p95_s, best, current, met, list(seen.values()))


def _label(name: str, params: Mapping[str, Any]) -> str:
    return name + "(" + ", ".join(f"{k}={v:g}" for k, v in sorted(params.items())) + ")"


def env_snippet(name: str, params: Mapping[str, Any]) -> str:
    """The ``scaling:`` section of an environment file for ``params``."""
    lines = ["scaling:", f"  policy: {name}"]
    for key in ENV_KEYS:
        if key in params:
            value = params[key]
            shown = int(value) if float(value).is_integer() and key != "scale_factor" else value
            lines.append(f"  {key}: {shown}")
    return "\n".join(lines) + "\n"
