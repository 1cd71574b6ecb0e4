"""Policy benchmark: every workload family x {seed, idle, default, static} x boot {180, 30} s.

Run: .venv/bin/python -m benchmarks.bench_policies [--write] [--families matrix,batch]
     [--budget-s 1800] [--workers 2]

4 slots per instance. Every variant of every family in ``runnerfleet.sim.families``, plus the
shared public trace when ``../shared`` is present. Simulations run in parallel processes and
stop at the time budget (unfinished ones are reported, and the exit code is 1). The verdicts
check the default policy against the issue's criteria: lower p95 wait and fewer instance-hours
than both ``seed`` and ``idle`` on every workload; p95 within boot + 20 s at no more than 1.25x
the clairvoyant bound. ``--write`` replaces the ``## Policies`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_sim import DOC, SHARED_TRACE, replace_section
from runnerfleet.sim.catalog import DEFAULT_POLICY, DEFAULTS
from runnerfleet.sim.convert import read_source
from runnerfleet.sim.evaluate import Case, Evaluator
from runnerfleet.sim.families import FAMILIES, PUBLIC, Workload, public_workload, workloads
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import PolicyResult

DEFAULT = "default"
POLICIES = ("seed", "idle", DEFAULT, "static")
BOOTS = (180.0, 30.0)
SLOTS = 4
HEADING = "## Policies"
Key = tuple[str, str, float]  # workload label, policy, boot
Results = dict[Key, PolicyResult]


def all_workloads(names: Sequence[str]) -> list[Workload]:
    found: list[Workload] = []
    if PUBLIC in names and SHARED_TRACE.exists():
        found.append(public_workload(read_source(SHARED_TRACE).trace))
    found += workloads(tuple(n for n in names if n != PUBLIC))
    return found


def cases(found: Sequence[Workload]) -> list[Case]:
    """Every combination; the longest workloads first, so the pool ends together."""
    order = sorted(range(len(found)), key=lambda i: -_weight(found[i]))
    return [
        Case(i, DEFAULT_POLICY if name == DEFAULT else name, boot, label=name)
        for i in order
        for boot in BOOTS
        for name in POLICIES
    ]


def _weight(w: Workload) -> float:
    if w.params is None:
        return 42 * 30.0
    return w.params.days * w.params.pipelines_per_weekday * w.scale


def run(found: Sequence[Workload], workers: int, budget_s: float) -> tuple[Results, int]:
    todo = cases(found)
    with Evaluator(found, SimConfig(slots=SLOTS), workers=workers) as evaluator:
        done = evaluator.run(todo, timeout_s=budget_s, done=_progress(found))
    results = {
        (found[c.workload].label, c.label or c.policy, c.boot_s): r
        for c, r in zip(todo, done, strict=True)
        if r is not None
    }
    return results, len(todo) - len(results)


def _progress(found: Sequence[Workload]) -> Callable[[Case, PolicyResult], None]:
    def show(case: Case, r: PolicyResult) -> None:
        print(f"  {found[case.workload].label}, {case.label}, boot {case.boot_s:g}: p95"
              f" {r.wait_p95_s:g} s, {r.instance_hours:g} inst-h", flush=True)  # fmt: skip

    return show


# ----- verdicts ---------------------------------------------------------------------------


def _labels(results: Results) -> list[str]:
    return list(dict.fromkeys(k[0] for k in results))


def _complete(results: Results, label: str, boot: float) -> bool:
    return all((label, p, boot) in results for p in POLICIES)


@dataclass(frozen=True, slots=True)
class Criterion:
    """``measure`` of the default on one workload; it passes when ``holds``; larger is worse."""

    name: str
    measure: Callable[[Results, str, float], float]
    holds: Callable[[float], bool]
    show: Callable[[Results, str, float], str]


def criteria(results: Results, boot: float) -> list[tuple[str, int, int, str]]:
    """(criterion, holds on, of, worst case) for the default at one boot time."""
    labels = [x for x in _labels(results) if _complete(results, x, boot)]
    rows = []
    for c in CRITERIA:
        values = {x: c.measure(results, x, boot) for x in labels}
        ok = sum(1 for x in labels if c.holds(values[x]))
        worst = max(labels, key=lambda x: values[x], default="")
        detail = f"{worst}: {c.show(results, worst, boot)}" if worst else "-"
        rows.append((c.name, ok, len(labels), detail))
    return rows


def _r(results: Results, label: str, policy: str, boot: float) -> PolicyResult:
    return results[(label, policy, boot)]


def _wait_ratio(results: Results, label: str, boot: float) -> float:
    best = min(_r(results, label, p, boot).wait_p95_s for p in ("seed", "idle"))
    return _r(results, label, DEFAULT, boot).wait_p95_s / max(best, 0.1)


def _cost_ratio(results: Results, label: str, boot: float) -> float:
    best = min(_r(results, label, p, boot).instance_hours for p in ("seed", "idle"))
    return _r(results, label, DEFAULT, boot).instance_hours / max(best, 0.1)


def _show_wait(results: Results, label: str, boot: float) -> str:
    s, i, d = (_r(results, label, p, boot).wait_p95_s for p in ("seed", "idle", DEFAULT))
    return f"p95 {d:g} s vs seed {s:g} s, idle {i:g} s"


def _show_cost(results: Results, label: str, boot: float) -> str:
    s, i, d = (_r(results, label, p, boot).instance_hours for p in ("seed", "idle", DEFAULT))
    return f"{d:g} inst-h vs seed {s:g}, idle {i:g}"


def _over_boot(results: Results, label: str, boot: float) -> float:
    return _r(results, label, DEFAULT, boot).wait_p95_s - boot


def _show_p95(results: Results, label: str, boot: float) -> str:
    return f"p95 {_r(results, label, DEFAULT, boot).wait_p95_s:g} s"


def _clairvoyant(results: Results, label: str, boot: float) -> float:
    return _r(results, label, DEFAULT, boot).ratio_to_clairvoyant


def _show_clairvoyant(results: Results, label: str, boot: float) -> str:
    return f"{_clairvoyant(results, label, boot):.2f}x"


def _killed(results: Results, label: str, boot: float) -> float:
    return sum(_r(results, label, p, boot).jobs_killed for p in POLICIES)


def _show_killed(results: Results, label: str, boot: float) -> str:
    return f"{_killed(results, label, boot):g} killed"


CRITERIA = (
    Criterion("p95 wait below seed's and idle's", _wait_ratio, lambda v: v < 1, _show_wait),
    Criterion("instance-hours below seed's and idle's", _cost_ratio, lambda v: v < 1, _show_cost),
    Criterion("p95 wait <= boot + 20 s", _over_boot, lambda v: v <= 20, _show_p95),
    Criterion(
        "instance-hours <= 1.25x clairvoyant", _clairvoyant, lambda v: v <= 1.25, _show_clairvoyant
    ),
    Criterion("no job killed (any policy)", _killed, lambda v: v == 0, _show_killed),
)


# ----- rendering --------------------------------------------------------------------------


def default_params() -> str:
    """The default policy's environment-file defaults, as ``key=value, ...``."""
    return ", ".join(f"{k}={v:g}" for k, v in DEFAULTS[DEFAULT_POLICY].items())


def render(results: Results, missing: int, wall_s: float, workers: int) -> str:
    params = default_params()
    out = [
        HEADING,
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_policies --write` (also run by"
        ' `make bench`). Every variant of every workload family (docs/simulator.md, "Workload'
        f' families") x {{seed, idle, default, static}} x boot {{180, 30}} s, {SLOTS} slots'
        f" per instance, autoscaler tick 60 s, simulation seed 0. `default` is `{DEFAULT_POLICY}`"
        f" with the environment-file defaults ({params}); `static` is a fixed fleet sized for the"
        f" zero-wait peak. {len(results)} simulations in {wall_s:.0f} s on {workers} processes"
        f" (load average {os.getloadavg()[0]:.1f} on 2 cores)"
        + (f"; **{missing} not finished within the time budget**." if missing else "."),
        "",
        *_verdict_table(results),
        "",
        *_figures_table(results),
    ]
    return "\n".join(out) + "\n"


def _verdict_table(results: Results) -> list[str]:
    lines = ["| boot | criterion (default policy) | holds on | worst workload |",
             "|---|---|---|---|"]  # fmt: skip
    for boot in BOOTS:
        for name, ok, of, worst in criteria(results, boot):
            lines.append(f"| {boot:g} s | {name} | {ok} of {of} | {worst} |")
    return lines


def _figures_table(results: Results) -> list[str]:
    lines = [
        "| workload | jobs | boot | policy | p50 s | p95 s | p99 s | inst-h | lower | / lower"
        " | clairv. | / clairv. | killed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in _labels(results):
        for boot in BOOTS:
            for policy in POLICIES:
                r = results.get((label, policy, boot))
                if r is not None:
                    lines.append(_row(label, boot, policy, r))
    return lines


def _row(label: str, boot: float, policy: str, r: PolicyResult) -> str:
    name = f"**{policy}**" if policy == DEFAULT else policy
    return (
        f"| {label} | {r.jobs} | {boot:g} s | {name} | {r.wait_p50_s:g} | {r.wait_p95_s:g} |"
        f" {r.wait_p99_s:g} | {r.instance_hours:g} | {r.lower_bound_instance_hours:g} |"
        f" {r.ratio_to_lower_bound:.2f} | {r.clairvoyant_instance_hours:g} |"
        f" {r.ratio_to_clairvoyant:.2f} | {r.jobs_killed} |"
    )


def main_of(
    doc: str | None, heading: str, run_all: Callable[..., tuple[Any, int]],
    render_all: Callable[[Any, int, float, int], str],
) -> int:  # fmt: skip
    """The command line both policy benchmarks share: run, print, optionally write."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--families", default=",".join((PUBLIC, *FAMILIES)))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=1800.0, help="stop after this long")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    found = all_workloads([n.strip() for n in args.families.split(",") if n.strip()])
    started = time.perf_counter()
    results, missing = run_all(found, args.workers, args.budget_s)
    section = render_all(results, missing, time.perf_counter() - started, args.workers)
    print(section)
    if args.write:
        path = Path(DOC)
        text = path.read_text() if path.exists() else ""
        path.write_text(replace_section(text, heading, section))
    return 1 if missing else 0


def main() -> int:
    return main_of(__doc__, HEADING, run, render)


if __name__ == "__main__":
    sys.exit(main())
