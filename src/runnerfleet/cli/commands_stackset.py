"""stackset preview, deploy, destroy: one environment file rolled out to many accounts and
regions through a CloudFormation StackSet (the ``organisation:`` section, docs/deploy.md).

Each command refuses bad input before any call: overlapping accounts with the environment
files next to this one, malformed organisational units, overrides of regions or accounts
that are not targeted, overrides of parameters the template does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer
from rich.markup import escape

from runnerfleet.cli.confirm import typed_name
from runnerfleet.cli.console import err, out
from runnerfleet.cli.options import SandboxFlag
from runnerfleet.errors import AbortedError, ExitCode

if TYPE_CHECKING:  # imported when a command runs: `COMMAND --help` stays fast
    from runnerfleet.aws.stacksets import Progress, StackSets
    from runnerfleet.envfile.models import FleetSpec
    from runnerfleet.ops.stackset import StackSetPreview
    from runnerfleet.ops.target import Target

PROFILE = typer.Option(None, "--profile", help="AWS profile (overrides aws.profile).")
ENVFILE = typer.Argument(..., help="Environment file with an organisation: section.")

stackset_app = typer.Typer(
    name="stackset",
    help="Deploy one environment to many accounts and regions (CloudFormation StackSets).",
    no_args_is_help=True,
)


def _prepare(
    envfile: Path, sandbox: bool, profile: str | None
) -> tuple[StackSetPreview, StackSets]:
    from runnerfleet.ops import stackset

    spec, target = _environment(envfile, sandbox, profile)
    stackset.organisation_of(spec)
    made: list[StackSets] = []

    def sets() -> StackSets:  # made once the input passed its checks: no call before
        made.append(_stack_sets(target))
        return made[0]

    others = stackset.sibling_environments(envfile)
    return stackset.prepare(spec, target.clients, others, sets=sets), made[0]


def _environment(envfile: Path, sandbox: bool, profile: str | None) -> tuple[FleetSpec, Target]:
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment

    return compose.environment(load_environment(envfile), sandbox, profile)


def _stack_sets(target: Target) -> StackSets:
    from runnerfleet.aws.stacksets import StackSets

    return StackSets(target.clients.client("cloudformation"), poll_s=target.capabilities.poll_s)


def show_progress(progress: Progress) -> None:
    reason = f": {escape(progress.reason)}" if progress.reason else ""
    colour = {"SUCCEEDED": "green", "FAILED": "red", "CANCELLED": "yellow"}.get(progress.status)
    status = f"[{colour}]{progress.status}[/]" if colour else progress.status
    out.print(f"  {progress.key} {status}{reason}")


def show_preview(preview: StackSetPreview) -> None:
    head, *rest = preview.lines()
    out.print(f"[bold]{escape(head)}[/]")
    for line in rest:
        out.print(f"  {escape(line)}")


@stackset_app.command("preview")
def preview_command(
    envfile: Path = ENVFILE, sandbox: SandboxFlag = False, profile: str | None = PROFILE
) -> int:
    """Show the stack instances a deploy would create, update and delete; change nothing.

    Example: runnerfleet stackset preview examples/org.yaml
    """
    preview, _sets = _prepare(envfile, sandbox, profile)
    show_preview(preview)
    return int(ExitCode.OK)


@stackset_app.command("deploy")
def deploy_command(
    envfile: Path = ENVFILE,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask; execute the preview."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
) -> int:
    """Create or update the StackSet and its stack instances, with progress per account.

    Example: runnerfleet stackset deploy examples/org.yaml
    """
    from runnerfleet.ops import stackset

    preview, sets = _prepare(envfile, sandbox, profile)
    show_preview(preview)
    if not preview.has_changes:
        out.print("nothing to deploy")
        return int(ExitCode.OK)
    if not yes and not click.confirm("Execute these changes?", default=False):
        raise AbortedError("nothing was changed")
    stackset.deploy(preview, sets, show_progress)
    out.print(f"[green]stack set {escape(preview.definition.name)} deployed[/]")
    return int(ExitCode.OK)


@stackset_app.command("destroy")
def destroy_command(
    envfile: Path = ENVFILE,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for the stack set name."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
) -> int:
    """Delete every stack instance of the StackSet, then the StackSet.

    You confirm by typing the stack set name (or pass --yes).
    Example: runnerfleet stackset destroy examples/org.yaml
    """
    from runnerfleet.ops import stackset

    spec, target = _environment(envfile, sandbox, profile)
    name = stackset.set_name(spec)
    if not typed_name("stack set", name, yes=yes):
        raise AbortedError("the name did not match; nothing was deleted")
    deleted = stackset.destroy(spec, _stack_sets(target), show_progress)
    if deleted is None:
        err.print(f"stack set {escape(name)} does not exist: nothing to delete")
    else:
        err.print(f"stack set {escape(name)}: {deleted} stack instance(s) deleted, then the set")
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.add_typer(stackset_app)
