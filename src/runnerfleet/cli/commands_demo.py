"""`runnerfleet sandbox demo`: the seed's tasks walked on a deployed environment in the twin."""

from __future__ import annotations

from pathlib import Path

import typer

from runnerfleet.cli.commands_sandbox import sandbox_app
from runnerfleet.cli.console import err, out
from runnerfleet.errors import ExitCode


def demo(
    env: Path = typer.Option(Path("examples/dev.yaml"), "--env", help="Environment file."),
    schedule_factor: float = typer.Option(
        12.0,
        "--schedule-factor",
        help="The twin's EventBridge schedules run N times faster (12: the autoscaler every 5 s).",
    ),
) -> int:
    """Walk the seed's tasks on a twin of its own, then report from what was deployed.

    Starts a twin (private RUNNERFLEET_HOME), deploys the environment through the real deploy
    engine, creates pipelines in the GitLab stand-in, lets the deployed autoscaler scale out
    and in, updates the instance type (rolling replacement through the drain), terminates a
    busy instance with the AWS CLI, adds a project, relaunches, destroys. Every figure is read
    from the deployed group and the stand-in. Exit 0 only when no job was killed and no
    runner, manager, token or instance was left. Under three minutes; stops all it started.

    Example: runnerfleet sandbox demo
    """
    from runnerfleet.sandbox.demo import DemoOptions, run_demo

    def say(line: str) -> None:
        err.print(line, markup=False, highlight=False)

    report = run_demo(DemoOptions(envfile=env, schedule_factor=schedule_factor), say)
    out.print(report.table())
    return 0 if report.ok else int(ExitCode.ERROR)


def register(app: typer.Typer) -> None:
    sandbox_app.command()(demo)
