"""Results per policy, and the lower bound every policy is measured against.

Lower bound: the instance-hours of perfect packing with zero wait, i.e. the integral over
time of ``ceil(running(t) / slots)`` where ``running(t)`` counts the jobs that would be running
if every job started the moment it arrived. No policy can use fewer instance-hours and still
start every job on arrival (a real fleet also pays boot time and the 60 s billing minimum).
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


def lower_bound_seconds(trace: Trace, slots: int) -> float:
    """Integral over time of ceil(running / slots), in instance-seconds."""
    if slots < 1:
        raise ValueError("slots must be at least 1")
    total = 0.0
    steps = zero_wait_profile(trace)
    for (t, running), (t_next, _) in itertools.pairwise(steps):
        total += math.ceil(running / slots) * (t_next - t)
    return total


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


def summarize(run: SimRun, lower_bound_s: float) -> PolicyResult:
    waits = sorted(run.waits)
    hours = run.billed_s / 3600.0
    bound = lower_bound_s / 3600.0
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
        ratio_to_lower_bound=round(hours / bound, 3) if bound > 0 else 0.0,
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
