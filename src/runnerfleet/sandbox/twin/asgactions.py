"""The Auto Scaling actions the twin serves, by API name; every other one is refused by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runnerfleet.sandbox.twin import asgapi, asghooks, refresh

if TYPE_CHECKING:
    from runnerfleet.sandbox.twin.autoscaling import Handler


def _static(key: str, values: list[Any]) -> Handler:
    def handler(asg: Any, params: dict[str, Any], now: float) -> dict[str, Any]:
        return {key: values}

    return handler


HANDLERS: dict[str, Handler] = {
    "CreateAutoScalingGroup": asgapi.create_group,
    "DescribeAutoScalingGroups": asgapi.describe_groups,
    "UpdateAutoScalingGroup": asgapi.update_group,
    "DeleteAutoScalingGroup": asgapi.delete_group,
    "DescribeAutoScalingInstances": asgapi.describe_instances,
    "SetDesiredCapacity": asgapi.set_desired,
    "TerminateInstanceInAutoScalingGroup": asgapi.terminate_instance,
    "SetInstanceProtection": asgapi.set_protection,
    "DescribeScalingActivities": asgapi.describe_activities,
    "CreateOrUpdateTags": asgapi.create_or_update_tags,
    "DeleteTags": asgapi.delete_tags,
    "DescribeTags": asgapi.describe_tags,
    "PutLifecycleHook": asghooks.put_hook,
    "DeleteLifecycleHook": asghooks.delete_hook,
    "DescribeLifecycleHooks": asghooks.describe_hooks,
    "DescribeLifecycleHookTypes": asghooks.describe_hook_types,
    "CompleteLifecycleAction": asghooks.complete_action,
    "RecordLifecycleActionHeartbeat": asghooks.record_heartbeat,
    "PutWarmPool": asghooks.put_warm_pool,
    "DescribeWarmPool": asghooks.describe_warm_pool,
    "DeleteWarmPool": asghooks.delete_warm_pool,
    "SuspendProcesses": asghooks.suspend_processes,
    "ResumeProcesses": asghooks.resume_processes,
    "EnableMetricsCollection": asghooks.enable_metrics,
    "DisableMetricsCollection": asghooks.disable_metrics,
    "StartInstanceRefresh": refresh.start_refresh,
    "DescribeInstanceRefreshes": refresh.describe_refreshes,
    "CancelInstanceRefresh": refresh.cancel_refresh,
    "DescribeTerminationPolicyTypes": _static(
        "TerminationPolicyTypes",
        [
            "AllocationStrategy",
            "ClosestToNextInstanceLifetime",
            "Default",
            "NewestInstance",
            "OldestInstance",
            "OldestLaunchConfiguration",
            "OldestLaunchTemplate",
        ],
    ),
    "DescribeScalingProcessTypes": _static(
        "Processes", [{"ProcessName": name} for name in asghooks.PROCESSES]
    ),
    "DescribeLoadBalancers": _static("LoadBalancers", []),
    "DescribeLoadBalancerTargetGroups": _static("LoadBalancerTargetGroups", []),
    "DescribePolicies": _static("ScalingPolicies", []),
    "DescribeScheduledActions": _static("ScheduledUpdateGroupActions", []),
    "DescribeNotificationConfigurations": _static("NotificationConfigurations", []),
}
