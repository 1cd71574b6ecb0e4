"""Groups made through the twin's endpoint, and bounded waits for what its world loop does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.demo_twin import wait_until

LAUNCH = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATE = "autoscaling:EC2_INSTANCE_TERMINATING"


def hooks(launch_s: int = 600, drain_s: int = 600, launch_default: str = "ABANDON") -> list[Any]:
    return [
        {"LifecycleHookName": "launch", "LifecycleTransition": LAUNCH,
         "HeartbeatTimeout": launch_s, "DefaultResult": launch_default},
        {"LifecycleHookName": "drain", "LifecycleTransition": TERMINATE,
         "HeartbeatTimeout": drain_s, "DefaultResult": "CONTINUE"},
    ]  # fmt: skip


def make_group(twin: Any, *, desired: int = 1, max_size: int = 4, **extra: Any) -> str:
    """A launch template and a group on it, in the twin's seeded subnets; returns its name."""
    name = f"g-{uuid.uuid4().hex[:8]}"
    template = twin.client("ec2").create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={
            "ImageId": "ami-12345678",
            "InstanceType": "t3.small",
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "runner"}]}
            ],
        },
    )["LaunchTemplate"]
    twin.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=desired,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Latest"},
        VPCZoneIdentifier=",".join(twin.subnet_ids),
        **extra,
    )
    return name


def states(twin: Any, group: str) -> dict[str, str]:
    asg = twin.client("autoscaling")
    found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    return {i["InstanceId"]: i["LifecycleState"] for i in found[0]["Instances"]} if found else {}


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout_s``."""
    try:
        return wait_until(what, check, timeout_s, period_s=0.25)
    except SandboxError as exc:
        raise AssertionError(str(exc)) from exc


def in_state(twin: Any, group: str, state: str, count: int = 1) -> list[str]:
    """Wait until ``count`` instances of the group are in ``state``; their ids."""

    def check() -> list[str]:
        ids = [i for i, s in states(twin, group).items() if s == state]
        return ids if len(ids) >= count else []

    return list(wait_for(f"{count} instance(s) of {group} in {state}", check))


def complete(twin: Any, group: str, hook: str, instance_id: str, result: str = "CONTINUE") -> None:
    twin.client("autoscaling").complete_lifecycle_action(
        AutoScalingGroupName=group,
        LifecycleHookName=hook,
        InstanceId=instance_id,
        LifecycleActionResult=result,
    )


def queue_job(gitlab: Callable[..., Any], project_id: int, seconds: int, tags: str) -> int:
    """One job through the stand-in's REST API (``gitlab(method, path, **kwargs)``): a pipeline
    whose variables say how long the job runs and its tags; returns the job's id."""
    variables = [
        {"key": "RUNNERFLEET_SANDBOX_JOB_SECONDS", "value": str(seconds)},
        {"key": "RUNNERFLEET_SANDBOX_TAGS", "value": tags},
    ]
    body = {"ref": "main", "variables": variables}
    pipeline = gitlab("POST", f"/projects/{project_id}/pipeline", json=body)
    (job,) = gitlab("GET", f"/projects/{project_id}/pipelines/{pipeline['id']}/jobs")
    return int(job["id"])
