"""PNG plots of simulation results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runnerfleet.sim.model import SimRun
from runnerfleet.sim.report import PolicyResult, zero_wait_profile
from runnerfleet.sim.trace import Trace


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_fleet(
    trace: Trace, runs: Sequence[SimRun], slots: int, path: Path, *, days: float = 7.0
) -> Path:
    """Fleet size of each policy against demand (instances needed with zero wait)."""
    plt = _pyplot()
    start = trace.start
    stop = start + days * 86_400
    fig, ax = plt.subplots(figsize=(12, 5), dpi=100)
    steps = [(t, r) for t, r in zero_wait_profile(trace) if t <= stop]
    if steps:
        ax.fill_between(
            [(t - start) / 3600 for t, _ in steps],
            [math.ceil(r / slots) for _, r in steps],
            step="post",
            color="0.85",
            label="demand: ceil(running / slots), zero wait",
        )
    for run in runs:
        tl = run.timeline
        if tl is None:
            continue
        xs = [(t - start) / 3600 for t in tl.t if t <= stop]
        ax.step(xs, tl.instances[: len(xs)], where="post", linewidth=1, label=run.policy.label)
    shown = min(days, (trace.end - start) / 86_400)
    ax.set_xlabel(f"hours since the trace began (first {shown:.1f} days)")
    ax.set_ylabel("instances")
    ax.set_title("Fleet size against demand")
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_tradeoff(results: Sequence[PolicyResult], path: Path) -> Path:
    """p95 queue wait against cost, one point per policy."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
    for r in results:
        ax.scatter(r.cost, r.wait_p95_s)
        ax.annotate(r.policy, (r.cost, r.wait_p95_s), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("cost (instance-hours x price)")
    ax.set_ylabel("p95 queue wait (s)")
    ax.set_title("Wait against cost, per policy")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
