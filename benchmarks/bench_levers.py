"""Candidates for the default policy, judged by their worst case over every workload family.

Run: .venv/bin/python -m benchmarks.bench_levers [--write] [--families matrix,batch]
     [--budget-s 1800] [--workers 2]

Every candidate in ``CANDIDATES`` (a ``queue`` setting, some with the job webhook) runs on every
variant of every family (and the shared trace when ``../shared`` is present) at boot 180 s and
30 s with 4 slots, beside ``seed`` and ``idle``. Per candidate and boot: on how many workloads it
beats both on p95 wait (or ties them at the runner's 3 s poll floor) and on instance-hours, how
often p95 <= boot + 20 s, and its worst ratio to the clairvoyant bound with the workload that
gives it. ``--write`` replaces the ``## Policy candidates`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from benchmarks.bench_policies import BOOTS, SLOTS, default_params, main_of
from runnerfleet.sim.catalog import DEFAULT_POLICY
from runnerfleet.sim.evaluate import Case, Evaluator
from runnerfleet.sim.families import Workload
from runnerfleet.sim.model import SimConfig
from runnerfleet.sim.report import PolicyResult

HEADING = "## Policy candidates"
POLL_FLOOR_S = SimConfig().check_interval_s  # no policy waits less than one runner poll
WEBHOOK_S = 5.0  # a job webhook evaluates this long after a job is queued


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    policy: str
    params: Mapping[str, Any]
    webhook_s: float | None = None
    break_even_k: float = 0.0  # > 0: idle_time_s auto, k x the boot time of each run

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        hook = f", job webhook {self.webhook_s:g} s" if self.webhook_s is not None else ""
        even = f", scale-in after {self.break_even_k:g} x boot" if self.break_even_k else ""
        return f"`{self.policy}`" + (f" {shown}" if shown else "") + even + hook

    def at_boot(self, boot: float) -> tuple[tuple[str, Any], ...]:
        """The policy parameters of one run: break-even ones know the run's boot time, as
        ``scaling.boot_estimate_s`` tells the autoscaler."""
        extra = {"break_even_k": self.break_even_k, "boot_s": boot} if self.break_even_k else {}
        return tuple(sorted({**self.params, **extra}.items()))


def _queue(name: str, webhook_s: float | None = None, **params: float) -> Candidate:
    return Candidate(name, "queue", params, webhook_s)


BASELINES = (Candidate("seed", "seed", {}), Candidate("idle", "idle", {}))
CANDIDATES = (
    Candidate("default", DEFAULT_POLICY, {}),
    _queue("previous default", idle_count=0, idle_time_s=120, scale_factor=0.25, cooldown_s=300),
    _queue("warm 2, idle 120 s", idle_count=2, idle_time_s=120, scale_factor=0, cooldown_s=300),
    _queue("warm 1, no factor", idle_count=1, idle_time_s=180, scale_factor=0, cooldown_s=300),
    _queue("warm 2, factor 0.1", idle_count=2, idle_time_s=300, scale_factor=0.1, cooldown_s=60),
    _queue("cooldown 60 s", idle_count=2, idle_time_s=180, scale_factor=0, cooldown_s=60),
    _queue("idle 60 s", idle_count=2, idle_time_s=60, scale_factor=0, cooldown_s=300),
    _queue("default + webhook", WEBHOOK_S),
    Candidate("break-even", "queue", {}, None, 1.0),
    Candidate("break-even + webhook", "queue", {}, WEBHOOK_S, 1.0),
    Candidate("break-even + webhook, cooldown 60 s", "queue", {"cooldown_s": 60}, WEBHOOK_S, 1.0),
    Candidate(
        "break-even x0.5 + webhook, cooldown 60 s", "queue", {"cooldown_s": 60}, WEBHOOK_S, 0.5
    ),
)
Key = tuple[str, str, float]  # workload label, candidate name, boot
Results = dict[Key, PolicyResult]


def run(found: Sequence[Workload], workers: int, budget_s: float) -> tuple[Results, int]:
    """Every candidate (and baseline) on every workload at both boot times."""
    results: Results = {}
    missing = 0
    deadline = time.monotonic() + budget_s
    everyone = (*BASELINES, *CANDIDATES)
    for hook in dict.fromkeys(c.webhook_s for c in everyone):
        group = [c for c in everyone if c.webhook_s == hook]
        cases = [
            Case(i, c.policy, boot, c.at_boot(boot), label=c.name)
            for i in range(len(found))
            for boot in BOOTS
            for c in group
        ]
        config = replace(SimConfig(slots=SLOTS), webhook_delay_s=hook)
        with Evaluator(found, config, workers=workers) as evaluator:
            left = max(1.0, deadline - time.monotonic())
            done = evaluator.run(cases, timeout_s=left)
        for case, r in zip(cases, done, strict=True):
            if r is None:
                missing += 1
            else:
                results[(found[case.workload].label, case.label or "", case.boot_s)] = r
    return results, missing


def _beats_wait(r: PolicyResult, best: float) -> bool:
    return r.wait_p95_s < best or (r.wait_p95_s <= POLL_FLOOR_S and best <= POLL_FLOOR_S)


def summary(results: Results, name: str, boot: float) -> list[str]:
    """Cells of one candidate's row at one boot time."""
    labels = [k[0] for k in results if k[1] == name and k[2] == boot]
    labels = [x for x in labels if all((x, b.name, boot) in results for b in BASELINES)]
    mine = {x: results[(x, name, boot)] for x in labels}
    base = {x: [results[(x, b.name, boot)] for b in BASELINES] for x in labels}
    wait = sum(_beats_wait(mine[x], min(r.wait_p95_s for r in base[x])) for x in labels)
    cost = sum(mine[x].instance_hours < min(r.instance_hours for r in base[x]) for x in labels)
    near = sum(mine[x].wait_p95_s <= boot + 20 for x in labels)
    cheap = sum(mine[x].ratio_to_clairvoyant <= 1.25 for x in labels)
    worst_wait = max(labels, key=lambda x: mine[x].wait_p95_s - boot, default="")
    worst_cost = max(labels, key=lambda x: mine[x].ratio_to_clairvoyant, default="")
    n = len(labels)
    return [
        f"{wait}/{n}",
        f"{cost}/{n}",
        f"{near}/{n}" + (f" (worst {worst_wait}: {mine[worst_wait].wait_p95_s:g} s)" if n else ""),
        f"{cheap}/{n}"
        + (f" (worst {worst_cost}: {mine[worst_cost].ratio_to_clairvoyant:.2f}x)" if n else ""),
    ]


def render(results: Results, missing: int, wall_s: float, workers: int) -> str:
    default = default_params()
    lines = [
        HEADING,
        "",
        "Command: `.venv/bin/python -m benchmarks.bench_levers --write`. Each candidate for the"
        " default on every workload of the Policies section above, at boot 180 s and 30 s,"
        f" {SLOTS} slots, beside `seed` and `idle`. `default` is `{DEFAULT_POLICY}` with the"
        f" environment-file defaults ({default}). A p95 wait counts as beating both when it is"
        f" lower, or when it and theirs are both within one runner poll ({POLL_FLOOR_S:g} s),"
        " the floor no policy can go under. "
        f"{len(results)} simulations in {wall_s:.0f} s on {workers} processes"
        + (f"; **{missing} not finished within the time budget**." if missing else "."),
        "",
        "| candidate | boot | p95 beats seed and idle | inst-h below both"
        " | p95 <= boot + 20 s | <= 1.25x clairvoyant |",
        "|---|---|---|---|---|---|",
    ]
    for c in CANDIDATES:
        for boot in BOOTS:
            cells = summary(results, c.name, boot)
            lines.append(f"| {c.name}: {c.describe()} | {boot:g} s | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    return main_of(__doc__, HEADING, run, render)


if __name__ == "__main__":
    sys.exit(main())
