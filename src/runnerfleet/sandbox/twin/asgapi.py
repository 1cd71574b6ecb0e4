"""Auto Scaling actions on groups: create, describe, update, delete, capacity, protection,
termination, tags. Each takes boto3-shaped parameters and returns the output dict; errors are
the model's AWS-coded ones. Sources: aws-autoscaling-facts.md keys ([BC-AS], [UG:...])."""

from __future__ import annotations

import uuid
from typing import Any

from runnerfleet.asgmodel import FleetModelError, InstanceStatus
from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups
from runnerfleet.sandbox.twin.groupbuild import (
    SETTINGS,
    build_group,
    check_sizes,
    current_config,
    invalid,
)
from runnerfleet.sandbox.twin.groupstate import Group
from runnerfleet.sandbox.twin.query import iso8601

Params = dict[str, Any]
PAGE = 50  # MaxRecords default [BC-AS]


# ----- views ------------------------------------------------------------------------------


def instance_view(group: Group, status: InstanceStatus, *, with_group: bool = False) -> Params:
    spec = group.launched.get(status.instance_id, group.launch)
    subnet = group.zones.get(status.instance_id, "")
    view: Params = {
        "InstanceId": status.instance_id,
        "InstanceType": spec.instance_type,
        "AvailabilityZone": group.subnets.get(subnet, ""),
        "LifecycleState": status.state.value,
        "HealthStatus": "Healthy",
        "LaunchTemplate": spec.as_aws(),
        "ProtectedFromScaleIn": status.protected,
    }
    if with_group:
        view["AutoScalingGroupName"] = group.name
    return view


def group_view(group: Group) -> Params:
    fleet, settings = group.fleet, group.settings
    live = [s for s in fleet.describe() if not s.state.value.startswith("Warmed")]
    view: Params = {
        "AutoScalingGroupName": group.name,
        "AutoScalingGroupARN": group.arn,
        "MinSize": fleet.min_size,
        "MaxSize": fleet.max_size,
        "DesiredCapacity": fleet.desired,
        "AvailabilityZones": sorted(set(group.subnets.values())),
        "LoadBalancerNames": [],
        "TargetGroupARNs": [],
        "Instances": [instance_view(group, s) for s in live],
        "CreatedTime": group.created,
        "SuspendedProcesses": [
            {"ProcessName": p, "SuspensionReason": r} for p, r in sorted(group.suspended.items())
        ],
        "VPCZoneIdentifier": ",".join(group.subnets),
        "EnabledMetrics": list(settings.get("_metrics", [])),
        "Tags": tag_views(group),
        "ServiceLinkedRoleARN": service_role(group.arn),
        **{k: v for k, v in settings.items() if not k.startswith("_") and v is not None},
    }
    if not settings.get("MixedInstancesPolicy"):
        view["LaunchTemplate"] = group.launch.as_aws()
    if group.warm_pool is not None:
        view["WarmPoolConfiguration"] = warm_view(group)
        view["WarmPoolSize"] = sum(
            1 for s in fleet.describe() if s.state.value.startswith("Warmed")
        )
    if group.deleting:
        view["Status"] = "Delete in progress"
    return view


def warm_view(group: Group) -> Params:
    pool = dict(group.warm_pool or {})
    pool.pop("AutoScalingGroupName", None)
    pool.setdefault("PoolState", "Stopped")
    pool.setdefault("MinSize", 0)
    return pool


def service_role(group_arn: str) -> str:
    account = group_arn.split(":")[4]
    return (
        f"arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/"
        "AWSServiceRoleForAutoScaling"
    )


def tag_views(group: Group) -> list[Params]:
    return [
        {
            "ResourceId": group.name,
            "ResourceType": "auto-scaling-group",
            "Key": key,
            "Value": value,
            "PropagateAtLaunch": propagate,
        }
        for key, (value, propagate) in sorted(group.tags.items())
    ]


def page(rows: list[Params], params: Params, key: str) -> Params:
    """MaxRecords / NextToken paging; the token is the next row's index."""
    size = int(params.get("MaxRecords") or PAGE)
    token = params.get("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise FleetModelError("InvalidNextToken", f"The token '{token}' is invalid.") from None
    out: Params = {key: rows[start : start + size]}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return out


# ----- groups -----------------------------------------------------------------------------


def create_group(asg: AutoScalingGroups, p: Params, now: float, stack: str | None = None) -> Params:
    name = str(p["AutoScalingGroupName"])
    if name in asg.groups:
        raise FleetModelError(
            "AlreadyExistsFault",
            f"AutoScalingGroup by this name already exists - A group with the name {name} "
            "already exists",
        )
    launcher = asg.launcher
    if launcher is None:
        raise invalid("the sandbox twin cannot launch instances (no EC2 records)")
    group = build_group(
        p,
        arn=asg.arn(name),
        now=now,
        launch=lambda spec: launcher.resolve_spec(spec, p.get("MixedInstancesPolicy")),
        subnets=launcher.subnet_zones,
        timing=(asg.settings.pending_s, asg.settings.terminating_s),
        new_id=new_instance_id,
    )
    group.stack = stack
    group.cause = "a user request created an AutoScalingGroup."
    asg.groups[name] = group
    return {}


def new_instance_id() -> str:
    return "i-" + uuid.uuid4().hex[:17]


def describe_groups(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    names = p.get("AutoScalingGroupNames") or sorted(asg.groups)
    groups = [asg.groups[n] for n in names if n in asg.groups]
    groups = [g for g in groups if _matches(g, p.get("Filters") or [])]
    visible = [g for g in groups if not (g.deleting and not g.fleet.describe())]
    return page([group_view(g) for g in visible], p, "AutoScalingGroups")


def _matches(group: Group, filters: list[Params]) -> bool:
    for f in filters:
        name, values = str(f.get("Name", "")), set(f.get("Values") or [])
        if name == "tag-key" and not values & set(group.tags):
            return False
        if name == "tag-value" and not values & {v for v, _ in group.tags.values()}:
            return False
        if name.startswith("tag:") and group.tags.get(name[4:], ("",))[0] not in values:
            return False
    return True


def describe_instances(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    wanted = set(p.get("InstanceIds") or [])
    rows = [
        instance_view(g, s, with_group=True)
        for g in asg.groups.values()
        for s in g.fleet.describe()
        if not wanted or s.instance_id in wanted
    ]
    return page(rows, p, "AutoScalingInstances")


def update_group(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    fleet = group.fleet
    lo, hi = int(p.get("MinSize", fleet.min_size)), int(p.get("MaxSize", fleet.max_size))
    desired = int(p.get("DesiredCapacity", min(max(fleet.desired, lo), hi)))
    check_sizes(lo, hi, desired)
    for key in SETTINGS:
        if key in p:
            group.settings[key] = p[key]
    if p.get("LaunchTemplate") and asg.launcher is not None:
        group.launch = asg.launcher.resolve_spec(
            p["LaunchTemplate"], group.settings.get("MixedInstancesPolicy")
        )
    if p.get("VPCZoneIdentifier") and asg.launcher is not None:
        group.subnets = asg.launcher.subnet_zones(str(p["VPCZoneIdentifier"]).split(","))
    group.cause = (
        f"a user request update of AutoScalingGroup constraints to min: {lo}, max: {hi}, "
        f"desired: {desired} changing the desired capacity from {fleet.desired} to {desired}."
    )
    fleet.reconfigure(now, **_settings_only(current_config(group)))
    fleet.update_limits(now, min_size=lo, max_size=hi)
    fleet.set_desired(desired, False, now)
    return {}


def _settings_only(config: Any) -> Params:
    """The model settings a reconfigure may change (sizes go through their own calls)."""
    return {
        "default_cooldown_s": config.default_cooldown_s,
        "new_instances_protected": config.new_instances_protected,
        "termination_policy": config.termination_policy,
        "capacity_rebalance": config.capacity_rebalance,
    }


def delete_group(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    if p.get("ForceDelete"):
        group.cause = "a user request deleted the AutoScalingGroup (force delete)."
        group.fleet.force_delete(now)
    elif group.fleet.describe():
        raise FleetModelError(
            "ResourceInUseFault",
            "You cannot delete an AutoScalingGroup while there are instances or pending Spot "
            "instance request(s) still in the group.",
        )
    group.deleting = True
    return {}


# ----- capacity ---------------------------------------------------------------------------


def set_desired(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    want, was = int(p["DesiredCapacity"]), group.fleet.desired
    honor = bool(p.get("HonorCooldown", False))
    busy = group.activity_in_progress()
    if honor and busy is not None:
        raise FleetModelError(
            "ScalingActivityInProgressFault",
            f"Scaling activity {busy.activity_id} is in progress and blocks this action",
        )
    group.cause = (
        "a user request explicitly set group desired capacity changing the desired capacity "
        f"from {was} to {want}."
    )
    group.fleet.set_desired(want, honor, now)
    return {}


def terminate_instance(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    iid = str(p["InstanceId"])
    group = asg.owner_of(iid)
    if group is None:
        raise invalid(f"Instance Id not found - No managed instance found for instance ID: {iid}")
    decrement = bool(p["ShouldDecrementDesiredCapacity"])
    was = group.fleet.desired
    group.cause = "an instance was taken out of service in response to a user request" + (
        f", shrinking the capacity from {was} to {was - 1}." if decrement else "."
    )
    group.fleet.terminate_instance(iid, decrement, now)
    group.pump(now, asg.launcher)
    activity = next((a for a in group.activities if a.description.endswith(iid)), None)
    return {"Activity": activity_view(group, activity)} if activity else {}


def set_protection(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    group.fleet.set_instance_protection(
        list(p["InstanceIds"]), bool(p["ProtectedFromScaleIn"]), now
    )
    return {}


def activity_view(group: Group, activity: Any) -> Params:
    view: Params = {
        "ActivityId": activity.activity_id,
        "AutoScalingGroupName": group.name,
        "AutoScalingGroupARN": group.arn,
        "Description": activity.description,
        "Cause": activity.cause,
        "StartTime": activity.start,
        "StatusCode": activity.status,
        "Progress": activity.progress,
        "Details": activity.details,
    }
    if activity.end is not None:
        view["EndTime"] = activity.end
    if activity.message:
        view["StatusMessage"] = activity.message
    return view


def describe_activities(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    name = p.get("AutoScalingGroupName")
    groups = [asg.group(name)] if name else list(asg.groups.values())
    wanted = set(p.get("ActivityIds") or [])
    rows = [
        activity_view(g, a)
        for g in groups
        for a in g.activities
        if not wanted or a.activity_id in wanted
    ]
    rows.sort(key=lambda r: iso8601(r["StartTime"]), reverse=True)
    return page(rows, {**p, "MaxRecords": p.get("MaxRecords") or 100}, "Activities")


# ----- tags -------------------------------------------------------------------------------


def _tag_group(asg: AutoScalingGroups, tag: Params) -> Group:
    if tag.get("ResourceType", "auto-scaling-group") != "auto-scaling-group":
        raise invalid(f"Invalid resource type {tag.get('ResourceType')}: use auto-scaling-group")
    return asg.group(tag.get("ResourceId"))


def create_or_update_tags(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    for tag in p["Tags"]:
        group = _tag_group(asg, tag)
        group.tags[str(tag["Key"])] = (
            str(tag.get("Value", "")),
            bool(tag.get("PropagateAtLaunch")),
        )
    return {}


def delete_tags(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    for tag in p["Tags"]:
        _tag_group(asg, tag).tags.pop(str(tag["Key"]), None)
    return {}


def describe_tags(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    rows = [row for g in asg.groups.values() for row in tag_views(g)]
    for f in p.get("Filters") or []:
        field = {"auto-scaling-group": "ResourceId", "key": "Key", "value": "Value",
                 "propagate-at-launch": "PropagateAtLaunch"}.get(str(f.get("Name")))  # fmt: skip
        if field is None:
            raise invalid(f"Invalid filter name {f.get('Name')}")
        values = {str(v).lower() for v in f.get("Values") or []}
        rows = [r for r in rows if str(r[field]).lower() in values]
    return page(rows, p, "Tags")
