"""Where the deploy commands meet the other parts of runnerfleet: synthesis, GitLab, draining.

Kept apart from the commands so that each link is one small function, and tests can swap a
link (e.g. a small template instead of the full synthesis) without patching the commands.

GitLab runner registrations are reconciled around the stack update (create before, delete
after) when the environment has registrations and GitLab is reachable: on real AWS always
(unless --skip-registrations), in the sandbox only when it runs a GitLab stand-in.
"""

from __future__ import annotations

import time
from typing import Any

from runnerfleet.aws.artifacts import Artefact
from runnerfleet.aws.awscall import aws_call
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.deploy import Prepared, RenderedStack, Reporter, Synthesizer
from runnerfleet.aws.destroy import DestroySteps
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.sandbox.state import load as load_sandbox

DRAIN_MARGIN_S = 300  # on top of the longest drain plus one hook timeout
REFRESH_MIN_HEALTHY = 90  # the instance refresh API's own default


def synthesizer() -> Synthesizer:
    """FleetSpec + Lambda artefact -> template and parameters, from runnerfleet.stack."""
    from runnerfleet.stack import params
    from runnerfleet.stack.template import synthesize

    def synth(spec: FleetSpec, artefact: Artefact) -> RenderedStack:
        return RenderedStack(
            template=synthesize(spec), parameters=params.parameter_values(spec, artefact.key)
        )

    return synth


def gitlab_reachable(sandbox: bool) -> str | None:
    """None when registrations can be reconciled; otherwise why they are skipped."""
    if not sandbox:
        return None
    running = load_sandbox()
    if running is None or not running.gitlab_url:
        return "the sandbox runs no GitLab stand-in"
    return None


def plan_registrations(
    spec: FleetSpec, factory: ClientFactory, sandbox: bool, reporter: Reporter
) -> Any | None:
    """The registration plan (reads GitLab and SSM, changes nothing), or None when skipped."""
    if not spec.registrations:
        return None
    skipped = gitlab_reachable(sandbox)
    if skipped:
        reporter.step(spec.name, f"gitlab registrations: skipped ({skipped})")
        return None
    from runnerfleet.gitlab.reconcile import prepare_registrations

    sync = prepare_registrations(
        spec,
        factory,
        sandbox=sandbox,
        warn=lambda m: reporter.step(spec.name, f"gitlab warning: {m}"),
        progress=lambda m: reporter.step(spec.name, f"gitlab: {m}"),
    )
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(sync.plan.summary().items()))
    reporter.step(spec.name, f"gitlab registrations: plan {summary or 'nothing to do'}")
    return sync


def registrations_before(sync: Any | None, env: str, reporter: Reporter) -> None:
    if sync is None:
        return
    from runnerfleet.gitlab.reconcile import before_stack_update

    report = before_stack_update(sync)
    created, updated = len(report.created), len(report.updated)
    reporter.step(env, f"gitlab registrations: {created} created, {updated} updated")


def registrations_after(sync: Any | None, env: str, reporter: Reporter) -> None:
    if sync is None:
        return
    from runnerfleet.gitlab.reconcile import after_instances_refreshed

    report = after_instances_refreshed(sync)
    if report.deleted:
        reporter.step(env, f"gitlab registrations: {len(report.deleted)} removed runner(s) deleted")


def refresh_for_new_tokens(
    sync: Any | None, item: Prepared, sandbox: bool, reporter: Reporter
) -> str | None:
    """A runner re-created under the same name has a new token but the same user data, so no
    rolling update follows: refresh the instances so that they register with the new token.
    Returns the refresh id, or None when nothing needed one."""
    if sync is None or not sync.plan.of("recreate", "replace"):
        return None
    if sandbox:
        reporter.step(item.env, "instance refresh for new runner tokens: skipped (not emulated)")
        return None
    from runnerfleet.aws.fleet_resources import find_fleet
    from runnerfleet.aws.refresh import InstanceRefresh

    factory = item.factory
    group = find_fleet(factory.client("cloudformation"), factory.client("events"), item.spec.stack)
    refresh_id = InstanceRefresh(factory.client("autoscaling")).start(
        group.group, min_healthy=REFRESH_MIN_HEALTHY
    )
    reporter.step(
        item.env,
        f"instance refresh {refresh_id} started so the instances take the new runner tokens; "
        "each old instance drains first (follow it: runnerfleet status ENVFILE)",
    )
    return refresh_id


def destroy_steps(
    spec: FleetSpec, factory: ClientFactory, sandbox: bool, reporter: Reporter
) -> DestroySteps:
    """Drain first (always), prune GitLab last (when GitLab is reachable)."""
    prune = None if gitlab_reachable(sandbox) else (lambda: _prune(spec, factory, sandbox))
    return DestroySteps(drain=lambda: _drain(spec, factory, sandbox, reporter), prune=prune)


def _drain(spec: FleetSpec, factory: ClientFactory, sandbox: bool, reporter: Reporter) -> str:
    from runnerfleet.aws.fleet_drain import drain_fleet_to_zero
    from runnerfleet.aws.lifecycle_ssm import ActionRecords

    if not _has_group(factory.client("cloudformation"), spec.stack):
        return "the stack holds no Auto Scaling group: nothing to drain"
    result = drain_fleet_to_zero(
        cloudformation=factory.client("cloudformation"),
        autoscaling=factory.client("autoscaling"),
        events=factory.client("events"),
        stack=spec.stack,
        now=time.monotonic,
        sleep=time.sleep,
        timeout_s=spec.drain.max_drain_s + spec.drain.heartbeat_timeout_s + DRAIN_MARGIN_S,
        poll_s=1.0 if sandbox else 15.0,
        on_progress=lambda p: reporter.step(spec.name, p.line()),
    )
    if result.already_gone:
        return "the stack is already gone"
    # the handlers' dedupe records are no stack resource: they go with the fleet
    ActionRecords(factory.client("ssm"), f"{spec.ssm_path}/drain-actions").prune(
        older_than=time.time() + 1, limit=10_000
    )
    return f"group {result.group} is empty after {result.elapsed_s:.0f} s"


def _has_group(cloudformation: Any, stack: str) -> bool:
    """A stack whose creation failed (ROLLBACK_COMPLETE) has no group left to drain."""
    resources = aws_call(
        lambda: cloudformation.describe_stack_resources(StackName=stack)["StackResources"],
        f"list the resources of {stack}",
    )
    return any(r.get("ResourceType") == "AWS::AutoScaling::AutoScalingGroup" for r in resources)


def _prune(spec: FleetSpec, factory: ClientFactory, sandbox: bool) -> str:
    from runnerfleet.gitlab.inventory import apply_prune, collect, find_orphans, plan_prune
    from runnerfleet.gitlab.reconcile import registrar_for
    from runnerfleet.gitlab.registry import desired_from_spec

    registrar = registrar_for(spec, factory, sandbox=sandbox)
    desired, stored = desired_from_spec(spec), registrar.store.list()
    views = collect(registrar, desired, stored, [])  # the stack is gone: no live instance
    plan = plan_prune(views, find_orphans(registrar, desired, views, stored))
    report = apply_prune(plan, registrar)
    failed = f", {len(report.failures)} failed" if report.failures else ""
    return (
        f"{report.managers_removed} manager(s), {report.runners_removed} runner(s) removed{failed}"
    )
