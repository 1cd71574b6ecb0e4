"""``runnerfleet runners create|list|prune``: GitLab runners of an environment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from runnerfleet.cli import json_docs
from runnerfleet.cli.console import err, out
from runnerfleet.cli.formats import OutputFormat, OutputOption, print_json
from runnerfleet.cli.options import SandboxFlag

if TYPE_CHECKING:  # imported when a command runs: `COMMAND --help` stays fast
    from runnerfleet.gitlab.inventory import PrunePlan, RegistrationView
    from runnerfleet.gitlab.registry import RegistrationPlan
    from runnerfleet.ops.runners import Inventory

runners_app = typer.Typer(
    name="runners",
    help="GitLab runners of an environment: create them, list them, prune leftovers.\n\n"
    "The access token comes from $GITLAB_TOKEN or runner.gitlab_token in the environment "
    "file (env or SSM), never from the command line.",
    no_args_is_help=True,
)

ENVFILE = typer.Argument(..., exists=True, dir_okay=False, help="The environment file.")
GITLAB_URL = typer.Option(None, "--gitlab-url", help="Override runner.gitlab_url.")


def register(app: typer.Typer) -> None:
    app.add_typer(runners_app, name="runners")


def _warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


def _progress(message: str) -> None:
    err.print(escape(message))


@runners_app.command("create")
def create(
    envfile: Path = ENVFILE, sandbox: SandboxFlag = False, gitlab_url: str | None = GITLAB_URL
) -> int:
    """Create the runners the environment file registers, and store their glrt- tokens in SSM.

    One runner per registration (POST /user/runners); tokens go to SecureString parameters
    /runnerfleet/<stack>/runners/<name> under kms_key_id. Existing runners are kept, changed
    tags or settings are updated. Runners removed from the file are deleted by
    `runnerfleet deploy` (after the instances are refreshed) or `runners prune --apply`.
    If one creation fails, the runners created before it are deleted again.

    Example: GITLAB_TOKEN=... runnerfleet runners create examples/dev.yaml
    """
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.runners import create_runners

    spec, target = compose.environment(load_environment(envfile), sandbox, gitlab_url=gitlab_url)
    done = create_runners(spec, target, show_plan=render_plan, warn=_warn, progress=_progress)
    out.print(
        f"created {len(done.report.created)}, updated {len(done.report.updated)} runner(s); "
        f"tokens stored below {escape(done.token_prefix)}"
    )
    if done.pending_deletes:
        out.print(
            f"{done.pending_deletes} runner(s) to delete after the instances are refreshed: run "
            "`runnerfleet deploy` (or `runnerfleet runners prune --apply`)"
        )
    return 0


@runners_app.command("list")
def list_(
    envfile: Path = ENVFILE,
    sandbox: SandboxFlag = False,
    gitlab_url: str | None = GITLAB_URL,
    output: OutputOption = OutputFormat.TABLE,
) -> int:
    """Show every registration, its GitLab status and its managers, matched to live instances.

    A manager is one gitlab-runner process (one instance) using the runner's token; its
    system_id is derived from the instance id, so each maps to one instance of the stack's
    Auto Scaling group, or to none (a leftover that `runners prune` removes).

    Example: runnerfleet runners list examples/dev.yaml
    """
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.runners import list_runners

    spec, target = compose.environment(load_environment(envfile), sandbox, gitlab_url=gitlab_url)
    inventory = list_runners(spec, target, warn=_warn)
    if output is OutputFormat.JSON:
        print_json(json_docs.runners(spec.name, spec.stack, inventory))
        return 0
    _say_stack(inventory, spec.stack)
    render_views(inventory.views)
    return 0


@runners_app.command("prune")
def prune(
    envfile: Path = ENVFILE,
    sandbox: SandboxFlag = False,
    gitlab_url: str | None = GITLAB_URL,
    apply: bool = typer.Option(False, "--apply", help="Really delete; default dry run."),
) -> int:
    """Remove managers and runners that match no live instance. A dry run unless --apply.

    Pruned: managers whose system_id matches no instance of the stack's Auto Scaling group
    (instances that died without unregistering), runners of registrations removed from the
    file, and runners named for this stack that have no token in SSM (left by a failed run).

    Examples:

      runnerfleet runners prune examples/dev.yaml            (dry run: what would go)

      runnerfleet runners prune examples/dev.yaml --apply    (removes it)

      runnerfleet runners prune examples/dev.yaml --sandbox  (against the sandbox)
    """
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.runners import prune_runners

    spec, target = compose.environment(load_environment(envfile), sandbox, gitlab_url=gitlab_url)
    pruned = prune_runners(spec, target, apply=apply, warn=_warn)
    _say_stack(pruned.inventory, spec.stack)
    render_prune(pruned.plan, pruned.inventory.stack_exists)
    if pruned.report is None:
        if not pruned.plan.empty:
            err.print("dry run: nothing removed; add --apply to remove it")
        return 0
    report = pruned.report
    out.print(f"removed: {report.summary()}")
    for failure in report.failures:
        err.print(f"[red]failed:[/] {escape(failure)}")
    return 1 if report.failures else 0


def _say_stack(inventory: Inventory, stack: str) -> None:
    if not inventory.stack_exists:
        err.print(f"[yellow]stack {stack} does not exist:[/] no live instances")


def render_plan(plan: RegistrationPlan) -> None:
    table = Table(title="Registrations", show_lines=False)
    for col in ("registration", "action", "runner", "why"):
        table.add_column(col)
    for a in plan.actions:
        table.add_row(escape(a.name), a.kind, str(a.runner_id or ""), escape(a.reason))
    _print_table(table)


def _print_table(table: Table) -> None:
    """A table on a terminal; piped, tab-separated lines with whole ids (for grep, scripts)."""
    if out.is_terminal:
        out.print(table)
        return
    out.print("\t".join(str(c.header) for c in table.columns))
    rows = zip(*(c.cells for c in table.columns), strict=True)
    for row in rows:
        out.print("\t".join(str(cell) for cell in row))


def render_views(views: list[RegistrationView]) -> None:
    table = Table(title="Runners")
    for col in (
        "registration",
        "runner",
        "status",
        "manager",
        "contacted_at",
        "version",
        "instance",
    ):
        table.add_column(col)
    for v in views:
        name = escape(v.name) + ("" if v.in_file else " (removed)")
        first = [name, str(v.runner_id or "-"), v.status]
        if not v.managers:
            table.add_row(*first, "-", "-", "-", "-")
        for i, m in enumerate(v.managers):
            lead = first if i == 0 else ["", "", ""]
            table.add_row(
                *lead,
                m.system_id,
                m.contacted_at or "never",
                m.version or "?",
                m.instance_id or "[red]no live instance[/]",
            )
    _print_table(table)


def render_prune(plan: PrunePlan, stack_exists: bool = True) -> None:
    if plan.empty:
        out.print(
            "nothing to prune: every manager matches a live instance"
            if stack_exists
            else "nothing to prune: GitLab has no runner and SSM no token of this stack left"
        )
        return
    for view, m in plan.managers:
        out.print(
            f"manager {m.system_id} of {escape(view.name)} (runner {view.runner_id}): "
            "no live instance"
        )
    for o in plan.runners:
        out.print(f"runner {o.runner_id} {escape(o.description)}: {escape(o.reason)}")
    for parameter in plan.tokens:
        out.print(f"token parameter {escape(parameter)}: its runner is gone")
