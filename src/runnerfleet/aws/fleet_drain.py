"""The Auto Scaling and EventBridge writes that empty a fleet (boto3 adapter, clients passed in).

Pausing the autoscaler disables its schedule rule; scaling to zero lifts scale-in protection
and sets min = desired = 0, so every instance leaves through its terminate hook and drains.
Each call is idempotent: after an interruption, running it again finishes the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import aws_call, error_code, translate
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


def disabled_rules(events: Any, rules: Sequence[str]) -> list[str]:
    """The schedule rules that are switched off (the autoscaler does not run)."""
    return [rule for rule in rules if _rule_state(events, rule) == "DISABLED"]


def _rule_state(events: Any, rule: str) -> str:
    described = aws_call(lambda: events.describe_rule(Name=rule), f"reading rule {rule}")
    return str(described.get("State", ""))


def resume_autoscaler(events: Any, rules: Sequence[str]) -> list[str]:
    """Enable the schedule rules that are disabled; the names of those it enabled."""
    paused = disabled_rules(events, rules)
    for rule in paused:
        _enable(events, rule)
    return paused


def _enable(events: Any, rule: str) -> None:
    aws_call(
        lambda: events.enable_rule(Name=rule),
        f"resuming the autoscaler (enabling rule {rule})",
        "allow events:EnableRule, or enable the rule by hand",
    )


class DestroyMarker:
    """An SSM parameter that says "a destroy of this stack is under way" until the stack is gone.

    A destroy stopped midway leaves the autoscaler paused and the group at zero; the next deploy
    sees the marker and restores both (``runnerfleet.ops.restore``), doctor reports it.
    """

    def __init__(self, ssm: Any, ssm_path: str) -> None:
        self.ssm = ssm
        self.name = f"{ssm_path.rstrip('/')}/destroy-in-progress"

    def set(self, started: str) -> None:
        aws_call(
            lambda: self.ssm.put_parameter(
                Name=self.name, Value=started, Type="String", Overwrite=True
            ),
            f"recording the destroy in {self.name}",
            "allow ssm:PutParameter on the environment's SSM path",
        )

    def started(self) -> str | None:
        """When the unfinished destroy started, or None when none is recorded."""
        try:
            value = self.ssm.get_parameter(Name=self.name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise translate(exc, f"reading {self.name}") from exc
        return str(value)

    def clear(self) -> None:
        try:
            self.ssm.delete_parameter(Name=self.name)
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise translate(exc, f"deleting {self.name}") from exc
