"""The boto3-shaped port over the fleet model: shapes, errors, and no event lost."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import ABANDON, EventKind, FleetConfig, HookConfig
from runnerfleet.sandbox.fleetport import FleetModelAutoScaling


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def port(clock: Clock) -> FleetModelAutoScaling:
    config = FleetConfig(
        min_size=0,
        max_size=3,
        desired=0,
        pending_s=20.0,
        launch_hook=HookConfig(heartbeat_timeout_s=600, default_result=ABANDON),
    )
    return FleetModelAutoScaling(Fleet(config, clock(), in_service=0), "g", clock)


def test_describe_between_takes_loses_no_event() -> None:
    clock = Clock()
    asg = port(clock)
    asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=1, HonorCooldown=False)
    assert [e.kind for e in asg.take_events()] == [EventKind.LAUNCHING]
    clock.t += 30  # the instance leaves Pending for the launch hook ...
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["g"])["AutoScalingGroups"][0]
    assert [i["LifecycleState"] for i in group["Instances"]] == ["Pending:Wait"]
    # ... and the launch action, produced while describing, still reaches the demo
    assert EventKind.LAUNCH_ACTION in [e.kind for e in asg.take_events()]


def test_errors_are_client_errors_with_aws_codes() -> None:
    asg = port(Clock())
    with pytest.raises(ClientError) as info:
        asg.set_desired_capacity(AutoScalingGroupName="g", DesiredCapacity=9)
    assert info.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError, match="No active Lifecycle Action"):
        asg.complete_lifecycle_action(
            LifecycleActionToken="nope",
            LifecycleActionResult="CONTINUE",
            LifecycleHookName="h",
            AutoScalingGroupName="g",
        )
