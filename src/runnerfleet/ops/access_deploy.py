"""``access deploy``: the access stack through the same change-set flow as the fleet.

``runnerfleet.ops.changeset`` does change sets, previews and events; this module adds what is
special about the access stack: everything local is checked first (limits, both metadata
files), group names are resolved, a change that would replace the endpoint or a SAML provider
is refused (our own schema analysis first, then AWS's change-set answer as a second opinion),
the IAM provider names must not be taken outside the stack, and the server certificate and
the network are checked against AWS before any change set exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runnerfleet.access.groups import names_to_resolve
from runnerfleet.access.network import check_network
from runnerfleet.access.plan import AccessPlan, build_plan
from runnerfleet.access.spec import AccessSpec
from runnerfleet.aws.access_vpn import certificate_warnings, describe_network, existing_providers
from runnerfleet.aws.cloudformation import ChangeSet, StackOperations, StackRequest
from runnerfleet.aws.identity import identity_store_id, resolve_groups
from runnerfleet.aws.stackstatus import REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE, StackState
from runnerfleet.errors import CredentialsError, GuardrailError, SpecError
from runnerfleet.files import write_file
from runnerfleet.ops import changeset
from runnerfleet.ops.ports import Reporter
from runnerfleet.ops.target import Target

# Replacing one of these breaks every user's profile (endpoint DNS name) or the trust chain.
PROTECTED_TYPES = frozenset({"AWS::EC2::ClientVpnEndpoint", "AWS::IAM::SAMLProvider"})


@dataclass(frozen=True)
class Current:
    state: StackState | None
    template: dict[str, Any] | None


def current(ops: StackOperations, name: str) -> Current:
    """The deployed stack and template; none for a stack that never finished creating."""
    state = ops.describe(name)
    if state is None or state.status in (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE):
        return Current(state, None)
    template = ops.deployed_template(name)
    return Current(state, template if isinstance(template, dict) else None)


def request_for(plan: AccessPlan, certificate_arn: str) -> StackRequest:
    tags = {"runnerfleet:access": plan.spec.name}
    return StackRequest(plan.stack_name, plan.template, plan.parameters(certificate_arn), tags)


def certificate_arn_for(spec: AccessSpec, option: str | None, state: StackState | None) -> str:
    arn = (
        option
        or spec.server_certificate_arn
        or (state.parameters.get("ServerCertificateArn") if state else None)
    )
    if not arn:
        raise SpecError(
            "no server certificate ARN",
            hint="run `runnerfleet access cert --domain NAME --import`, then pass "
            "--certificate-arn ARN (or set access.server_certificate_arn)",
        )
    return arn


def guard_replacements(plan: AccessPlan, allow: bool) -> None:
    """Refuse before any change set exists, from the resource schemas."""
    protected = [r for r in plan.replaced if r.type in PROTECTED_TYPES]
    if protected and not allow:
        raise GuardrailError(
            "this change would replace "
            + "; ".join(f"{r.logical_id} ({r.reason})" for r in protected)
            + ": the endpoint would get a new DNS name and every user's profile would break",
            hint="undo the change (client_cidr, transport, provider names, tags are fixed at "
            "creation), or pass --allow-replace and hand out new profiles afterwards",
        )


def guard_change_set(change_set: ChangeSet, allow: bool) -> list[str]:
    """AWS's own verdict: protected resources it marks Replacement True/Conditional."""
    hits = [
        f"{c.logical_id} ({c.resource_type}): replacement {c.replacement}"
        for c in change_set.changes
        if c.resource_type in PROTECTED_TYPES and c.replacement in ("True", "Conditional")
    ]
    if hits and not allow:
        raise GuardrailError(
            "the change set would replace " + "; ".join(hits),
            hint="pass --allow-replace if that is intended (users need new profiles)",
        )
    return hits


def guard_name_collisions(iam: Any, spec: AccessSpec, state: StackState | None) -> None:
    """A first create fails late if an IAM provider of the same name exists: say so now."""
    if state is not None and state.status not in (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE):
        return
    names = [spec.saml.vpn_provider_name, spec.saml.portal_provider_name]
    taken = existing_providers(iam, names)
    if taken:
        raise SpecError(
            "IAM SAML provider(s) with these names already exist: " + ", ".join(taken),
            hint="choose other saml.vpn_provider_name/portal_provider_name, or delete the "
            "hand-made providers once nothing uses them",
        )


def resolve_names(
    spec: AccessSpec, overrides: Mapping[str, str], sso_admin: Any, identitystore: Any
) -> dict[str, str]:
    """Display name -> group ID; ``overrides`` first, the identity store for the rest."""
    wanted = [n for n in names_to_resolve(spec) if n not in overrides]
    resolved = dict(overrides)
    if wanted:
        if identitystore is None:
            raise SpecError(
                f"group name(s) {', '.join(wanted)} need resolving to group IDs",
                hint="give AWS credentials for the Identity Center account, or pass "
                "--group 'NAME=ID' for each, or write group_id: in the rules",
            )
        store = spec.identity_store_id or identity_store_id(sso_admin)
        resolved.update(resolve_groups(identitystore, store, wanted))
    return resolved


def identity_clients(target: Target | None) -> tuple[Any, Any]:
    """The SSO admin and identity store clients that resolve group names (None: no AWS)."""
    if target is None:
        return None, None
    try:
        return target.clients.client("sso-admin"), target.clients.client("identitystore")
    except CredentialsError as exc:
        raise CredentialsError(
            f"{exc.message}; they are needed to resolve group names to group IDs",
            hint="pass --group 'NAME=ID' for each rule written by name, or use group_id:",
        ) from exc


def needs_aws_for_names(spec: AccessSpec, overrides: Mapping[str, str]) -> bool:
    return any(n not in overrides for n in names_to_resolve(spec))


def write_template(
    spec: AccessSpec,
    now: dt.datetime,
    overrides: Mapping[str, str],
    target: Target | None,
    path: Path,
) -> AccessPlan:
    """Only the template, to a file: checked and resolved like a deploy, nothing deployed."""
    ids = resolve_names(spec, overrides, *identity_clients(target))
    plan = build_plan(spec, now, ids)
    write_file(path, plan.body)
    return plan


@dataclass(frozen=True)
class AccessDeployed:
    outcome: str  # created, updated, no changes
    status: str
    outputs: Mapping[str, str]
    warnings: tuple[str, ...]


def deploy_access(
    spec: AccessSpec,
    target: Target,
    now: dt.datetime,
    overrides: Mapping[str, str],
    certificate_option: str | None,
    *,
    allow_replace: bool,
    reporter: Reporter,
    confirm: Callable[[ChangeSet, Sequence[str]], bool],
) -> AccessDeployed:
    """Check, plan, then the shared change-set flow; ``confirm`` sees the change set and the
    warnings (it renders the preview and asks)."""
    clients = target.clients
    stacks = StackOperations(
        clients.client("cloudformation"),
        resolves_ssm_parameters=target.capabilities.resolves_ssm_parameters,
    )
    ids = resolve_names(spec, overrides, *identity_clients(target))
    deployed = current(stacks, spec.name)
    plan = build_plan(spec, now, ids, deployed.template)
    warnings = list(plan.warnings)
    guard_replacements(plan, allow_replace)
    guard_name_collisions(clients.client("iam"), spec, deployed.state)
    arn = certificate_arn_for(spec, certificate_option, deployed.state)
    warnings += certificate_warnings(clients.client("acm"), arn, now)
    subnet_ids = [s.id for s in spec.subnets]
    facts = describe_network(clients.client("ec2"), spec.vpc_id, subnet_ids)
    check_network(spec, facts.vpc_cidrs, facts.subnets)
    request = request_for(plan, arn)

    def guard(change_set: ChangeSet) -> None:
        warnings.extend(guard_change_set(change_set, allow_replace))

    result = changeset.deploy_stack(
        stacks,
        request,
        deployed.state,
        env=spec.name,
        reporter=reporter,
        confirm=lambda change_set: confirm(change_set, warnings),
        guard=guard,
    )
    final = result.state
    status = final.status if final else "not deployed"
    return AccessDeployed(result.outcome, status, final.outputs if final else {}, tuple(warnings))
