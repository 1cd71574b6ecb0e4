"""Organisation-wide rollout: one environment file deployed through a CloudFormation StackSet.

``preview`` says which stack instances would be created, updated and deleted; ``deploy``
creates or updates the stack set, then changes its instances, reporting each account and
region as its status changes; ``destroy`` deletes every stack instance first and the stack
set last. Runner registration is not part of it: each account's runner tokens stay in that
account's SSM, registered as for a single-account environment.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.aws.artifacts import (
    INLINE_TEMPLATE_LIMIT,
    Artefact,
    artefact_key,
    cached_zip,
    template_url,
    upload_if_absent,
)
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.cloudformation import template_body
from runnerfleet.aws.organization import unknown_units
from runnerfleet.aws.stacksets import (
    InstanceCall,
    ProgressSink,
    SetDefinition,
    StackInstance,
    StackSets,
)
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.organisation import OrganisationSection
from runnerfleet.errors import RunnerfleetError, SpecError
from runnerfleet.findings import Finding
from runnerfleet.ops import stackset_plan as plan
from runnerfleet.ops.stackset_plan import Batch, InstanceChange


@dataclass(frozen=True)
class StackSetPreview:
    definition: SetDefinition
    exists: bool
    set_changed: bool  # template, parameters or permissions differ: every instance updates
    changes: tuple[InstanceChange, ...]
    unchanged: int

    @property
    def has_changes(self) -> bool:
        return not self.exists or self.set_changed or bool(self.changes)

    def lines(self) -> list[str]:
        name = self.definition.name
        head = f"stack set {name}: template and parameters unchanged"
        if not self.exists:
            head = f"stack set {name}: create"
        elif self.set_changed:
            head = f"stack set {name}: template or parameters changed, every instance updates"
        rest = [change.describe() for change in self.changes]
        return [head, *rest, f"{self.unchanged} stack instance(s) unchanged"]


def organisation_of(spec: FleetSpec) -> OrganisationSection:
    if spec.organisation is None:
        raise SpecError(
            f"environment {spec.name} has no organisation: section",
            hint="add organisation: (docs/deploy.md, StackSets) or deploy without StackSets",
        )
    return spec.organisation


def definition(
    spec: FleetSpec, template: Mapping[str, Any], parameters: Mapping[str, str]
) -> SetDefinition:
    org = organisation_of(spec)
    service = org.permission_model == "service_managed"
    auto = org.auto_deployment
    return SetDefinition(
        name=set_name(spec),
        template_body=template_body(template),
        parameters=parameters,
        permission_model="SERVICE_MANAGED" if service else "SELF_MANAGED",
        preferences=plan.preferences(org),
        auto_deployment={
            "Enabled": auto.enabled,
            "RetainStacksOnAccountRemoval": auto.retain_stacks_on_account_removal,
        }
        if service
        else None,
        administration_role_arn=org.administration_role_arn,
        execution_role_name=None if service else org.execution_role_name,
        tags={**spec.tags, "runnerfleet:environment": spec.name},
    )


def set_name(spec: FleetSpec) -> str:
    return organisation_of(spec).stack_set_name or spec.stack


def refuse(problems: Sequence[Finding]) -> None:
    """Bad input stops here, before any call, with every problem and its fix."""
    if problems:
        raise SpecError(
            "the StackSet deploy is refused",
            problems=[p.render() for p in problems],
            hint="fix the keys named above and run again",
        )


def preview(
    spec: FleetSpec,
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
    sets: StackSets,
    others: Sequence[tuple[str, FleetSpec]] = (),
) -> StackSetPreview:
    org = organisation_of(spec)
    refuse([*plan.override_problems(org, template), *plan.overlap_problems(spec, others)])
    wanted_set = definition(spec, template, parameters)
    deployed = sets.describe(wanted_set.name)
    if deployed is None:
        changes = plan.instance_changes(plan.targets(org), {})
        return StackSetPreview(wanted_set, False, True, tuple(changes), 0)
    current = _deployed_scopes(org, sets, wanted_set.name, sets.instances(wanted_set.name))
    changes = plan.instance_changes(plan.targets(org), current)
    changed = _canonical(deployed.template_body) != _canonical(wanted_set.template_body) or dict(
        deployed.parameters
    ) != dict(parameters)
    unchanged = len(current) - sum(1 for c in changes if c.action != "create")
    return StackSetPreview(wanted_set, True, changed, tuple(changes), unchanged)


def deploy(preview_: StackSetPreview, sets: StackSets, on_progress: ProgressSink) -> None:
    """Carry out a preview: the stack set first, then its instances, one operation at a time."""
    wanted = preview_.definition
    if not preview_.exists:
        sets.create_set(wanted)
    elif preview_.set_changed:
        sets.update_set(wanted, on_progress)
    for batch in plan.batches(preview_.changes):
        _run(batch, wanted, sets, on_progress)


def destroy(spec: FleetSpec, sets: StackSets, on_progress: ProgressSink) -> int | None:
    """Delete every stack instance, then the stack set: how many instances were deleted
    (None: there is no such stack set)."""
    org, name = organisation_of(spec), set_name(spec)
    if sets.describe(name) is None:
        return None
    current = _deployed_scopes(org, sets, name, sets.instances(name), with_overrides=False)
    changes = plan.instance_changes({}, current)
    defined = definition(spec, {}, {})
    for batch in plan.batches(changes):
        _run(batch, defined, sets, on_progress)
    sets.delete_set(name)
    return len(changes)


def _run(batch: Batch, wanted: SetDefinition, sets: StackSets, on_progress: ProgressSink) -> None:
    call = InstanceCall(
        _targets(wanted, batch.scopes), [batch.region], batch.overrides, wanted.preferences
    )
    sets.change_instances(batch.action, wanted.name, call, on_progress)


def _targets(wanted: SetDefinition, scopes: Sequence[str]) -> dict[str, Any]:
    if wanted.permission_model == "SERVICE_MANAGED":
        return {"DeploymentTargets": {"OrganizationalUnitIds": list(scopes)}}
    return {"Accounts": list(scopes)}


def _deployed_scopes(
    org: OrganisationSection,
    sets: StackSets,
    name: str,
    instances: Sequence[StackInstance],
    *,
    with_overrides: bool = True,
) -> dict[plan.Scope, dict[str, str]]:
    """(scope, region) -> the overrides deployed; an OU's accounts collapse into the OU."""
    service = org.permission_model == "service_managed"
    scopes: dict[plan.Scope, dict[str, str]] = {}
    for instance in instances:
        scope = instance.organizational_unit if service else instance.key.account
        key = (scope or instance.key.account, instance.key.region)
        if key not in scopes:
            scopes[key] = sets.overrides(name, instance.key) if with_overrides else {}
    return scopes


def _canonical(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


CodeBuilder = Callable[[], tuple[bytes, str]]


def prepare(
    spec: FleetSpec,
    clients: ClientFactory,
    others: Sequence[tuple[str, FleetSpec]] = (),
    code: CodeBuilder = cached_zip,
    sets: Callable[[], StackSets] | None = None,
) -> StackSetPreview:
    """Refuse bad input (organisational units are looked up in AWS Organizations first: read
    only), upload the Lambda code (and a template over the inline limit) to the
    artefact bucket as a single-account deploy does, and preview the StackSet."""
    from runnerfleet.stack import params
    from runnerfleet.stack.template import synthesize

    template, org = synthesize(spec), organisation_of(spec)
    missing: list[str] | None = []
    if org.permission_model == "service_managed":
        missing = unknown_units(clients.client("organizations"), org.organizational_units)
    refuse(
        [
            *plan.override_problems(org, template),
            *plan.overlap_problems(spec, others),
            *plan.unit_problems(org, missing or []),
        ]
    )
    s3, bucket = clients.client("s3"), spec.artifacts.bucket
    data, digest = code()
    artefact = Artefact(data, digest, bucket, artefact_key(spec.artifacts.prefix, digest))
    upload_if_absent(s3, artefact)
    stacksets = sets() if sets else StackSets(clients.client("cloudformation"))
    result = preview(spec, template, params.parameter_values(spec, artefact.key), stacksets, others)
    body = result.definition.template_body
    if len(body.encode()) <= INLINE_TEMPLATE_LIMIT:
        return result
    url = template_url(
        s3, bucket=bucket, prefix=spec.artifacts.prefix, stack=spec.stack, body=body,
        region=clients.target.region,
    )  # fmt: skip
    return dataclasses.replace(
        result, definition=dataclasses.replace(result.definition, template_url=url)
    )


def sibling_environments(path: Path) -> list[tuple[str, FleetSpec]]:
    """The other environment files next to ``path`` (files that do not load are skipped:
    they are someone else's problem, or not environment files)."""
    from runnerfleet.envfile import load_environment

    found = []
    for other in sorted([*path.parent.glob("*.yaml"), *path.parent.glob("*.yml")]):
        if other.resolve() == path.resolve():
            continue
        try:
            found.append((str(other), load_environment(other)))
        except RunnerfleetError:
            continue
    return found
