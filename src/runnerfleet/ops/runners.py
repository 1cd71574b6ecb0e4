"""``runners create|list|prune``: an environment's GitLab runners, matched to its instances.

Each use case takes the environment and its target (AWS for SSM and the Auto Scaling group,
GitLab for the runners); the GitLab adapters in ``runnerfleet.gitlab`` do the calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.aws.fleet_resources import find_fleet, stack_exists
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.gitlab.apply import (
    ApplyReport,
    Registrar,
    apply_registration_plan,
    gather_existing,
)
from runnerfleet.gitlab.inventory import (
    Orphan,
    PrunePlan,
    PruneReport,
    RegistrationView,
    apply_prune,
    collect,
    find_orphans,
    plan_prune,
    plan_teardown,
)
from runnerfleet.gitlab.registry import RegistrationPlan, desired_from_spec, plan_registrations
from runnerfleet.ops.registrations import registrar_for
from runnerfleet.ops.target import Target

Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Created:
    plan: RegistrationPlan
    report: ApplyReport
    token_prefix: str  # where the tokens were stored in SSM

    @property
    def pending_deletes(self) -> int:
        return len(self.plan.of("delete", "replace"))


def create_runners(
    spec: FleetSpec,
    target: Target,
    *,
    show_plan: Callable[[RegistrationPlan], None],
    warn: Say = _quiet,
    progress: Say = _quiet,
) -> Created:
    """Create and update the file's runners now; deletions wait for deploy or prune."""
    registrar = registrar_for(spec, target, warn=warn, progress=progress)
    plan = plan_registrations(desired_from_spec(spec), gather_existing(registrar))
    show_plan(plan)
    report = apply_registration_plan(plan, registrar, phase="pre")
    return Created(plan, report, registrar.store.prefix)


@dataclass(frozen=True)
class Inventory:
    views: list[RegistrationView]
    orphans: list[Orphan]
    stack_exists: bool
    instances: list[str] = field(default_factory=list)


def list_runners(spec: FleetSpec, target: Target, *, warn: Say = _quiet) -> Inventory:
    registrar = registrar_for(spec, target, warn=warn)
    return _inventory(spec, target, registrar, orphans=False)


@dataclass(frozen=True)
class Pruned:
    inventory: Inventory
    plan: PrunePlan
    report: PruneReport | None  # None: a dry run, or nothing to prune


def prune_runners(spec: FleetSpec, target: Target, *, apply: bool, warn: Say = _quiet) -> Pruned:
    """Managers matching no live instance and orphaned runners; removed only with ``apply``.

    When the stack is gone (destroyed), every runner runnerfleet created for it and every
    token parameter it stored is a leftover too.
    """
    registrar = registrar_for(spec, target, warn=warn)
    inventory = _inventory(spec, target, registrar, orphans=True)
    if inventory.stack_exists:
        plan = plan_prune(inventory.views, inventory.orphans)
    else:
        plan = plan_teardown(inventory.views, inventory.orphans, registrar.store.list())
    report = apply_prune(plan, registrar) if apply and not plan.empty else None
    return Pruned(inventory, plan, report)


def _inventory(
    spec: FleetSpec, target: Target, registrar: Registrar, *, orphans: bool
) -> Inventory:
    instances = live_instance_ids(target.clients, spec.stack)
    ids = instances or []
    desired, stored = desired_from_spec(spec), registrar.store.list()
    views = collect(registrar, desired, stored, ids)
    found = find_orphans(registrar, desired, views, stored, ids) if orphans else []
    return Inventory(views, found, instances is not None, ids)


def live_instance_ids(clients: Any, stack: str) -> list[str] | None:
    """Instance ids of the stack's Auto Scaling group; None when the stack does not exist."""
    cloudformation = clients.client("cloudformation")
    if not stack_exists(cloudformation, stack):
        return None
    fleet = find_fleet(cloudformation, clients.client("events"), stack)
    groups = clients.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[fleet.group]
    )["AutoScalingGroups"]
    return sorted(i["InstanceId"] for g in groups for i in g.get("Instances", []))


def prune_after_destroy(spec: FleetSpec, target: Target) -> str:
    """Destroy's last step: the gone stack's runners in GitLab and their tokens in SSM."""
    registrar = registrar_for(spec, target)
    desired, stored = desired_from_spec(spec), registrar.store.list()
    views = collect(registrar, desired, stored, [])  # the stack is gone: no live instance
    plan = plan_teardown(views, find_orphans(registrar, desired, views, stored), stored)
    return apply_prune(plan, registrar).summary()
