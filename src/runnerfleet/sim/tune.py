"""Search a policy's parameters for the lowest cost that meets a p95 queue-wait target.

The objective is the worst case over the workloads given (one trace, or many workload
families): a setting is feasible when every workload meets the target with no job killed and
none unserved; feasible settings rank by their worst instance-hours relative to the
clairvoyant bound (so a large workload does not drown a small one), infeasible ones by their
worst p95 wait relative to the target.

Search: successive halving. ``max_evals`` settings (the defaults first, then a spread sample
of the grid) are simulated on the first ninth of every trace; the best third go on to the first
third; the best third of those run on the whole traces, and the best of these wins. Every
simulation is a full, deterministic run through the Lambda's own evaluation path, in parallel
processes (``sim.evaluate``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.errors import SpecError
from runnerfleet.sim.catalog import DEFAULTS
from runnerfleet.sim.evaluate import Case, Evaluator
from runnerfleet.sim.families import Workload
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import PolicyResult

_IDLE_SPACE: dict[str, tuple[float, ...]] = {
    "idle_count": (0, 1, 2, 3, 4, 6, 8, 12),
    "idle_time_s": (0, 60, 120, 180, 300, 600, 1200),
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
RUNGS = (1 / 9, 1 / 3, 1.0)  # fractions of each trace, cheapest first
KEEP = 3  # the best 1/KEEP of a rung go on to the next

Params = dict[str, Any]
Score = tuple[int, float, float]


@dataclass(slots=True)
class Trial:
    """One setting on every workload at one rung."""

    params: Params
    fraction: float
    results: list[PolicyResult]
    score: Score = (1, math.inf, math.inf)


@dataclass(slots=True)
class TuneOutcome:
    policy: str
    target_p95_s: float
    best: list[PolicyResult]  # the winning setting on each workload (whole traces)
    params: Params
    met: bool
    final: list[Trial] = field(default_factory=list)  # the settings run on the whole traces
    trials: list[Trial] = field(default_factory=list)  # every setting at every rung

    @property
    def settings(self) -> int:
        """Distinct settings tried."""
        return len({_key(t.params) for t in self.trials})


def score(results: Sequence[PolicyResult], target_p95_s: float) -> Score:
    """Smaller is better: feasible first (worst cost ratio, then worst p95), else the worst
    p95 relative to the target."""
    worst_wait = max(r.wait_p95_s / target_p95_s for r in results)
    worst_cost = max(_cost_ratio(r) for r in results)
    ok = all(
        r.wait_p95_s <= target_p95_s and r.jobs_killed == 0 and r.jobs_unserved == 0
        for r in results
    )
    return (0, worst_cost, worst_wait) if ok else (1, worst_wait, worst_cost)


def _cost_ratio(r: PolicyResult) -> float:
    return r.ratio_to_clairvoyant if r.clairvoyant_instance_hours > 0 else r.instance_hours


def candidates(name: str, count: int, seed: int = 0) -> list[Params]:
    """The defaults, then settings spread over the grid (a Latin hypercube: every value of
    every parameter appears about equally often), ``count`` in all, each one once."""
    space = SEARCH_SPACE[name]
    defaults = {k: v for k, v in DEFAULTS[name].items() if k in space}
    rng = random.Random(seed)  # noqa: S311 (a search order, not crypto)
    columns = {}
    for key, values in space.items():
        column = [values[j % len(values)] for j in range(count)]
        rng.shuffle(column)
        columns[key] = column
    out, seen = [defaults], {_key(defaults)}
    total = math.prod(len(v) for v in space.values())
    rows = ({k: columns[k][j] for k in space} for j in range(count))
    draws = ({k: rng.choice(v) for k, v in space.items()} for _ in itertools.count())
    for trial in itertools.chain(rows, draws):
        if len(out) >= min(count, total):
            break
        if _key(trial) not in seen:
            seen.add(_key(trial))
            out.append(trial)
    return out


def tune(
    workloads: Sequence[Workload],
    name: str,
    config: SimConfig,
    target_p95_s: float,
    *,
    max_evals: int = 36,
    workers: int = 2,
    progress: Callable[[Trial], None] | None = None,
) -> TuneOutcome:
    if name not in SEARCH_SPACE:
        raise SpecError(
            f"cannot tune policy {name!r}", hint=f"tune one of {', '.join(SEARCH_SPACE)}"
        )
    if not workloads:
        raise SpecError("nothing to tune on", hint="give a trace or workload families")
    pool = candidates(name, max_evals)
    done: list[Trial] = []
    with Evaluator(workloads, config, workers=workers) as evaluator:
        for fraction in RUNGS:
            trials = _rung(
                evaluator, name, pool, fraction, target_p95_s=target_p95_s, progress=progress
            )
            done += trials
            trials.sort(key=lambda t: t.score)
            pool = [t.params for t in trials[: max(1, math.ceil(len(trials) / KEEP))]]
    final = [t for t in done if t.fraction == 1.0]
    best = min(final, key=lambda t: t.score)
    met = best.score[0] == 0
    return TuneOutcome(name, target_p95_s, best.results, best.params, met, final, done)


def _rung(
    evaluator: Evaluator,
    name: str,
    pool: Sequence[Params],
    fraction: float,
    *,
    target_p95_s: float,
    progress: Callable[[Trial], None] | None,
) -> list[Trial]:
    n = len(evaluator.workloads)
    cases = [
        Case(w, name, evaluator.config.boot.cold_s, tuple(sorted(p.items())), fraction,
             label=label(name, p))
        for p in pool
        for w in range(n)
    ]  # fmt: skip
    results = evaluator.run(cases)
    trials = []
    for i, params in enumerate(pool):
        got = [r for r in results[i * n : (i + 1) * n] if r is not None]
        trial = Trial(params, fraction, got, score(got, target_p95_s))
        trials.append(trial)
        if progress is not None:
            progress(trial)
    return trials


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def label(name: str, params: Mapping[str, Any]) -> str:
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
