"""Time ``decide()`` on a fleet of 1,000 instances (and 10,000, to show it stays linear),
for every policy. Median over ``--runs`` calls, in one process.

  .venv/bin/python -m benchmarks.bench_decide            # print
  .venv/bin/python -m benchmarks.bench_decide --write    # and update docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from benchmarks.autoscaler_doc import write_block
from runnerfleet.scaling import (
    FleetSnapshot,
    HeadroomPolicy,
    IdlePolicy,
    InstanceView,
    LifecycleState,
    Period,
    Policy,
    QueuePolicy,
    Schedule,
    decide,
)

NOW = 1_800_000_000.0
SIZES = (1_000, 10_000)
POLICIES: dict[str, Policy] = {
    "seed": HeadroomPolicy(concurrent=4, headroom_jobs=8),
    "idle": IdlePolicy(idle_count=40, idle_time_s=600, scale_factor=0.1, concurrent=4),
    "queue": QueuePolicy(idle_count=40, idle_time_s=600, concurrent=4),
    "schedule": Schedule(
        base=QueuePolicy(idle_count=0, idle_time_s=300, concurrent=4),
        periods=(
            Period("* 8-18 * * mon-fri", "Europe/Berlin", {"idle_count": 40}),
            Period("* 12 * * mon-fri", "Europe/Berlin", {"idle_count": 80}),
        ),
    ),
}


def fleet(n: int, seed: int = 7) -> FleetSnapshot:
    """A busy fleet: mostly InService, some booting, warm, idle and without metrics."""
    rnd = random.Random(seed)
    states = [LifecycleState.IN_SERVICE] * 90 + [LifecycleState.PENDING] * 5
    states += [LifecycleState.WARMED_STOPPED] * 3 + [LifecycleState.TERMINATING] * 2
    instances = []
    for i in range(n):
        running = None if rnd.random() < 0.02 else rnd.choice([0, 0, 1, 2, 3, 4])
        instances.append(
            InstanceView(
                instance_id=f"i-{i:017x}",
                state=rnd.choice(states),
                launched_at=NOW - rnd.uniform(0, 86400),
                slots=4,
                running_jobs=running,
                scraped_at=NOW - rnd.uniform(0, 90),
                idle_since=NOW - rnd.uniform(0, 3600) if running == 0 else None,
                protected=rnd.random() < 0.5,
            )
        )
    return FleetSnapshot(
        now=NOW,
        instances=tuple(instances),
        desired=n,
        min_size=0,
        max_size=n * 2,
        pending_jobs=rnd.randint(0, n),
        last_scale_in_at=NOW - 900,
        last_scale_out_at=NOW - 900,
    )


def median_ms(snapshot: FleetSnapshot, policy: Policy, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        decide(snapshot, policy)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def table(runs: int) -> str:
    rows = [
        "| policy | " + " | ".join(f"{n:,} instances (ms)" for n in SIZES) + " | action at 1,000 |",
        "|---|" + "---:|" * len(SIZES) + "---|",
    ]
    snapshots = {n: fleet(n) for n in SIZES}
    for name, policy in POLICIES.items():
        cells = [f"{median_ms(snapshots[n], policy, runs):.2f}" for n in SIZES]
        action = decide(snapshots[SIZES[0]], policy).action
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {action} |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    result = table(args.runs)
    if args.write:
        write_block("bench_decide", f"### decide() (median of {args.runs} calls)\n\n{result}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
