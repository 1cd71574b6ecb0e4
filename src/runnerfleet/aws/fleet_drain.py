"""The Auto Scaling and EventBridge writes that empty a fleet (boto3 adapter, clients passed in).

Pausing the autoscaler disables its schedule rule; scaling to zero lifts scale-in protection
and sets min = desired = 0, so every instance leaves through its terminate hook and drains.
Each call is idempotent: after an interruption, running it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import translate
from runnerfleet.aws.lifecycle import LifecycleActions

_PROTECTION_BATCH = 50  # SetInstanceProtection takes at most 50 ids


def pause_autoscaler(events: Any, rules: Sequence[str]) -> None:
    for rule in rules:
        try:
            events.disable_rule(Name=rule)
        except ClientError as exc:
            raise translate(
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
            raise translate(
                exc,
                f"lifting scale-in protection in {group}",
                "allow autoscaling:SetInstanceProtection",
            ) from exc
