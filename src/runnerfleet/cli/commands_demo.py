"""`runnerfleet sandbox demo`: the whole system live on this machine, then a report."""

from __future__ import annotations

from pathlib import Path

import typer

from runnerfleet.cli.commands_sandbox import sandbox_app
from runnerfleet.cli.console import out
from runnerfleet.errors import ExitCode


def demo(
    env: Path = typer.Option(Path("examples/dev.yaml"), "--env", help="Environment file."),
    trace: Path | None = typer.Option(
        None,
        "--trace",
        help="Workload CSV (see docs/simulator.md); default: the synthetic generator.",
    ),
    minutes: float = typer.Option(60.0, "--minutes", help="Simulated minutes of workload."),
    speed: float = typer.Option(60.0, "--speed", help="Simulated seconds per real second."),
    max_job: float = typer.Option(900.0, "--max-job", help="Cap job durations (seconds)."),
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic workload."),
) -> int:
    """Run the whole system on the sandbox, in accelerated time, and report.

    Starts the AWS emulator, deploys the environment through change sets, starts the GitLab
    stand-in and creates the runners, then runs the workload: runner agents on their own
    127.0.x.y addresses, the autoscaler and the lifecycle handler in-process. At the end it
    drains the fleet to zero, destroys the stack and prunes the runners. Exit 0 only when no
    job was killed and no runner was left registered. About two minutes with the defaults.

    Example: runnerfleet sandbox demo --minutes 30 --speed 120
    """
    from runnerfleet.cli.main import main
    from runnerfleet.sandbox.demo import DemoOptions, run_demo

    options = DemoOptions(
        envfile=env, trace=trace, window_s=minutes * 60, speed=speed, max_job_s=max_job, seed=seed
    )
    report = run_demo(options, cli=main)
    out.print(report.table())
    return 0 if report.ok else int(ExitCode.ERROR)


def register(app: typer.Typer) -> None:
    sandbox_app.command()(demo)
