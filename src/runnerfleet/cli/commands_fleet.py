"""``runnerfleet fleet``: every instance, its runner and GitLab manager, the autoscaler's last
decisions, pending jobs and alarms (``ops.fleet_view``), once or every few seconds.

Only typer and the options are imported with this module: ``fleet --help`` stays fast; the
use case and its rendering are imported when the command runs."""

from __future__ import annotations

from pathlib import Path

import typer

from runnerfleet.cli.formats import OutputFormat, OutputOption
from runnerfleet.cli.options import SandboxFlag


def fleet(
    envfile: Path = typer.Argument(..., exists=True, dir_okay=False, help="Environment file."),
    sandbox: SandboxFlag = False,
    profile: str | None = typer.Option(None, "--profile", help="AWS profile to use."),
    output: OutputOption = OutputFormat.TABLE,
    watch: bool = typer.Option(False, "--watch", "-w", help="Show it again every --interval."),
    interval: float = typer.Option(10.0, "--interval", min=1.0, help="Seconds between views."),
    count: int = typer.Option(0, "--count", min=0, help="With --watch: stop after N views."),
) -> int:
    """Show the fleet now: instances, runners, GitLab managers, decisions, alarms.

    Every instance with its lifecycle state, age, running jobs / slots, idle time, scale-in
    protection, GitLab manager and last contact; the autoscaler's last decisions with their
    reasons, pending jobs and the stack's alarms in ALARM.

    Runners are scraped as the autoscaler scrapes them; "now" is what an evaluation would
    decide at this moment (nothing is changed). Ctrl-C ends --watch.

    Examples:

      runnerfleet fleet examples/dev.yaml --sandbox

      runnerfleet fleet envs/prod.yaml --watch --interval 15

      runnerfleet fleet envs/prod.yaml --output json | jq '.instances[].running_jobs'
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.commands_autoscale import secret_reader
    from runnerfleet.cli.fleet_render import show, watch_loop
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.fleet_view import fleet_view

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    reader = secret_reader(target.clients)
    views = (count or None) if watch else 1

    def once() -> None:
        show(fleet_view(spec, target, read_secret=reader), output)

    return watch_loop(once, views, interval)


def register(app: typer.Typer) -> None:
    app.command()(fleet)
