"""Deploying the access stack through the shared change-set engine (runnerfleet.aws).

The engine does change sets, previews and events; this module adds what is special about the
access stack: a refusal of any change that would replace the endpoint or a SAML provider (our
own schema analysis first, then AWS's change-set answer as a second opinion), and a check
that the IAM provider names are not already taken outside the stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runnerfleet.access.aws_ops import existing_providers
from runnerfleet.access.plan import AccessPlan
from runnerfleet.access.spec import AccessSpec
from runnerfleet.aws.cloudformation import ChangeSet, StackOperations, StackRequest, StackState
from runnerfleet.aws.stackstatus import REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE
from runnerfleet.errors import GuardrailError, SpecError

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
