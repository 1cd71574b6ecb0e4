"""Results per policy, and the two bounds every policy is measured against.

Both start from the demand ``d(t) = ceil(running(t) / slots)``, where ``running(t)`` counts the
jobs that would be running if every job started the moment it arrived.

- Lower bound: the integral of ``d`` over time, perfect packing with zero wait and free boots.
- Clairvoyant bound: a scheduler that knows every arrival, packs perfectly, never makes a job
  wait, and pays for boot time. Instance level ``k`` is needed on the intervals where
  ``d(t) >= k``. The first interval of each level costs ``boot`` extra; across a gap ``g``
  between two consecutive intervals of a level the instance either stays idle or is
  terminated and relaunched ``boot`` early, so the gap costs ``min(g, boot)``. The bound is the
  integral of ``d`` plus these extras. No online policy can spend less at zero wait.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from runnerfleet.sim.model import SimRun
from runnerfleet.sim.trace import Trace


def zero_wait_profile(trace: Trace) -> list[tuple[float, int]]:
    """Steps ``(t, running)``: from ``t`` on, ``running`` jobs run with zero wait."""
    deltas: dict[float, int] = {}
    for a, d in zip(trace.arrivals, trace.durations, strict=True):
        if d <= 0:
            continue
        deltas[a] = deltas.get(a, 0) + 1
        deltas[a + d] = deltas.get(a + d, 0) - 1
    steps, running = [], 0
    for t in sorted(deltas):
        running += deltas[t]
        steps.append((t, running))
    return steps


def peak_running(trace: Trace) -> int:
    return max((r for _, r in zero_wait_profile(trace)), default=0)


def demand_steps(trace: Trace, slots: int) -> list[tuple[float, int]]:
    """Steps ``(t, d)``: from ``t`` on, ``d = ceil(running / slots)`` instances are needed."""
    if slots < 1:
        raise ValueError("slots must be at least 1")
    steps: list[tuple[float, int]] = []
    for t, running in zero_wait_profile(trace):
        level = -(-running // slots)
        if not steps or steps[-1][1] != level:
            steps.append((t, level))
    return steps


def lower_bound_seconds(trace: Trace, slots: int) -> float:
    """Integral over time of ceil(running / slots), in instance-seconds."""
    return _integral(demand_steps(trace, slots))


def _integral(steps: list[tuple[float, int]]) -> float:
    return math.fsum(level * (t_next - t) for (t, level), (t_next, _) in itertools.pairwise(steps))


def clairvoyant_seconds(trace: Trace, slots: int, boot_s: float) -> float:
    """The clairvoyant bound with boot time (module docstring), in instance-seconds."""
    steps = demand_steps(trace, slots)
    ended: list[float] = []  # ended[k]: when level k + 1 last went down
    extras, level = [], 0
    for t, new in steps:
        for k in range(level, new):  # levels level+1 .. new come up
            if k < len(ended):
                extras.append(min(t - ended[k], boot_s))  # idle across the gap, or relaunch
            else:
                extras.append(boot_s)  # the level's first interval
                ended.append(t)  # overwritten when the level goes down
        for k in range(new, level):  # levels new+1 .. level go down
            ended[k] = t
        level = new
    return _integral(steps) + math.fsum(extras)


@dataclass(frozen=True, slots=True)
class Bounds:
    """Instance-seconds no policy can beat on one trace (module docstring)."""

    lower_s: float
    clairvoyant_s: float


def bounds(trace: Trace, slots: int, boot_s: float) -> Bounds:
    return Bounds(lower_bound_seconds(trace, slots), clairvoyant_seconds(trace, slots, boot_s))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy on one trace: the keys of ``runnerfleet simulate --json``."""

    policy: str
    jobs: int
    wait_p50_s: float
    wait_p95_s: float
    wait_p99_s: float
    wait_max_s: float
    wait_mean_s: float
    instance_hours: float
    lower_bound_instance_hours: float
    ratio_to_lower_bound: float
    clairvoyant_instance_hours: float
    ratio_to_clairvoyant: float
    cost: float
    utilisation: float
    scale_out_events: int
    scale_in_events: int
    launches: int
    terminations: int
    jobs_killed: int
    jobs_unserved: int
    params: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def summarize(run: SimRun, limits: Bounds) -> PolicyResult:
    waits = sorted(run.waits)
    hours = run.billed_s / 3600.0
    bound = limits.lower_s / 3600.0
    clairvoyant = limits.clairvoyant_s / 3600.0
    capacity_s = run.billed_s * run.config.slots
    return PolicyResult(
        policy=run.policy.label,
        jobs=run.jobs,
        wait_p50_s=round(percentile(waits, 50), 1),
        wait_p95_s=round(percentile(waits, 95), 1),
        wait_p99_s=round(percentile(waits, 99), 1),
        wait_max_s=round(waits[-1] if waits else 0.0, 1),
        wait_mean_s=round(math.fsum(waits) / len(waits), 1) if waits else 0.0,
        instance_hours=round(hours, 1),
        lower_bound_instance_hours=round(bound, 1),
        ratio_to_lower_bound=_ratio(hours, bound),
        clairvoyant_instance_hours=round(clairvoyant, 1),
        ratio_to_clairvoyant=_ratio(hours, clairvoyant),
        cost=round(hours * run.config.price_per_hour, 2),
        utilisation=round(run.busy_s / capacity_s, 3) if capacity_s > 0 else 0.0,
        scale_out_events=run.scale_out,
        scale_in_events=run.scale_in,
        launches=run.launches,
        terminations=run.terminations,
        jobs_killed=run.killed,
        jobs_unserved=run.unserved,
        params={k: v for k, v in run.policy.params.items() if k != "concurrent"},
    )


def _ratio(hours: float, bound: float) -> float:
    return round(hours / bound, 3) if bound > 0 else 0.0
