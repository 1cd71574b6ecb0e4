"""Auto Scaling side of lifecycle actions and terminations (boto3 adapter, client passed in).

moto has no Terminating:Wait, heartbeats or CompleteLifecycleAction, so this module is tested with
botocore's Stubber, which checks every request against the real service model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import translate
from runnerfleet.errors import AwsError, RunnerfleetError, SpecError

_NO_ACTIVE_ACTION = "No active Lifecycle Action"
TERMINATING_STATES = frozenset(
    {
        "Terminating",
        "Terminating:Wait",
        "Terminating:Proceed",
        "Terminated",
        "Warmed:Terminating",
        "Warmed:Terminating:Wait",
        "Warmed:Terminating:Proceed",
    }
)


@dataclass(frozen=True, slots=True)
class GroupInstance:
    instance_id: str
    state: str
    health: str = "Healthy"
    protected: bool = False
    instance_type: str = ""
    zone: str = ""

    @property
    def terminating(self) -> bool:
        return self.state in TERMINATING_STATES


def aws_error(exc: ClientError, doing: str, hint: str) -> RunnerfleetError:
    """A ClientError through the one translator (``runnerfleet.aws.awscall``)."""
    return translate(exc, doing, hint)


class LifecycleActions:
    """Complete, heartbeat and terminate through the Auto Scaling group."""

    def __init__(self, autoscaling: Any) -> None:
        self._asg = autoscaling

    def complete(self, group: str, hook: str, token: str, result: str) -> bool:
        """Complete the action; False if it was no longer active (already done or timed out)."""
        try:
            self._asg.complete_lifecycle_action(
                LifecycleHookName=hook,
                AutoScalingGroupName=group,
                LifecycleActionToken=token,
                LifecycleActionResult=result,
            )
        except ClientError as exc:
            if _NO_ACTIVE_ACTION in str(exc):
                return False
            raise aws_error(
                exc,
                f"completing lifecycle action {token} with {result}",
                "check the hook name and the caller's autoscaling permissions",
            ) from exc
        return True

    def heartbeat(self, group: str, hook: str, token: str) -> bool:
        """Restart the hook's timeout; False if the action is no longer active."""
        try:
            self._asg.record_lifecycle_action_heartbeat(
                LifecycleHookName=hook, AutoScalingGroupName=group, LifecycleActionToken=token
            )
        except ClientError as exc:
            if _NO_ACTIVE_ACTION in str(exc):
                return False
            raise aws_error(
                exc,
                f"heartbeat for lifecycle action {token}",
                "check the hook name and the caller's autoscaling permissions",
            ) from exc
        return True

    def instances(self, group: str) -> list[GroupInstance]:
        groups = self._describe_group(group)
        return [_instance(i) for i in groups.get("Instances", [])]

    def group(self, group: str) -> dict[str, Any]:
        return self._describe_group(group)

    def instance_state(self, instance_id: str) -> str | None:
        """The instance's lifecycle state in its group, or None once it has left it."""
        found = self._asg.describe_auto_scaling_instances(InstanceIds=[instance_id])
        rows = found.get("AutoScalingInstances", [])
        return str(rows[0]["LifecycleState"]) if rows else None

    def group_of(self, instance_id: str) -> str | None:
        """The Auto Scaling group the instance belongs to, or None."""
        found = self._asg.describe_auto_scaling_instances(InstanceIds=[instance_id])
        rows = found.get("AutoScalingInstances", [])
        return str(rows[0]["AutoScalingGroupName"]) if rows else None

    def terminate(self, group: str, instance_id: str, *, decrement: bool) -> str:
        """Terminate through the group so the terminate hook drains the instance first.

        Refuses an instance that is not in this group, or is already terminating.
        """
        member = {i.instance_id: i for i in self.instances(group)}.get(instance_id)
        if member is None:
            raise SpecError(
                f"instance {instance_id} is not in this fleet (group {group})",
                hint="pass one of the group's instances (aws autoscaling "
                f"describe-auto-scaling-groups --auto-scaling-group-names {group}); "
                "plain EC2 termination is refused because it skips the drain",
            )
        if member.terminating:
            raise SpecError(
                f"instance {instance_id} is already terminating (state {member.state})",
                hint="nothing to do: its drain is under way; follow it with "
                "`runnerfleet logs ENVFILE INSTANCE`",
            )
        try:
            out = self._asg.terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=decrement
            )
        except ClientError as exc:
            raise aws_error(
                exc,
                f"terminating {instance_id} through group {group}",
                "retry in a minute if a scaling activity is in progress",
            ) from exc
        return str(out.get("Activity", {}).get("Description", "terminating"))

    def set_capacity(self, group: str, *, min_size: int, desired: int) -> None:
        try:
            self._asg.update_auto_scaling_group(
                AutoScalingGroupName=group, MinSize=min_size, DesiredCapacity=desired
            )
        except ClientError as exc:
            raise aws_error(
                exc,
                f"setting group {group} to min={min_size} desired={desired}",
                "retry; if a scaling activity is in progress it clears in minutes",
            ) from exc

    def _describe_group(self, group: str) -> dict[str, Any]:
        out = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        groups = out.get("AutoScalingGroups", [])
        if not groups:
            raise AwsError(
                f"Auto Scaling group {group} not found",
                hint="deploy the environment first (`runnerfleet deploy ENVFILE`)",
            )
        return dict(groups[0])


def _instance(row: dict[str, Any]) -> GroupInstance:
    return GroupInstance(
        instance_id=str(row["InstanceId"]),
        state=str(row.get("LifecycleState", "")),
        health=str(row.get("HealthStatus", "")),
        protected=bool(row.get("ProtectedFromScaleIn", False)),
        instance_type=str(row.get("InstanceType", "")),
        zone=str(row.get("AvailabilityZone", "")),
    )
