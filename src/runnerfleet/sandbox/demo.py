"""``runnerfleet sandbox demo``: the whole system live on one machine, in accelerated time.

It starts the embedded AWS emulator, deploys the example environment through the real deploy
engine, starts the GitLab stand-in and creates the runners through the real registration code
(tokens into the emulator's SSM), then runs a workload: runner agents on their own loopback
addresses pick jobs, the real autoscaler evaluation scales the group, the real lifecycle
handler drains instances on scale-in. Auto Scaling's lifecycle is the fleet model's, because
the emulator has none (docs/sandbox.md). At the end it drains the fleet to zero, destroys the
stack, prunes the runners and reports the invariants: no job killed, no runner left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.live import Live

from runnerfleet.cli.console import err
from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.demo_report import DemoReport, DemoStats, job_waits, live_table, percentile
from runnerfleet.sandbox.demo_world import World, build_world
from runnerfleet.sandbox.standin import StandInState
from runnerfleet.sandbox.workload import Feeder, demo_jobs


@dataclass(frozen=True)
class DemoOptions:
    envfile: Path = Path("examples/dev.yaml")
    trace: Path | None = None
    speed: float = 60.0
    window_s: float = 3600.0  # simulated seconds of workload
    max_job_s: float = 900.0
    boot_s: float = 90.0
    tick_s: float = 60.0
    check_interval_s: float = 10.0
    seed: int = 7
    live: bool = True
    real_time_limit_s: float = 170.0


def run_demo(options: DemoOptions, cli: Callable[[list[str]], int]) -> DemoReport:
    """``cli`` runs a runnerfleet command in-process (deploy and destroy go through it)."""
    _STARTED[0] = time.monotonic()
    if not options.envfile.is_file():
        raise SandboxError(
            f"{options.envfile}: no such environment file",
            hint="run from the project directory or pass --env FILE",
        )
    with _private_home(), _emulator():
        _step("deploying the stack through change sets (emulated)")
        if cli(["deploy", str(options.envfile), "--sandbox", "--yes"]) != 0:
            raise SandboxError("the demo deploy failed", hint="see the messages above")
        clock = SimClock(speed=options.speed)
        with contextlib.ExitStack() as stack:
            stack.callback(clock.stop)
            world = build_world(options, clock)
            stack.callback(world.shutdown)
            report = _run_world(world, options)
        _step("destroying the stack (emulated)")
        cli(["destroy", str(options.envfile), "--sandbox", "--yes"])
    return report


def _run_world(world: World, options: DemoOptions) -> DemoReport:
    jobs = demo_jobs(options.trace, options.window_s, options.max_job_s, options.seed)
    feeder = Feeder(jobs, world.standin, world.clock, world.project_id, world.job_tags)
    stats = DemoStats(jobs_total=len(jobs))
    _step(
        f"running {len(jobs)} jobs over {options.window_s / 60:.0f} simulated minutes at "
        f"{options.speed:g}x"
    )
    feeder.start()
    deadline = time.monotonic() + options.real_time_limit_s
    with Live(
        live_table(stats, world.standin.state),
        console=err,
        refresh_per_second=4,
        transient=not options.live,
    ) as live:

        def until(done: Callable[[], bool]) -> None:
            while not done() and time.monotonic() < deadline:
                world.step(stats)
                stats.jobs_fed = feeder.fed
                live.update(live_table(stats, world.standin.state))
                time.sleep(0.05)

        until(lambda: feeder.done and world.queue_empty())
        _step("workload done: draining the fleet to zero (autoscaler paused)")
        world.scale_to_zero()
        until(world.fleet_empty)
    return _report(world, stats, finished=time.monotonic() < deadline)


def _report(world: World, stats: DemoStats, *, finished: bool) -> DemoReport:
    instances_left = world.instances_left()
    world.prune_runners()
    state: StandInState = world.standin.state
    waits = job_waits(state)
    with state.lock:
        succeeded = sum(1 for j in state.jobs.values() if j.status == "success")
        total = len(state.jobs)
        runners = len(state.runners)
        managers = len(state.managers)
    return DemoReport(
        jobs=total,
        jobs_succeeded=succeeded,
        wait_p50_s=percentile(waits, 0.5),
        wait_p95_s=percentile(waits, 0.95),
        wait_max_s=max(waits, default=0.0),
        instance_hours=world.fleet.billed_seconds(world.clock.now()) / 3600,
        scale_events=len(stats.scale_events),
        jobs_killed=world.host.totals.jobs_killed,
        runners_left_registered=runners,
        managers_left_registered=managers,
        lifecycle_actions_timed_out=world.hook_timeouts,
        instances_left=instances_left,
        finished_in_time=finished,
    )


_STARTED = [time.monotonic()]


def _step(text: str) -> None:
    err.print(f"[bold cyan]==>[/] [dim]{time.monotonic() - _STARTED[0]:5.1f}s[/] {text}")


@contextlib.contextmanager
def _private_home() -> Iterator[None]:
    """The demo's emulator and state live apart from a sandbox the user may have running."""
    before = os.environ.get("RUNNERFLEET_HOME")
    with tempfile.TemporaryDirectory(prefix="runnerfleet-demo-") as home:
        os.environ["RUNNERFLEET_HOME"] = home
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("RUNNERFLEET_HOME", None)
            else:
                os.environ["RUNNERFLEET_HOME"] = before


@contextlib.contextmanager
def _emulator() -> Iterator[None]:
    from runnerfleet.sandbox import emulator

    _step("starting the embedded AWS emulator on 127.0.0.1")
    state = emulator.start()
    err.print(f"    moto server pid {state.pid} at {state.endpoint}")
    try:
        yield
    finally:
        emulator.stop()
        _step(f"stopped the emulator (pid {state.pid})")
