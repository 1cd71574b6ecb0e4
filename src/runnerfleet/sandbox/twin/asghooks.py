"""Auto Scaling actions on lifecycle hooks, lifecycle actions, warm pools and processes.

Facts: a lifecycle action is named by its 36-character token or by the instance id; a second
Complete, or one after a timeout, is ``No active Lifecycle Action found`` [UG:completing-lifecycle-
hooks]; deleting a hook completes its outstanding actions [BC-AS DeleteLifecycleHook]; a warm
pool cannot be added to a group with a mixed instances policy [UG:ec2-auto-scaling-warm-pools].
"""

from __future__ import annotations

from typing import Any

from runnerfleet.asgmodel import FleetModelError
from runnerfleet.sandbox.twin.asgapi import instance_view, warm_view
from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups
from runnerfleet.sandbox.twin.groupbuild import (
    current_config,
    hook_configs,
    hook_spec,
    invalid,
    one_per_transition,
    warm_config,
)
from runnerfleet.sandbox.twin.groupstate import LAUNCHING, Group, HookSpec

Params = dict[str, Any]
PROCESSES = (
    "Launch", "Terminate", "AddToLoadBalancer", "AlarmNotification", "AZRebalance",
    "HealthCheck", "InstanceRefresh", "ReplaceUnhealthy", "ScheduledActions",
)  # fmt: skip


def hook_view(group: Group, hook: HookSpec) -> Params:
    view: Params = {
        "LifecycleHookName": hook.name,
        "AutoScalingGroupName": group.name,
        "LifecycleTransition": hook.transition,
        "HeartbeatTimeout": hook.heartbeat_timeout,
        "GlobalTimeout": min(172_800, 100 * hook.heartbeat_timeout),
        "DefaultResult": hook.default_result,
    }
    for key, value in (
        ("NotificationMetadata", hook.metadata),
        ("RoleARN", hook.role_arn),
        ("NotificationTargetARN", hook.target_arn),
    ):
        if value:
            view[key] = value
    return view


def describe_hooks(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    names = p.get("LifecycleHookNames") or list(group.hooks)
    return {"LifecycleHooks": [hook_view(group, group.hooks[n]) for n in names if n in group.hooks]}


def describe_hook_types(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    return {"LifecycleHookTypes": [LAUNCHING, "autoscaling:EC2_INSTANCE_TERMINATING"]}


def put_hook(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    old = group.hooks.get(str(p["LifecycleHookName"]))
    merged = {**(_raw(old) if old else {}), **p}
    spec = hook_spec(group.name, merged)
    one_per_transition(group.hooks, spec)
    if len(group.hooks) >= 50 and old is None:
        raise FleetModelError("LimitExceededFault", "at most 50 lifecycle hooks per group")
    group.hooks[spec.name] = spec
    group.fleet.reconfigure(now, **hook_configs(group.hooks))
    return {}


def _raw(hook: HookSpec) -> Params:
    raw: Params = {
        "LifecycleHookName": hook.name,
        "LifecycleTransition": hook.transition,
        "HeartbeatTimeout": hook.heartbeat_timeout,
        "DefaultResult": hook.default_result,
    }
    for key, value in (
        ("NotificationMetadata", hook.metadata),
        ("RoleARN", hook.role_arn),
        ("NotificationTargetARN", hook.target_arn),
    ):
        if value is not None:
            raw[key] = value
    return raw


def delete_hook(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    name = str(p["LifecycleHookName"])
    hook = group.hooks.pop(name, None)
    if hook is None:
        raise invalid(f"No Lifecycle Hook found with name {name} for group {group.name}")
    group.fleet.remove_hook("launch" if hook.transition == LAUNCHING else "terminate", now)
    return {}


# ----- lifecycle actions ------------------------------------------------------------------


def _action_instance(group: Group, p: Params) -> str:
    """The instance of the action named by token or instance id, for this group and hook."""
    hook = str(p["LifecycleHookName"])
    token = p.get("LifecycleActionToken")
    if token:
        iid, token_hook = group.tokens.get(str(token), ("", ""))
        if not iid or token_hook != hook:
            raise invalid(f"No active Lifecycle Action found with token {token}")
        return iid
    iid = str(p.get("InstanceId") or "")
    if not iid:
        raise invalid("Either LifecycleActionToken or InstanceId must be specified")
    if not any(v == (iid, hook) for v in group.tokens.values()):
        raise invalid(f"No active Lifecycle Action found with instance ID {iid}")
    return iid


def complete_action(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    iid = _action_instance(group, p)
    group.fleet.complete_lifecycle_action(iid, str(p["LifecycleActionResult"]), now)
    group.tokens = {t: v for t, v in group.tokens.items() if v[0] != iid}
    return {}


def record_heartbeat(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    group.fleet.record_heartbeat(_action_instance(group, p), now)
    return {}


# ----- warm pools -------------------------------------------------------------------------


def put_warm_pool(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    if group.settings.get("MixedInstancesPolicy"):
        raise invalid(
            "You can't add a warm pool to an Auto Scaling group that has a mixed instances "
            "policy or a launch template or launch configuration that requests Spot Instances."
        )
    if asg.refreshing(group.name) is not None:
        raise FleetModelError(
            "InstanceRefreshInProgressFault",
            f"An instance refresh is in progress for group {group.name}",
        )
    pool = {k: v for k, v in p.items() if k != "AutoScalingGroupName"}
    warm_config(pool)  # checks the values
    group.warm_pool = pool
    group.fleet.reconfigure(now, warm_pool=current_config(group).warm_pool)
    return {}


def describe_warm_pool(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    if group.warm_pool is None:
        return {"Instances": []}
    warm = [s for s in group.fleet.describe() if s.state.value.startswith("Warmed")]
    return {
        "WarmPoolConfiguration": warm_view(group),
        "Instances": [instance_view(group, s) for s in warm],
    }


def delete_warm_pool(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    if group.warm_pool is None:
        raise invalid(f"No warm pool found for Auto Scaling group {group.name}")
    group.warm_pool = None
    group.fleet.reconfigure(now, warm_pool=None)
    return {}


# ----- processes and metrics --------------------------------------------------------------


def _processes(p: Params) -> list[str]:
    names = list(p.get("ScalingProcesses") or PROCESSES)
    for name in names:
        if name not in PROCESSES:
            raise invalid(f"Invalid scaling process name: {name}")
    return names


def suspend_processes(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    """Stored and reported; the model keeps scaling (documented in docs/sandbox.md)."""
    group = asg.group(p["AutoScalingGroupName"])
    for name in _processes(p):
        group.suspended[name] = "User suspended at " + _now_text(now)
    return {}


def resume_processes(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    for name in _processes(p):
        group.suspended.pop(name, None)
    return {}


def _now_text(now: float) -> str:
    from runnerfleet.sandbox.twin.query import iso8601

    return iso8601(now)


def enable_metrics(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    metrics = p.get("Metrics") or GROUP_METRICS
    current = {m["Metric"] for m in group.settings.get("_metrics", [])}
    group.settings["_metrics"] = [
        {"Metric": m, "Granularity": p.get("Granularity", "1Minute")}
        for m in sorted(current | set(metrics))
    ]
    return {}


def disable_metrics(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    drop = set(p.get("Metrics") or GROUP_METRICS)
    group.settings["_metrics"] = [
        m for m in group.settings.get("_metrics", []) if m["Metric"] not in drop
    ]
    return {}


GROUP_METRICS = (
    "GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances",
    "GroupPendingInstances", "GroupStandbyInstances", "GroupTerminatingInstances",
    "GroupTotalInstances",
)  # fmt: skip
