"""PNG plots of simulation results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runnerfleet.sim.model import SimRun
from runnerfleet.sim.report import PolicyResult, zero_wait_profile
from runnerfleet.sim.trace import Trace
from runnerfleet.sim.twogroups import TwoGroupRun


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_runs(
    trace: Trace, runs: Sequence[SimRun] | Sequence[TwoGroupRun], slots: int, path: Path
) -> Path:
    """``plot_groups`` for two-group runs, else ``plot_fleet``."""
    two = [r for r in runs if isinstance(r, TwoGroupRun)]
    if two:
        return plot_groups(trace, two, slots, path)
    return plot_fleet(trace, [r for r in runs if isinstance(r, SimRun)], slots, path)


def plot_fleet(
    trace: Trace, runs: Sequence[SimRun], slots: int, path: Path, *, days: float = 7.0
) -> Path:
    """Fleet size of each policy against demand (instances needed with zero wait)."""
    plt, fig, ax, stop = _against_demand(trace, slots, days)
    for run in runs:
        if run.timeline is not None:
            _step(ax, trace, stop, run.timeline.t, run.timeline.instances, label=run.policy.label)
    return _save(plt, fig, ax, path, trace=trace, days=days, title="Fleet size against demand")


def plot_groups(
    trace: Trace, runs: Sequence[TwoGroupRun], slots: int, path: Path, *, days: float = 7.0
) -> Path:
    """The warm group and the spot overflow group of each policy, apart, against demand."""
    plt, fig, ax, stop = _against_demand(trace, slots, days)
    for two in runs:
        tl, spot = two.run.timeline, two.spot_instances
        if tl is None or spot is None:
            continue
        label = two.run.policy.label
        warm = [total - s for total, s in zip(tl.instances, spot, strict=True)]
        _step(ax, trace, stop, tl.t, warm, label=f"{label}: warm group (on-demand)")
        _step(ax, trace, stop, tl.t, spot, label=f"{label}: spot overflow group", linestyle="--")
    title = "Warm group and spot overflow against demand"
    return _save(plt, fig, ax, path, trace=trace, days=days, title=title)


def _against_demand(trace: Trace, slots: int, days: float) -> tuple[Any, Any, Any, float]:
    """A figure with the zero-wait demand shaded over the first ``days``: pyplot, the figure,
    its axes, and when the plot stops."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(12, 5), dpi=100)
    start = trace.start
    stop = start + days * 86_400
    steps = [(t, r) for t, r in zero_wait_profile(trace) if t <= stop]
    if steps:
        ax.fill_between(
            [(t - start) / 3600 for t, _ in steps],
            [math.ceil(r / slots) for _, r in steps],
            step="post",
            color="0.85",
            label="demand: ceil(running / slots), zero wait",
        )
    return plt, fig, ax, stop


def _step(
    ax: Any, trace: Trace, stop: float, times: Sequence[float], ys: Sequence[float], **style: Any
) -> None:
    xs = [(t - trace.start) / 3600 for t in times if t <= stop]
    ax.step(xs, ys[: len(xs)], where="post", linewidth=1, **style)


def _save(
    plt: Any, fig: Any, ax: Any, path: Path, *, trace: Trace, days: float, title: str
) -> Path:
    shown = min(days, (trace.end - trace.start) / 86_400)
    ax.set_xlabel(f"hours since the trace began (first {shown:.1f} days)")
    ax.set_ylabel("instances")
    ax.set_title(title)
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
