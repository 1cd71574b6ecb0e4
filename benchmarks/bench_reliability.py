"""Reliability of draining: >= 200 termination events with jobs running, in the fleet model.

Causes rotate between scale-in, relaunch (rolling replacement in batches, as an instance refresh
does), manual terminate and spot interruption. Reported: jobs killed by scale-in, relaunch or
terminate (must be 0), runners still registered after their instance is gone (must be 0),
lifecycle actions left waiting (must be 0), and what happened around them.

Run: .venv/bin/python -m benchmarks.bench_reliability [--events 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from benchmarks.reliability_world import World
from runnerfleet.scaling.types import LifecycleState

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
KINDS = ("scale-in", "relaunch", "terminate", "spot")
SETTLE_S = 8 * 3600.0


def in_service(world: World) -> list[str]:
    return [s.instance_id for s in world.fleet.describe() if s.state is LifecycleState.IN_SERVICE]


def scale_in(world: World) -> None:
    desired = world.fleet.desired
    world.fleet.set_desired(max(0, desired - 2), False, world.now)
    world.advance_to(world.now + 600)
    world.fleet.set_desired(desired, False, world.now)


def relaunch(world: World, replace: int = 4, batch: int = 2) -> None:
    """A rolling replacement of the oldest instances, min healthy 80% of 10."""
    for start in range(0, replace, batch):
        victims = in_service(world)[:batch]
        for instance in victims:
            world.causes[instance] = "relaunch"
            world.fleet.terminate_instance(instance, False, world.now)
        deadline = world.now + SETTLE_S
        while world.now < deadline and any(v in world.runners for v in victims):
            world.advance_to(world.now + 60)
        del start


def terminate(world: World) -> None:
    instance = world.rng.choice(in_service(world))
    world.causes[instance] = "terminate"
    world.fleet.terminate_instance(instance, False, world.now)


def spot(world: World) -> None:
    world.fleet.interrupt_spot(world.rng.choice(in_service(world)), world.now)


def run(events: int, seed: int, *, seed_style: bool = False) -> World:
    """Our drain; or, with ``seed_style``, the seed's (no heartbeats, 3600 s hook timeout)."""
    world = (
        World(seed=seed, hook_timeout_s=3600.0, heartbeats=False)
        if seed_style
        else World(seed=seed)
    )
    world.advance_to(1800.0)  # every slot busy before the first termination
    actions = {"scale-in": scale_in, "relaunch": relaunch, "terminate": terminate, "spot": spot}
    turn = 0
    while sum(world.tally.terminations.values()) < events:
        actions[KINDS[turn % len(KINDS)]](world)
        turn += 1
        world.advance_to(world.now + world.rng.uniform(120, 1200))
    deadline = world.now + SETTLE_S
    while world.now < deadline and any(
        s.state is not LifecycleState.IN_SERVICE for s in world.fleet.describe()
    ):
        world.advance_to(world.now + 60)
    return world


def waiting(world: World) -> int:
    return sum(s.state is LifecycleState.TERMINATING_WAIT for s in world.fleet.describe())


def measures(world: World) -> list[tuple[str, str]]:
    t = world.tally
    killed = sum(t.killed.get(k, 0) for k in ("scale-in", "relaunch", "terminate"))
    per_cause = ", ".join(f"{k} {t.terminations.get(k, 0)}" for k in KINDS)
    hook = world.limits.heartbeat_timeout_s
    return [
        ("termination events", f"{sum(t.terminations.values())} ({per_cause})"),
        ("jobs killed by scale-in, relaunch or terminate (must be 0)", f"**{killed}**"),
        (
            "runners still registered after their instance is gone (must be 0)",
            f"**{t.stale_runners}**",
        ),
        (
            "lifecycle actions left waiting: at the end / ended by the hook timeout (must be 0)",
            f"**{waiting(world)} / {t.hook_timeouts}**",
        ),
        (
            "jobs finished / of them longer than the hook timeout, finished during a drain",
            f"{t.jobs_done} / {t.long_jobs_done} (hook {hook:.0f} s)",
        ),
        ("longest drain", f"{t.longest_drain_s / 60:.0f} min"),
        (
            "duplicate EventBridge deliveries / second drains started",
            f"{t.duplicate_deliveries} / {t.double_drains}",
        ),
        (
            "jobs lost to spot reclaims / retried via the GitLab API (our spot handler in both)",
            f"{t.spot_lost} / {t.spot_retried}",
        ),
        ("simulated time", f"{world.now / 3600:.1f} h"),
    ]


def report(ours: World, seed_style: World, seconds: float, events: int, seed: int) -> str:
    rows = zip(measures(ours), measures(seed_style), strict=True)
    table = "\n".join(f"| {k} | {a} | {b} |" for (k, a), (_, b) in rows)
    return (
        "## Reliability\n\n"
        f"`.venv/bin/python -m benchmarks.bench_reliability --events {events} --seed {seed}` "
        f"({seconds:.1f} s for both runs). The Auto Scaling fleet model (`runnerfleet.asgmodel`: "
        "Terminating:Wait, heartbeat timeout and default result, capacity rebalancing, 120 s "
        "spot notice) with 10 instances x 4 slots kept busy (70% of jobs 1-15 min, 23% 15-60 "
        "min, 7% 60-150 min). Lifecycle events go through the Lambda's use case "
        "`handle_terminate`, spot warnings through `handle_spot`, with fake adapters; each "
        "instance's drain script is played by `drain_step` (max drain 3 h), the step function "
        "the drain script is held to. Causes rotate: scale-in by 2, relaunch "
        "(rolling replacement through the hook, 2 at a time, as an instance refresh at 80% "
        "min healthy), manual terminate, spot interruption. 20% of lifecycle events are "
        "delivered twice. Same seed, side by side: our drain (hook timeout 600 s, heartbeats "
        f"every {ours.limits.heartbeat_every_s:.0f} s) and the seed's (unregister first, no "
        "heartbeats, hook timeout 3600 s).\n\n"
        "| measure | runnerfleet drain | seed-style drain |\n|---|---|---|\n" + table + "\n"
    )


def write_section(text: str) -> None:
    current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Reliability\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text + "\n", current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    DOCS.write_text(updated, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args()
    started = time.perf_counter()
    world = run(args.events, args.seed)
    baseline = run(args.events, args.seed, seed_style=True)
    text = report(world, baseline, time.perf_counter() - started, args.events, args.seed)
    print(text)
    if not args.no_write:
        write_section(text)
    t = world.tally
    bad = sum(t.killed.get(k, 0) for k in ("scale-in", "relaunch", "terminate"))
    return 1 if bad or t.stale_runners or waiting(world) or t.hook_timeouts else 0


if __name__ == "__main__":
    raise SystemExit(main())
