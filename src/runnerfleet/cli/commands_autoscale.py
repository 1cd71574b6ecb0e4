"""``runnerfleet autoscale``: one autoscaler evaluation from the operator's machine.

The same evaluation the Lambda runs, with the environment the fleet template gives it:
observe the group, scrape the runners, read the queue, decide, show the decision and its
reasons, then apply it unless ``--dry-run``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from runnerfleet.cli import json_docs
from runnerfleet.cli.console import err, out
from runnerfleet.cli.formats import OutputFormat, OutputOption, print_json
from runnerfleet.errors import AwsError, RunnerfleetError

if TYPE_CHECKING:  # imported when a command runs: `COMMAND --help` stays fast
    from runnerfleet.aws.clients import ClientFactory
    from runnerfleet.ops.autoscale import Evaluation


def secret_reader(factory: ClientFactory) -> Callable[[str], str | None]:
    """Reads the queue token as the function does; a missing one leaves the queue unknown."""
    from runnerfleet.ops.autoscale_env import SecureParameters

    parameters = SecureParameters(factory)

    def read(name: str) -> str | None:
        try:
            return parameters.read(name)
        except Exception as exc:  # any SSM failure: decide on metrics only, as the Lambda would
            err.print(
                f"[yellow]queue unknown: cannot read {escape(name)} ({type(exc).__name__})[/]"
            )
            return None

    return read


def run(envfile: Path, sandbox: bool, dry_run: bool, profile: str | None) -> Evaluation:
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.autoscale_env import run_from_env
    from runnerfleet.stack.wiring import autoscaler_environment

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    factory = target.clients
    env = autoscaler_environment(spec)
    if dry_run:
        env["RUNNERFLEET_DRY_RUN"] = "true"
    err.print(f"evaluating {escape(env['RUNNERFLEET_GROUP'])} with the function's settings")
    try:
        return run_from_env(env, factory, target.metrics_address, secret_reader(factory))
    except LookupError as exc:
        raise AwsError(
            str(exc), hint=f"deploy the environment first: runnerfleet deploy {envfile}"
        ) from exc


def render(result: Evaluation) -> None:
    decision, snapshot = result.decision, result.snapshot
    table = Table(title=f"{result.group.name}: {len(snapshot.instances)} instance(s)")
    table.add_column("instance", no_wrap=True, min_width=19)
    for column in ("state", "jobs/slots", "idle", "protected"):
        table.add_column(column, no_wrap=True)
    table.add_column("action", no_wrap=True, min_width=9)
    for inst in sorted(snapshot.instances, key=lambda i: i.instance_id):
        jobs = "?" if inst.running_jobs is None else str(inst.running_jobs)
        idle = "-" if inst.idle_since is None else f"{snapshot.now - inst.idle_since:.0f}s"
        table.add_row(
            inst.instance_id,
            inst.state.value,
            f"{jobs}/{inst.slots or '?'}",
            idle,
            "yes" if inst.protected else "",
            _action_of(inst.instance_id, result),
        )
    out.print(table)
    out.print(
        f"[bold]{decision.action}[/] desired {snapshot.desired} -> {decision.desired} "
        f"(policy {decision.policy}, pending jobs {_unknown(snapshot.pending_jobs)})"
    )
    for reason in decision.reasons:
        out.print(f"  - {escape(reason)}")
    for note in result.group.notes:
        out.print(f"  [dim]note: {escape(note)}[/]")


def _action_of(instance_id: str, result: Evaluation) -> str:
    from runnerfleet.ops.fleet_view import action_for

    action = action_for(instance_id, result)
    return f"[red]{action}[/]" if action == "terminate" else action


def _unknown(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def register(app: typer.Typer) -> None:
    @app.command("autoscale")
    def autoscale(
        envfile: Path = typer.Argument(..., exists=True, dir_okay=False, help="Environment file."),
        sandbox: bool = typer.Option(False, "--sandbox", help="Use the embedded AWS emulator."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Decide and show; change nothing."),
        profile: str | None = typer.Option(None, "--profile", help="AWS profile to use."),
        output: OutputOption = OutputFormat.TABLE,
    ) -> int:
        """Run one autoscaler evaluation now and show the decision with its reasons.

        Examples:

          runnerfleet autoscale examples/dev.yaml --sandbox --dry-run

          runnerfleet autoscale envs/prod.yaml --profile prod
        """
        result = run(envfile, sandbox, dry_run, profile)
        if output is OutputFormat.JSON:
            print_json(json_docs.autoscale(result))
        else:
            render(result)
        if result.report is None:
            err.print("[yellow]dry run: nothing changed[/]")
            return 0
        for line in result.report.calls:
            err.print(f"  done: {escape(line)}")
        for line in result.report.errors:
            err.print(f"  [red]failed: {escape(line)}[/]")
        if result.report.errors:
            raise RunnerfleetError(
                f"{len(result.report.errors)} change(s) failed",
                hint="the next evaluation retries them; check the errors above",
            )
        return 0
