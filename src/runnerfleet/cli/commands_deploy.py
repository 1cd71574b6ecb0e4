"""deploy, diff, status, outputs, destroy: environment files to CloudFormation stacks.

Every command takes --sandbox to use the embedded emulator (`runnerfleet sandbox start`).
Without credentials and without --sandbox they stop with an error that says how to configure
credentials; they never fall back to the emulator on their own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer
from rich.markup import escape

from runnerfleet.cli import json_docs
from runnerfleet.cli.confirm import typed_name
from runnerfleet.cli.console import err, out
from runnerfleet.cli.formats import OutputFormat, OutputOption, print_json
from runnerfleet.cli.options import SandboxFlag
from runnerfleet.errors import ExitCode

if TYPE_CHECKING:  # imported when a command runs: `COMMAND --help` stays fast
    from runnerfleet.aws.cloudformation import StackOperations
    from runnerfleet.aws.stackstatus import StackEvent, StackState
    from runnerfleet.cli.compose import Environment
    from runnerfleet.ops.deploy import EnvResult, Prepared, Review, Settings

PROFILE = typer.Option(None, "--profile", help="AWS profile (overrides aws.profile).")
POLICY = typer.Option(None, "--policy", help="Organisation policy file for the guardrails.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask; execute the change sets.")


def _settings(policy: Path | None, yes: bool) -> Settings:
    from runnerfleet.envfile.policy import load_policy
    from runnerfleet.ops.deploy import Settings

    lock = threading.Lock()

    def offer_delete(state: StackState) -> bool:
        with lock:
            err.print(
                f"[bold yellow]{escape(state.name)} is in ROLLBACK_COMPLETE[/]: its first creation "
                "failed and AWS rolled it back. Such a stack cannot be updated; it must be "
                "deleted and created again. It holds no running resources."
            )
            if state.reason:
                err.print(f"  last reason: {escape(state.reason)}")
            if yes:
                err.print("  not deleting it on --yes; answer interactively or run destroy")
                return False
            return click.confirm(f"Delete {state.name} now and create it again?", default=False)

    return Settings(policy=load_policy(policy), offer_delete=offer_delete)


def _review(yes: bool) -> Review:
    from runnerfleet.cli.deploy_render import render_preview

    def review(prepared: Sequence[Prepared], pending: Sequence[Prepared]) -> bool:
        for item in prepared:
            render_preview(item)
        if not pending or yes:
            return True
        return click.confirm(f"Execute the changes of {len(pending)} environment(s)?")

    return review


def deploy(
    envfiles: list[Path] = typer.Argument(..., help="Environment files; several run in parallel."),
    yes: bool = YES,
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    policy: Path | None = POLICY,
    skip_registrations: bool = typer.Option(
        False, "--skip-registrations", help="Do not create/update/delete GitLab runners."
    ),
) -> int:
    """Deploy environments: validate, package, upload, change set, preview, confirm, execute.

    GitLab runners are created before the stack update and removed ones deleted after it.

    Needs the GitLab token (in the sandbox: its stand-in); --skip-registrations skips it.

    Examples:
      runnerfleet deploy examples/dev.yaml --sandbox
      runnerfleet deploy examples/dev.yaml examples/prod.yaml --yes
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter
    from runnerfleet.envfile import load_environments
    from runnerfleet.ops import deploy as deploy_use_case
    from runnerfleet.ops.deploy import Deploy, deploy_environments

    environments = compose.environments(load_environments(envfiles), sandbox, profile)
    run = Deploy(
        _settings(policy, yes),
        RichReporter(),
        synth=deploy_use_case.fleet_synthesizer(),
        reconcile_runners=not skip_registrations,
    )
    return _finish(deploy_environments(environments, run, _review(yes)), environments)


def _finish(results: list[EnvResult], environments: Sequence[Environment]) -> int:
    from runnerfleet.cli.deploy_render import render_outputs, render_results

    if len(results) == 1 and results[0].error is not None:
        raise results[0].error
    render_results(results)
    targets = {spec.name: target for spec, target in environments}
    for result in results:
        if result.ok:
            render_outputs(result.env, result.outputs, targets[result.env])
    failures = [r.error for r in results if r.error is not None]
    return int(failures[0].exit_code) if failures else 0


def diff(
    envfile: Path = typer.Argument(..., help="Environment file."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    policy: Path | None = POLICY,
) -> int:
    """Show what deploy would change (a change set, deleted afterwards); changes nothing.

    The Lambda artefact is uploaded if absent (its content-addressed key is in the template).
    Example: runnerfleet diff examples/dev.yaml --sandbox
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter, render_preview
    from runnerfleet.envfile import load_environment
    from runnerfleet.envfile.policy import load_policy
    from runnerfleet.ops import deploy as deploy_use_case
    from runnerfleet.ops.deploy import Settings

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    deploy_use_case.diff(
        spec,
        target,
        show=render_preview,
        settings=Settings(policy=load_policy(policy)),  # ROLLBACK_COMPLETE: explained, kept
        reporter=RichReporter(),
        synth=deploy_use_case.fleet_synthesizer(),
    )
    return 0


def status(
    envfile: Path = typer.Argument(..., help="Environment file."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    events: int = typer.Option(10, "--events", help="How many recent stack events to show."),
    output: OutputOption = OutputFormat.TABLE,
) -> int:
    """Show the stack's status, termination protection and its latest events.

    Example: runnerfleet status examples/dev.yaml --sandbox -o json
    """
    from runnerfleet.aws.cloudformation import StackOperations
    from runnerfleet.cli import compose
    from runnerfleet.envfile import load_environment

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    ops = StackOperations(target.clients.client("cloudformation"))
    state = ops.describe(spec.stack)
    if output is OutputFormat.JSON:
        recent = [] if state is None else _recent(ops, state, events)
        print_json(json_docs.status(spec.name, spec.stack, target.label, state, recent))
        return 0
    if state is None:
        out.print(f"{escape(spec.name)}: stack {escape(spec.stack)} is not deployed")
        return 0
    out.print(
        f"{escape(spec.name)}: stack {escape(spec.stack)} [bold]{state.status}[/]"
        + (f" ({escape(state.reason)})" if state.reason else "")
    )
    out.print(f"  where: {escape(target.label)}")
    out.print(f"  termination protection: {'on' if state.termination_protection else 'off'}")
    for event in _recent(ops, state, events):
        out.print(f"  {escape(event.line())}")
    return 0


def _recent(ops: StackOperations, state: StackState, count: int) -> list[StackEvent]:
    return list(reversed(ops.recent_events(state.stack_id, count)))


def outputs(
    envfile: Path = typer.Argument(..., help="Environment file."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    as_json: bool = typer.Option(False, "--json", help="Just the outputs as one JSON object."),
    output: OutputOption = OutputFormat.TABLE,
) -> int:
    """Print the stack's outputs (ASG name, function names, ...).

    Example: runnerfleet outputs examples/dev.yaml --sandbox -o json
    """
    from runnerfleet.aws.cloudformation import StackOperations
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import render_outputs
    from runnerfleet.envfile import load_environment

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)
    values = StackOperations(target.clients.client("cloudformation")).outputs(spec.stack)
    if output is OutputFormat.JSON:
        print_json(json_docs.outputs(spec.name, spec.stack, values))
    elif as_json:
        out.print_json(json.dumps(dict(values), sort_keys=True))
    else:
        render_outputs(spec.name, values, target)
    return 0


def destroy(
    envfile: Path = typer.Argument(..., help="Environment file."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for the stack name."),
    sandbox: SandboxFlag = False,
    profile: str | None = PROFILE,
    disable_protection: bool = typer.Option(
        False, "--disable-protection", help="Turn termination protection off first (production)."
    ),
) -> int:
    """Delete an environment: drain the fleet to zero, delete the stack, prune GitLab runners.

    You confirm by typing the stack name (or pass --yes).
    Example: runnerfleet destroy examples/dev.yaml --sandbox
    """
    from runnerfleet.cli import compose
    from runnerfleet.cli.deploy_render import RichReporter, render_results
    from runnerfleet.envfile import load_environment
    from runnerfleet.ops.deploy import Settings
    from runnerfleet.ops.destroy import destroy as destroy_environment

    spec, target = compose.environment(load_environment(envfile), sandbox, profile)

    result = destroy_environment(
        spec,
        target,
        confirm=lambda stack: typed_name("stack", stack, yes=yes),
        reporter=RichReporter(),
        settings=Settings(),
        disable_protection=disable_protection,
    )
    render_results([result])
    return int(ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command()(deploy)
    app.command()(diff)
    app.command()(status)
    app.command()(outputs)
    app.command()(destroy)
