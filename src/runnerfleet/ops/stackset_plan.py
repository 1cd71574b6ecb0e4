"""What a StackSet deploy would do: the targets an ``organisation:`` section names, the
parameter overrides of each, and the stack instances to create, update and delete. Pure.

A target is a (scope, region) pair: the scope is an account (self-managed) or an
organisational unit (service-managed, whose accounts AWS Organizations resolves). Overrides
merge from the least to the most specific: region, then account, then account and region.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.envfile.organisation import OrganisationSection
from runnerfleet.findings import Finding, error
from runnerfleet.stack.params import CODE_KEY

Action = Literal["create", "update", "delete"]
Scope = tuple[str, str]  # (account or OU, region)


@dataclass(frozen=True, slots=True)
class InstanceChange:
    action: Action
    scope: str  # account id or OU id
    region: str
    overrides: Mapping[str, str]

    def describe(self) -> str:
        extra = f" with {_pairs(self.overrides)}" if self.overrides else ""
        return f"{self.action} {self.scope}/{self.region}{extra}"


def targets(org: OrganisationSection) -> dict[Scope, dict[str, str]]:
    """Every (scope, region) the section deploys to, with its parameter overrides."""
    scopes = org.accounts if org.permission_model == "self_managed" else org.organizational_units
    return {
        (scope, region): overrides_for(org, scope, region)
        for scope in scopes
        for region in org.regions
    }


def overrides_for(org: OrganisationSection, scope: str, region: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    ranked = sorted(org.overrides, key=lambda o: (o.account is not None, o.region is not None))
    for override in ranked:
        if override.region not in (None, region) or override.account not in (None, scope):
            continue
        merged.update(override.parameters)
    return merged


def unit_problems(org: OrganisationSection, missing: Sequence[str]) -> list[Finding]:
    """The organisational units the organisation does not have, each at its key."""
    return [
        error(
            "stackset.unit",
            f"organisational unit {unit} is not in this organisation",
            "check the id (aws organizations list-organizational-units-for-parent "
            "--parent-id ROOT_ID lists them), and deploy from the management account or the "
            "delegated administrator of that organisation",
            f"organisation.organizational_units[{index}]",
        )
        for index, unit in enumerate(org.organizational_units)
        if unit in missing
    ]


def override_problems(org: OrganisationSection, template: Mapping[str, Any]) -> list[Finding]:
    """Overrides of parameters the template does not have (or that deploy sets itself)."""
    known = set(template.get("Parameters", {})) - {CODE_KEY}
    problems = []
    for index, override in enumerate(org.overrides):
        for key in sorted(set(override.parameters) - known):
            problems.append(
                error(
                    "stackset.override",
                    f"{key} is not a parameter the fleet template lets you override",
                    f"use one of {', '.join(sorted(known)) or '(none)'}",
                    f"organisation.overrides[{index}].parameters.{key}",
                )
            )
    return problems


def instance_changes(
    wanted: Mapping[Scope, Mapping[str, str]], deployed: Mapping[Scope, Mapping[str, str]]
) -> list[InstanceChange]:
    """Create what is wanted and absent, update what has other overrides, delete the rest."""
    changes = [
        InstanceChange("create", scope, region, dict(values))
        for (scope, region), values in sorted(wanted.items())
        if (scope, region) not in deployed
    ]
    changes += [
        InstanceChange("update", scope, region, dict(values))
        for (scope, region), values in sorted(wanted.items())
        if (scope, region) in deployed and dict(deployed[scope, region]) != dict(values)
    ]
    changes += [
        InstanceChange("delete", scope, region, {})
        for scope, region in sorted(deployed)
        if (scope, region) not in wanted
    ]
    return changes


@dataclass(frozen=True, slots=True)
class Batch:
    """One StackSet call: an action over scopes in one region with the same overrides."""

    action: Action
    region: str
    scopes: tuple[str, ...]
    overrides: Mapping[str, str]


def batches(changes: Iterable[InstanceChange]) -> list[Batch]:
    """Changes grouped into as few calls as the API allows (it takes scopes x regions with
    one set of overrides), creates first, deletes last."""
    grouped: dict[tuple[Action, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for change in changes:
        key = (change.action, change.region, tuple(sorted(change.overrides.items())))
        grouped.setdefault(key, []).append(change.scope)
    order = {"create": 0, "update": 1, "delete": 2}
    return [
        Batch(action, region, tuple(scopes), dict(overrides))
        for (action, region, overrides), scopes in sorted(
            grouped.items(), key=lambda item: (order[item[0][0]], item[0][1], item[0][2])
        )
    ]


def preferences(org: OrganisationSection) -> dict[str, Any]:
    """OperationPreferences from ``organisation.concurrency`` (AWS's defaults when unset)."""
    c = org.concurrency
    chosen = {
        "RegionConcurrencyType": c.region_concurrency.upper(),
        "RegionOrder": list(org.regions),
        "MaxConcurrentCount": c.max_concurrent,
        "MaxConcurrentPercentage": c.max_concurrent_percentage,
        "FailureToleranceCount": c.failure_tolerance,
        "FailureTolerancePercentage": c.failure_tolerance_percentage,
    }
    return {key: value for key, value in chosen.items() if value is not None}


def overlap_problems(spec: FleetSpec, others: Sequence[tuple[str, FleetSpec]]) -> list[Finding]:
    """Accounts this StackSet targets in a region where another environment file (a StackSet
    or a single-account environment) already deploys a fleet."""
    org = spec.organisation
    if org is None or org.permission_model != "self_managed":
        return []
    mine = {(a, r) for a in org.accounts for r in org.regions}
    problems = []
    for file, other in others:
        if other.name == spec.name:
            continue
        for account, region in sorted(mine & _account_regions(other)):
            problems.append(
                error(
                    "stackset.overlap",
                    f"account {account} in {region} is also targeted by environment "
                    f"{other.name} ({file})",
                    "remove the account from one of the two environment files",
                    f"organisation.accounts[{org.accounts.index(account)}]",
                )
            )
    return problems


def _account_regions(spec: FleetSpec) -> set[tuple[str, str]]:
    org = spec.organisation
    if org is None:
        return {(spec.aws.account_id, spec.aws.region)}
    if org.permission_model != "self_managed":
        return set()
    return {(a, r) for a in org.accounts for r in org.regions}


def _pairs(values: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
