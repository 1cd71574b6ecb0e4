"""Replacing a group's instances in batches: what an instance refresh and a CloudFormation
rolling update share. Pure bookkeeping over the group's model; the callers decide the pace.

An instance "matches" a launch configuration when it launched from the same template version
(and instance type); a replacement counts once it is InService and, for a refresh, its warmup
has passed ("PercentageComplete counts an instance once it is healthy and its warmup has
passed" [BC-AS InstanceRefresh]).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runnerfleet.asgmodel import InstanceStatus
from runnerfleet.sandbox.twin.groupstate import Group, LaunchSpec
from runnerfleet.scaling.types import LifecycleState

S = LifecycleState
IN_GROUP = frozenset({S.PENDING, S.PENDING_WAIT, S.IN_SERVICE})


def matches(spec: LaunchSpec | None, target: LaunchSpec) -> bool:
    return spec is not None and (spec.template_id, spec.number, spec.instance_type) == (
        target.template_id,
        target.number,
        target.instance_type,
    )


def in_group(group: Group) -> list[InstanceStatus]:
    return [s for s in group.fleet.describe() if s.state in IN_GROUP]


def outdated(group: Group, target: LaunchSpec) -> list[InstanceStatus]:
    """Instances in the group (not its warm pool) not launched from ``target``, oldest first."""
    return [s for s in in_group(group) if not matches(group.launched.get(s.instance_id), target)]


def ready(group: Group, target: LaunchSpec, now: float, warmup_s: float) -> list[str]:
    """Instances on ``target`` that are InService and past their warmup."""
    return [
        s.instance_id
        for s in group.fleet.describe()
        if s.state is S.IN_SERVICE
        and matches(group.launched.get(s.instance_id), target)
        and now - s.state_since >= warmup_s
    ]


@dataclass
class Batch:
    """One batch in flight: the instances taken out, since when, and what must come back."""

    victims: list[str]
    started: float
    expected_ready: int  # instances on the target that must be ready when the batch is done
    launched_first: bool = False
    terminated: bool = False
    signals_from: set[str] = field(default_factory=set)

    def gone(self, group: Group) -> bool:
        live = {s.instance_id for s in group.fleet.describe()}
        return not any(v in live for v in self.victims)
