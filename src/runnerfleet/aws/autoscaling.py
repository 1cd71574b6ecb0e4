"""The autoscaler's Auto Scaling group, over boto3: observe it and make the calls of a decision.

Implements ``scaling.evaluation.GroupObserver``; the order of the calls and what counts as a
change live in ``scaling.apply``, shared with the sandbox and the simulator. Clients are passed
in (from ``ClientFactory`` or, in the Lambda, from boto3 directly).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import botocore.exceptions
import botocore.parsers

from runnerfleet.scaling.apply import TAG_IDLE_SINCE, TAG_LAST_IN, TAG_LAST_OUT, CallFailed
from runnerfleet.scaling.observe import GroupState, Member
from runnerfleet.scaling.types import parse_state

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client

AddressMapper = Callable[[str, str | None], str | None]  # (instance id, private IP) -> host

ACTIVE_REFRESH = frozenset({"Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"})
DESCRIBE_BATCH = 200  # DescribeInstances: instance ids per call
_CALL_ERRORS = (botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)


def private_ip(instance_id: str, address: str | None) -> str | None:
    """The real-AWS mapper: scrape the instance's private IP (inside the VPC)."""
    return address


class AutoScalingAdapter:
    """Read and change one Auto Scaling group. ``cloudformation`` is optional: with it, any
    stack update in progress (a rolling update) also counts as "do not fight it"."""

    def __init__(
        self,
        autoscaling: AutoScalingClient,
        ec2: EC2Client,
        address_of: AddressMapper = private_ip,
        cloudformation: CloudFormationClient | None = None,
        stack_name: str | None = None,
    ) -> None:
        self._asg = autoscaling
        self._ec2 = ec2
        self._address_of = address_of
        self._cfn = cloudformation
        self._stack = stack_name

    # ---- observe ----

    def observe(self, group_name: str) -> GroupState:
        group = self._describe_group(group_name)
        tags = {t["Key"]: t.get("Value", "") for t in group.get("Tags", [])}
        rows = list(group.get("Instances", [])) + self._warm_instances(group_name)
        ec2_info = self._ec2_details([r["InstanceId"] for r in rows])
        refresh, notes = self._refresh_in_progress(group_name)
        return GroupState(
            name=group_name,
            desired=int(group["DesiredCapacity"]),
            min_size=int(group["MinSize"]),
            max_size=int(group["MaxSize"]),
            members=tuple(m for m in (self._member(r, ec2_info) for r in rows) if m is not None),
            refresh_in_progress=refresh,
            last_scale_in_at=_float_or_none(tags.get(TAG_LAST_IN)),
            last_scale_out_at=_float_or_none(tags.get(TAG_LAST_OUT)),
            notes=notes,
        )

    def _describe_group(self, name: str) -> Mapping[str, Any]:
        groups = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        found = groups.get("AutoScalingGroups", [])
        if not found:
            raise LookupError(f"Auto Scaling group {name!r} not found")
        return found[0]

    def _warm_instances(self, name: str) -> list[Mapping[str, Any]]:
        """Every page of the warm pool (DescribeWarmPool returns at most 100 per call)."""
        rows: list[Mapping[str, Any]] = []
        try:
            page = self._asg.describe_warm_pool(AutoScalingGroupName=name)
            rows.extend(page.get("Instances", []))
            while page.get("NextToken"):
                page = self._asg.describe_warm_pool(
                    AutoScalingGroupName=name, NextToken=page["NextToken"]
                )
                rows.extend(page.get("Instances", []))
            return rows
        except _CALL_ERRORS:
            return rows  # no warm pool configured (or an emulator without one)

    def _ec2_details(self, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        details: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), DESCRIBE_BATCH):
            chunk = list(ids[start : start + DESCRIBE_BATCH])
            for reservation in self._ec2.describe_instances(InstanceIds=chunk)["Reservations"]:
                for inst in reservation["Instances"]:
                    details[inst["InstanceId"]] = inst
        return details

    def _member(
        self, row: Mapping[str, Any], ec2_info: Mapping[str, Mapping[str, Any]]
    ) -> Member | None:
        state = parse_state(str(row.get("LifecycleState", "")))
        if state is None:  # Standby, Detaching, ...: not ours to count or touch
            return None
        iid = row["InstanceId"]
        info = ec2_info.get(iid, {})
        tags = {t["Key"]: t.get("Value", "") for t in info.get("Tags", [])}
        launched = info.get("LaunchTime")
        return Member(
            instance_id=iid,
            state=state,
            protected=bool(row.get("ProtectedFromScaleIn", False)),
            launched_at=launched.timestamp() if launched is not None else 0.0,
            host=self._address_of(iid, info.get("PrivateIpAddress")),
            idle_since=_float_or_none(tags.get(TAG_IDLE_SINCE)),
        )

    def _refresh_in_progress(self, name: str) -> tuple[bool, tuple[str, ...]]:
        notes: list[str] = []
        try:
            rows = self._asg.describe_instance_refreshes(AutoScalingGroupName=name, MaxRecords=5)
            if any(r.get("Status") in ACTIVE_REFRESH for r in rows.get("InstanceRefreshes", [])):
                return True, ()
        except _CALL_ERRORS as exc:
            notes.append(f"could not read instance refreshes ({type(exc).__name__})")
        if self._cfn is not None and self._stack:
            try:
                stack = self._cfn.describe_stacks(StackName=self._stack)["Stacks"][0]
                if str(stack.get("StackStatus", "")).endswith("_IN_PROGRESS"):
                    return True, (f"stack {self._stack} is {stack['StackStatus']}",)
            except _CALL_ERRORS as exc:
                notes.append(f"could not read the stack status ({type(exc).__name__})")
        return False, tuple(notes)

    # ---- the calls of a decision (scaling.apply.GroupPort) ----

    def set_protection(self, group: str, instance_ids: Sequence[str], protected: bool) -> None:
        _call(
            self._asg.set_instance_protection,
            AutoScalingGroupName=group,
            InstanceIds=list(instance_ids),
            ProtectedFromScaleIn=protected,
        )

    def terminate(self, instance_id: str) -> None:
        _call(
            self._asg.terminate_instance_in_auto_scaling_group,
            InstanceId=instance_id,
            ShouldDecrementDesiredCapacity=True,
        )

    def set_desired(self, group: str, desired: int) -> None:
        _call(
            self._asg.set_desired_capacity,
            AutoScalingGroupName=group,
            DesiredCapacity=desired,
            HonorCooldown=False,
        )

    def tag_group(self, group: str, key: str, value: str) -> None:
        tag = {
            "ResourceId": group,
            "ResourceType": "auto-scaling-group",
            "Key": key,
            "Value": value,
            "PropagateAtLaunch": False,
        }
        _call(self._asg.create_or_update_tags, Tags=[tag])

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        if value is None:
            _call(self._ec2.delete_tags, Resources=list(instance_ids), Tags=[{"Key": key}])
        else:
            tags = [{"Key": key, "Value": value}]
            _call(self._ec2.create_tags, Resources=list(instance_ids), Tags=tags)


def _call(method: Callable[..., Any], **kwargs: Any) -> None:
    try:
        method(**kwargs)
    except _CALL_ERRORS as exc:
        raise CallFailed(_code(exc)) from exc


def _code(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}"[:300]
    return type(exc).__name__


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
