"""GitLab runner registrations reconciled around a stack update (what ``deploy`` runs).

    sync = plan(spec, target, reporter)        # reads SSM and GitLab, changes nothing
    before(sync, env, reporter)                # create/update runners, tokens into SSM
    ... the change set runs; new instances register, old ones drain through the hook ...
    after(sync, env, reporter, refresh)        # delete removed/replaced runners and tokens

Creating first means a new instance always finds its token; deleting last means an old instance
never loses a runner while it still runs jobs for it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from runnerfleet.aws.fleet_resources import find_fleet
from runnerfleet.aws.refresh import InstanceRefresh
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SandboxError
from runnerfleet.gitlab.apply import (
    ApplyReport,
    Registrar,
    apply_registration_plan,
    gather_existing,
)
from runnerfleet.gitlab.client import connect
from runnerfleet.gitlab.registry import RegistrationPlan, desired_from_spec, plan_registrations
from runnerfleet.gitlab.tokens import StoredToken, TokenStore
from runnerfleet.ops.ports import Reporter
from runnerfleet.ops.target import Target

REFRESH_MIN_HEALTHY = 90  # the instance refresh API's own default


@dataclass
class RegistrationSync:
    registrar: Registrar
    plan: RegistrationPlan


def registrar_for(
    spec: FleetSpec,
    target: Target,
    *,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda message: None,
    progress: Callable[[str], None] = lambda message: None,
) -> Registrar:
    """A ``Registrar`` for ``spec`` on ``target``: its GitLab and API token, the SSM store under
    the stack's path. ``environ`` holds the registrations' token variables."""
    gitlab = target.gitlab
    if not gitlab.reachable:
        raise SandboxError(
            f"GitLab is not reachable here: {gitlab.unavailable}",
            hint="or pass --gitlab-url http://127.0.0.1:PORT",
        )
    ssm = target.clients.client("ssm")
    return Registrar(
        gl=connect(gitlab.url, gitlab.token(ssm)),
        url=gitlab.url,
        store=TokenStore(ssm, spec.ssm_path, spec.kms_key_id),
        stack=spec.stack,
        environment=spec.name,
        environ=dict(os.environ if environ is None else environ),
        warn=warn,
        progress=progress,
    )


def prepare_registrations(
    spec: FleetSpec,
    target: Target,
    *,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda message: None,
    progress: Callable[[str], None] = lambda message: None,
) -> RegistrationSync:
    """Plan only: reads SSM and GitLab, changes nothing."""
    registrar = registrar_for(spec, target, environ=environ, warn=warn, progress=progress)
    return RegistrationSync(
        registrar, plan_registrations(desired_from_spec(spec), gather_existing(registrar))
    )


def plan(spec: FleetSpec, target: Target, reporter: Reporter) -> RegistrationSync | None:
    """The registration plan for a deploy, or None when there is nothing GitLab could do."""
    if not spec.registrations:
        return None
    if not target.gitlab.reachable:
        reporter.step(spec.name, f"gitlab registrations: skipped ({target.gitlab.unavailable})")
        return None
    sync = prepare_registrations(
        spec,
        target,
        warn=lambda m: reporter.step(spec.name, f"gitlab warning: {m}"),
        progress=lambda m: reporter.step(spec.name, f"gitlab: {m}"),
    )
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(sync.plan.summary().items()))
    reporter.step(spec.name, f"gitlab registrations: plan {summary or 'nothing to do'}")
    return sync


def before_stack_update(sync: RegistrationSync) -> ApplyReport:
    return apply_registration_plan(sync.plan, sync.registrar, phase="pre")


def after_instances_refreshed(sync: RegistrationSync, *, refreshing: bool = False) -> ApplyReport:
    """Deletes what the file removed; replaced runners stay while a refresh still needs them."""
    return apply_registration_plan(
        sync.plan, sync.registrar, phase="post", keep_replaced=refreshing
    )


def before(sync: RegistrationSync | None, env: str, reporter: Reporter) -> None:
    if sync is None:
        return
    report = before_stack_update(sync)
    created, updated = len(report.created), len(report.updated)
    reporter.step(env, f"gitlab registrations: {created} created, {updated} updated")


def after(
    sync: RegistrationSync | None, env: str, reporter: Reporter, refresh: str | None = None
) -> None:
    if sync is None:
        return
    report = after_instances_refreshed(sync, refreshing=refresh is not None)
    if report.deleted:
        reporter.step(env, f"gitlab registrations: {len(report.deleted)} removed runner(s) deleted")
    for name, runner_id in report.kept:
        reporter.step(
            env,
            f"gitlab registrations: replaced runner {runner_id} of {name} kept while instance "
            f"refresh {refresh} replaces the instances that use it; afterwards "
            "`runnerfleet runners prune ENVFILE --apply` deletes it",
        )


def refresh_for_new_tokens(
    sync: RegistrationSync | None, spec: FleetSpec, target: Target, reporter: Reporter
) -> str | None:
    """A runner re-created under the same name has a new token but the same user data, so no
    rolling update follows: refresh the instances so that they register with the new token.
    Returns the refresh id, or None when nothing needed one."""
    if sync is None or not sync.plan.of("recreate", "replace"):
        return None
    if not target.capabilities.instance_refresh:
        reporter.step(spec.name, "instance refresh for new runner tokens: skipped (not emulated)")
        return None
    clients = target.clients
    group = find_fleet(clients.client("cloudformation"), clients.client("events"), spec.stack)
    refresh_id = InstanceRefresh(clients.client("autoscaling")).start(
        group.group, min_healthy=REFRESH_MIN_HEALTHY
    )
    reporter.step(
        spec.name,
        f"instance refresh {refresh_id} started so the instances take the new runner tokens; "
        "each old instance drains first (follow it: runnerfleet status ENVFILE)",
    )
    return refresh_id


def registrations_digest(stored: list[StoredToken]) -> str:
    """A non-secret digest of which runner each registration uses (names and runner ids).

    Put it in the launch template (a tag or a user-data comment): when a runner is created,
    replaced or removed, the template changes and the rolling refresh replaces the instances.
    """
    lines = sorted(f"{s.name}={s.runner_id or s.fingerprint}" for s in stored)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
