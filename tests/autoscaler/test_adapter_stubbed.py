"""What moto lacks (instance refresh, warm pool instances), checked with botocore's Stubber."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from runnerfleet.aws.autoscaling import AutoScalingAdapter
from runnerfleet.scaling import LifecycleState
from runnerfleet.scaling.apply import TAG_IDLE_SINCE, TAG_LAST_OUT
from runnerfleet.scaling.observe import GroupState

GROUP = "fleet-stubbed"
LAUNCH = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@functools.cache
def _clients() -> tuple[Any, Any]:
    # built once: each test wraps them in fresh Stubbers, which deactivate on exit
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return session.client("autoscaling"), session.client("ec2")


def _group_response() -> dict:
    row = {
        "AvailabilityZone": "us-east-1a",
        "HealthStatus": "Healthy",
        "ProtectedFromScaleIn": True,
    }
    return {
        "AutoScalingGroups": [
            {
                "AutoScalingGroupName": GROUP,
                "MinSize": 0,
                "MaxSize": 8,
                "DesiredCapacity": 2,
                "DefaultCooldown": 300,
                "AvailabilityZones": ["us-east-1a"],
                "HealthCheckType": "EC2",
                "CreatedTime": LAUNCH,
                "Instances": [
                    {**row, "InstanceId": "i-1", "LifecycleState": "InService"},
                    {**row, "InstanceId": "i-2", "LifecycleState": "Pending:Wait"},
                    {**row, "InstanceId": "i-3", "LifecycleState": "Standby"},
                ],
                "Tags": [
                    {
                        "Key": TAG_LAST_OUT,
                        "Value": "1700000000",
                        "ResourceId": GROUP,
                        "ResourceType": "auto-scaling-group",
                        "PropagateAtLaunch": False,
                    },
                ],
            }
        ]
    }


def _ec2_response() -> dict:
    def inst(iid: str, ip: str, tags: list[dict[str, str]]) -> dict:
        return {"InstanceId": iid, "LaunchTime": LAUNCH, "PrivateIpAddress": ip, "Tags": tags}

    return {
        "Reservations": [
            {
                "Instances": [
                    inst("i-1", "10.0.1.5", [{"Key": TAG_IDLE_SINCE, "Value": "1699999000"}]),
                    inst("i-2", "10.0.1.6", []),
                    inst("i-3", "10.0.1.7", []),
                    inst("i-w", "10.0.1.8", []),
                ]
            }
        ]
    }


def _warm_response() -> dict:
    return {
        "Instances": [
            {
                "InstanceId": "i-w",
                "AvailabilityZone": "us-east-1a",
                "LifecycleState": "Warmed:Stopped",
                "HealthStatus": "Healthy",
                "ProtectedFromScaleIn": False,
            }
        ]
    }


def _observe(refresh_status: str) -> GroupState:
    asg, ec2 = _clients()
    with Stubber(asg) as asg_stub, Stubber(ec2) as ec2_stub:
        asg_stub.add_response(
            "describe_auto_scaling_groups", _group_response(), {"AutoScalingGroupNames": [GROUP]}
        )
        asg_stub.add_response(
            "describe_warm_pool", _warm_response(), {"AutoScalingGroupName": GROUP}
        )
        ec2_stub.add_response(
            "describe_instances", _ec2_response(), {"InstanceIds": ["i-1", "i-2", "i-3", "i-w"]}
        )
        asg_stub.add_response(
            "describe_instance_refreshes",
            {
                "InstanceRefreshes": [
                    {
                        "InstanceRefreshId": "r-1",
                        "AutoScalingGroupName": GROUP,
                        "Status": refresh_status,
                    }
                ]
            },
            {"AutoScalingGroupName": GROUP, "MaxRecords": 5},
        )
        state = AutoScalingAdapter(asg, ec2).observe(GROUP)
        asg_stub.assert_no_pending_responses()
    return state


def test_refresh_in_progress_is_seen() -> None:
    state = _observe("InProgress")
    assert state.refresh_in_progress is True
    assert _observe("Successful").refresh_in_progress is False


def test_warm_pool_standby_tags_and_private_ips() -> None:
    state = _observe("Successful")
    members = {m.instance_id: m for m in state.members}
    assert set(members) == {"i-1", "i-2", "i-w"}  # Standby is not ours to count or touch
    assert members["i-w"].state == LifecycleState.WARMED_STOPPED
    assert members["i-2"].state == LifecycleState.PENDING_WAIT
    assert members["i-1"].host == "10.0.1.5"  # the real-AWS mapper keeps the private IP
    assert members["i-1"].idle_since == 1699999000.0
    assert members["i-1"].launched_at == LAUNCH.timestamp()
    assert state.last_scale_out_at == 1700000000.0
