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
from typing import Any

import click
import typer
from rich.markup import escape

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.aws.cloudformation import StackOperations, StackState
from runnerfleet.aws.deploy import (
    EnvResult,
    Prepared,
    Settings,
    cancel,
    execute,
    failed,
    package_code,
    prepare,
    run_parallel,
)
from runnerfleet.aws.destroy import destroy as destroy_stack
from runnerfleet.aws.stackstatus import StackEvent
from runnerfleet.cli import deploy_hooks
from runnerfleet.cli.console import emulated_banner, err, out
from runnerfleet.cli.deploy_render import (
    RichReporter,
    render_outputs,
    render_preview,
    render_results,
)
from runnerfleet.envfile import load_environment, load_environments
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.policy import load_policy
from runnerfleet.errors import AbortedError, ExitCode, RunnerfleetError
from runnerfleet.sandbox.emulator import rewrite_notes, sandbox_spec
from runnerfleet.sandbox.state import require_running

Target = tuple[FleetSpec, ClientFactory]

SANDBOX = typer.Option(
    False, "--sandbox", help="Use the embedded AWS emulator (start it: runnerfleet sandbox start)."
)
PROFILE = typer.Option(None, "--profile", help="AWS CLI profile (overrides aws.profile).")
POLICY = typer.Option(None, "--policy", help="Organisation policy file for the guardrails.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask; execute the change sets.")


def targets(specs: Sequence[FleetSpec], sandbox: bool, profile: str | None) -> list[Target]:
    """Each environment with its own client factory (own account, region and role)."""
    if not sandbox:
        return [(spec, ClientFactory(_aws_target(spec, profile))) for spec in specs]
    state = require_running()
    emulated_banner(state.endpoint)
    result = []
    for spec in specs:
        err.print(f"[yellow]{escape(spec.name)}: rewritten for the sandbox (sandbox_spec):[/]")
        for note in rewrite_notes(spec, state):
            err.print(f"  [yellow]{escape(note)}[/]")
        target = AwsTarget(region=state.region, endpoint_url=state.endpoint, max_attempts=2)
        result.append((sandbox_spec(spec, state), ClientFactory(target)))
    return result


def _aws_target(spec: FleetSpec, profile: str | None) -> AwsTarget:
    return AwsTarget(
        region=spec.aws.region,
        profile=profile or spec.aws.profile,
        role_arn=spec.aws.role_arn,
        expected_account=spec.aws.account_id,
    )


def _settings(policy: Path | None, yes: bool) -> Settings:
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


def deploy(
    envfiles: list[Path] = typer.Argument(..., help="Environment files; several run in parallel."),
    yes: bool = YES,
    sandbox: bool = SANDBOX,
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
    specs = load_environments(envfiles)
    run = _DeployRun(_settings(policy, yes), sandbox, skip_registrations)
    pairs = targets(specs, sandbox, profile)
    prepared = run_parallel(pairs, run.prepare)
    ready = [p for p in prepared if isinstance(p, Prepared)]
    for item in ready:
        render_preview(item)
    pending = [p for p in ready if run.has_changes(p)]
    if (
        pending
        and not yes
        and not click.confirm(f"Execute the changes of {len(pending)} environment(s)?")
    ):
        for item in pending:
            cancel(item)
        raise AbortedError("deploy cancelled: change sets deleted, nothing changed")
    with run.reporter.live():
        executed = run_parallel(ready, run.execute)
    return _finish(_merge(pairs, prepared, executed), pairs)


class _DeployRun:
    """One deploy run: shared artefact, reporter and the GitLab plans per environment."""

    def __init__(self, settings: Settings, sandbox: bool, skip_registrations: bool) -> None:
        self.settings, self.sandbox, self.skip = settings, sandbox, skip_registrations
        self.reporter = RichReporter()
        self.synth, self.code = deploy_hooks.synthesizer(), package_code()
        self.syncs: dict[str, Any] = {}

    def prepare(self, target: Target) -> Prepared:
        spec, factory = target
        item = prepare(
            spec,
            factory,
            synth=self.synth,
            code=self.code,
            reporter=self.reporter,
            settings=self.settings,
        )
        if self.skip:
            return item
        try:
            self.syncs[spec.name] = deploy_hooks.plan_registrations(
                spec, factory, self.sandbox, self.reporter
            )
        except RunnerfleetError:
            cancel(item)  # no change set is left behind
            raise
        return item

    def has_changes(self, item: Prepared) -> bool:
        sync = self.syncs.get(item.env)
        return item.change_set is not None or bool(sync is not None and sync.plan.changes)

    def execute(self, item: Prepared) -> EnvResult:
        sync = self.syncs.get(item.env)
        deploy_hooks.registrations_before(sync, item.env, self.reporter)
        result = execute(item, self.reporter)
        deploy_hooks.refresh_for_new_tokens(sync, item, self.sandbox, self.reporter)
        deploy_hooks.registrations_after(sync, item.env, self.reporter)
        return result


def _merge(
    pairs: Sequence[Target],
    prepared: Sequence[Prepared | RunnerfleetError],
    executed: Sequence[EnvResult | RunnerfleetError],
) -> list[EnvResult]:
    """One result per environment, in the order given, failures included."""
    done = iter(executed)
    results = []
    for (spec, factory), prep in zip(pairs, prepared, strict=True):
        outcome = prep if isinstance(prep, RunnerfleetError) else next(done)
        results.append(
            failed(spec, factory, outcome) if isinstance(outcome, RunnerfleetError) else outcome
        )
    return results


def _finish(results: list[EnvResult], pairs: Sequence[Target]) -> int:
    if len(results) == 1 and results[0].error is not None:
        raise results[0].error
    render_results(results)
    by_env = {spec.name: (spec, factory) for spec, factory in pairs}
    for result in results:
        if result.ok:
            _spec, factory = by_env[result.env]
            render_outputs(result.env, result.outputs, factory.target.emulated)
    failures = [r.error for r in results if r.error is not None]
    return int(failures[0].exit_code) if failures else 0


def diff(
    envfile: Path = typer.Argument(..., help="Environment file."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
    policy: Path | None = POLICY,
) -> int:
    """Show what deploy would change (a change set, deleted afterwards); changes nothing.

    The Lambda artefact is uploaded if absent (its content-addressed key is in the template).
    Example: runnerfleet diff examples/dev.yaml --sandbox
    """
    spec, factory = targets([load_environment(envfile)], sandbox, profile)[0]
    item = prepare(
        spec,
        factory,
        synth=deploy_hooks.synthesizer(),
        code=package_code(),
        reporter=RichReporter(),
        settings=Settings(policy=load_policy(policy)),  # ROLLBACK_COMPLETE: explained, kept
    )
    render_preview(item)
    cancel(item)
    return 0


def status(
    envfile: Path = typer.Argument(..., help="Environment file."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
    events: int = typer.Option(10, "--events", help="How many recent stack events to show."),
) -> int:
    """Show the stack's status, termination protection and its latest events.

    Example: runnerfleet status examples/dev.yaml --sandbox
    """
    spec, factory = targets([load_environment(envfile)], sandbox, profile)[0]
    ops = StackOperations(factory.client("cloudformation"))
    state = ops.describe(spec.stack)
    if state is None:
        out.print(f"{escape(spec.name)}: stack {escape(spec.stack)} is not deployed")
        return 0
    out.print(
        f"{escape(spec.name)}: stack {escape(spec.stack)} [bold]{state.status}[/]"
        + (f" ({escape(state.reason)})" if state.reason else "")
    )
    out.print(f"  where: {escape(factory.target.label())}")
    out.print(f"  termination protection: {'on' if state.termination_protection else 'off'}")
    for event in _recent(ops, state, events):
        out.print(f"  {escape(event.line())}")
    return 0


def _recent(ops: StackOperations, state: StackState, count: int) -> list[StackEvent]:
    return list(reversed(ops.recent_events(state.stack_id, count)))


def outputs(
    envfile: Path = typer.Argument(..., help="Environment file."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object instead of a table."),
) -> int:
    """Print the stack's outputs (ASG name, function names, ...).

    Example: runnerfleet outputs examples/dev.yaml --sandbox --json
    """
    spec, factory = targets([load_environment(envfile)], sandbox, profile)[0]
    values = StackOperations(factory.client("cloudformation")).outputs(spec.stack)
    if as_json:
        out.print_json(json.dumps(dict(values), sort_keys=True))
    else:
        render_outputs(spec.name, values, factory.target.emulated)
    return 0


def destroy(
    envfile: Path = typer.Argument(..., help="Environment file."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for the stack name."),
    sandbox: bool = SANDBOX,
    profile: str | None = PROFILE,
    disable_protection: bool = typer.Option(
        False, "--disable-protection", help="Turn termination protection off first (production)."
    ),
) -> int:
    """Delete an environment: drain the fleet to zero, delete the stack, prune GitLab runners.

    You confirm by typing the stack name (or pass --yes).
    Example: runnerfleet destroy examples/dev.yaml --sandbox
    """
    spec, factory = targets([load_environment(envfile)], sandbox, profile)[0]
    reporter = RichReporter()

    def confirm(stack: str) -> bool:
        if yes:
            return True
        typed = click.prompt(
            f"Type the stack name ({stack}) to delete it", default="", show_default=False
        )
        return bool(typed.strip() == stack)

    result = destroy_stack(
        spec,
        factory,
        confirm=confirm,
        reporter=reporter,
        settings=Settings(),
        steps=deploy_hooks.destroy_steps(spec, factory, sandbox, reporter),
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
