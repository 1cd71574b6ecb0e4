"""Drain a fleet to zero before its stack is deleted, so every runner leaves through the hook.

Deleting the stack first would remove the hook, rule and Lambda before the instances, leaving
stale runners in GitLab. ``drain_fleet_to_zero`` pauses the autoscaler (disables its schedule
rule), lifts scale-in protection, sets min = desired = 0, and waits until the group is empty
(every terminate hook completed). Each step is idempotent, so re-running it after an interruption
finishes the job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.fleet_resources import FleetResources, find_fleet, stack_exists
from runnerfleet.aws.lifecycle import LifecycleActions, aws_error
from runnerfleet.errors import AwsError

_PROTECTION_BATCH = 50  # SetInstanceProtection takes at most 50 ids


@dataclass(frozen=True, slots=True)
class DrainProgress:
    elapsed_s: float
    states: dict[str, int]  # lifecycle state -> instance count

    @property
    def remaining(self) -> int:
        return sum(self.states.values())

    def line(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.states.items())) or "none"
        left = f"{self.remaining} instance(s) left ({parts})"
        return f"draining fleet: {left} after {self.elapsed_s:.0f}s"


@dataclass(frozen=True, slots=True)
class DrainResult:
    group: str
    paused_rules: tuple[str, ...]
    elapsed_s: float
    already_gone: bool = False


def drain_fleet_to_zero(
    *,
    cloudformation: Any,
    autoscaling: Any,
    events: Any,
    stack: str,
    now: Callable[[], float],
    sleep: Callable[[float], None],
    timeout_s: float,
    poll_s: float = 15.0,
    on_progress: Callable[[DrainProgress], None] = lambda _p: None,
) -> DrainResult:
    """Scale the fleet of ``stack`` to zero through its terminate hook and wait until it is empty.

    ``timeout_s`` should exceed the drain budget plus the hook timeout. On timeout it raises
    AwsError; the fleet keeps draining and a re-run picks up where this one stopped.
    """
    if not stack_exists(cloudformation, stack):
        return DrainResult(group="", paused_rules=(), elapsed_s=0.0, already_gone=True)
    fleet = find_fleet(cloudformation, events, stack)
    _pause_autoscaler(events, fleet)
    actions = start_scale_to_zero(autoscaling, fleet.group)
    started = now()
    while True:
        states = Counter(i.state for i in actions.instances(fleet.group))
        progress = DrainProgress(now() - started, dict(states))
        on_progress(progress)
        if not progress.remaining:
            return DrainResult(fleet.group, fleet.schedule_rules, progress.elapsed_s)
        if progress.elapsed_s >= timeout_s:
            raise AwsError(
                f"fleet {fleet.group} still has {progress.remaining} instance(s) after "
                f"{timeout_s:.0f}s ({progress.line()})",
                hint="the drain goes on in AWS; run the same command again to wait for the rest "
                "(`runnerfleet logs ENVFILE INSTANCE` shows what a drain waits for)",
            )
        sleep(poll_s)


def _pause_autoscaler(events: Any, fleet: FleetResources) -> None:
    for rule in fleet.schedule_rules:
        try:
            events.disable_rule(Name=rule)
        except ClientError as exc:
            raise aws_error(
                exc,
                f"pausing the autoscaler (disabling rule {rule})",
                "allow events:DisableRule, or disable the rule by hand",
            ) from exc


def start_scale_to_zero(autoscaling: Any, group: str) -> LifecycleActions:
    """Lift scale-in protection and set min = desired = 0: every instance then leaves
    through its terminate hook and drains. Returns the actions adapter for the wait."""
    actions = LifecycleActions(autoscaling)
    _unprotect(autoscaling, actions, group)
    actions.set_capacity(group, min_size=0, desired=0)
    return actions


def _unprotect(autoscaling: Any, actions: LifecycleActions, group: str) -> None:
    """Busy instances carry scale-in protection; scale-in to zero must reach them (they drain)."""
    protected = [
        i.instance_id for i in actions.instances(group) if i.protected and not i.terminating
    ]
    for start in range(0, len(protected), _PROTECTION_BATCH):
        try:
            autoscaling.set_instance_protection(
                InstanceIds=protected[start : start + _PROTECTION_BATCH],
                AutoScalingGroupName=group,
                ProtectedFromScaleIn=False,
            )
        except ClientError as exc:
            raise aws_error(
                exc,
                f"lifting scale-in protection in {group}",
                "allow autoscaling:SetInstanceProtection",
            ) from exc
