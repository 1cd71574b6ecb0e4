"""Auto Scaling as AWS does it, through the twin's endpoint only (boto3).

Facts and sources: aws-autoscaling-facts.md (lifecycle hooks §1, cooldown §3, protection §3).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.twin.helpers import complete, hooks, in_state, make_group, states, wait_for

pytestmark = pytest.mark.timeout(120)


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_hooks_of_the_group_are_described_put_and_deleted(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=0, LifecycleHookSpecificationList=hooks(120, 300))
    described = asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]
    assert {
        (h["LifecycleHookName"], h["HeartbeatTimeout"], h["DefaultResult"]) for h in described
    } == {
        ("launch", 120, "ABANDON"),
        ("drain", 300, "CONTINUE"),
    }
    assert {h["GlobalTimeout"] for h in described} == {12_000, 30_000}  # 100 x heartbeat
    asg.put_lifecycle_hook(
        AutoScalingGroupName=group, LifecycleHookName="drain", HeartbeatTimeout=60
    )
    (drain,) = asg.describe_lifecycle_hooks(
        AutoScalingGroupName=group, LifecycleHookNames=["drain"]
    )["LifecycleHooks"]
    assert (drain["HeartbeatTimeout"], drain["LifecycleTransition"]) == (
        60,
        hooks()[1]["LifecycleTransition"],
    )
    asg.delete_lifecycle_hook(AutoScalingGroupName=group, LifecycleHookName="launch")
    names = [
        h["LifecycleHookName"]
        for h in asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]
    ]
    assert names == ["drain"]
    with pytest.raises(ClientError) as missing:
        asg.delete_lifecycle_hook(AutoScalingGroupName=group, LifecycleHookName="launch")
    assert _code(missing) == "ValidationError"


def test_terminate_without_decrement_holds_terminating_wait_and_replaces(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, LifecycleHookSpecificationList=hooks())
    (first,) = in_state(twin, group, "Pending:Wait")
    complete(twin, group, "launch", first)
    in_state(twin, group, "InService")
    out = asg.terminate_instance_in_auto_scaling_group(
        InstanceId=first, ShouldDecrementDesiredCapacity=False
    )
    assert out["Activity"]["Description"] == f"Terminating EC2 instance: {first}"
    (replacement,) = in_state(twin, group, "Pending:Wait")
    assert replacement != first and states(twin, group)[first] == "Terminating:Wait"
    complete(twin, group, "drain", first)
    wait_for("the old instance to go", lambda: first not in states(twin, group))
    with pytest.raises(
        ClientError, match=f"No active Lifecycle Action found with instance ID {first}"
    ):
        complete(twin, group, "drain", first)
    group_view = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"
    ][0]
    assert group_view["DesiredCapacity"] == 1


def test_terminate_with_decrement_shrinks_the_group(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=2)
    victim, _ = in_state(twin, group, "InService", count=2)
    asg.terminate_instance_in_auto_scaling_group(
        InstanceId=victim, ShouldDecrementDesiredCapacity=True
    )
    wait_for("one instance left", lambda: list(states(twin, group)) == [_])
    assert (
        asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0][
            "DesiredCapacity"
        ]
        == 1
    )


def test_a_launch_action_is_completed_by_its_token_too(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, LifecycleHookSpecificationList=hooks())
    in_state(twin, group, "Pending:Wait")
    with pytest.raises(ClientError, match="No active Lifecycle Action found with token"):
        asg.complete_lifecycle_action(
            AutoScalingGroupName=group,
            LifecycleHookName="launch",
            LifecycleActionToken="00000000-0000-0000-0000-000000000000",
            LifecycleActionResult="CONTINUE",
        )


def test_heartbeats_extend_and_the_timeout_applies_the_default_result(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, LifecycleHookSpecificationList=hooks(launch_s=30))
    (first,) = in_state(twin, group, "Pending:Wait")
    wait_for(
        "20 s of the 30 s heartbeat timeout", lambda: _waited(asg, group, first, 20), timeout_s=40
    )
    asg.record_lifecycle_action_heartbeat(
        AutoScalingGroupName=group, LifecycleHookName="launch", InstanceId=first
    )
    wait_for("past the first deadline", lambda: _waited(asg, group, first, 33), timeout_s=40)
    assert states(twin, group).get(first) == "Pending:Wait"  # the heartbeat moved the deadline
    # ... then nobody calls: ABANDON applies, the instance goes, a replacement launches
    wait_for("the default result", lambda: first not in states(twin, group), timeout_s=40)
    activities = asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
    launch = next(
        a
        for a in activities
        if a["Description"].endswith(first) and "Launching" in a["Description"]
    )
    assert (
        launch["StatusCode"] == "Cancelled" and "default result ABANDON" in launch["StatusMessage"]
    )


def _waited(asg: Any, group: str, iid: str, seconds: float) -> bool:
    for activity in asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]:
        if activity["Description"].endswith(iid):
            import time

            return time.time() - activity["StartTime"].timestamp() >= seconds
    return False


def test_honor_cooldown_raises_scaling_activity_in_progress(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, DefaultCooldown=300)
    in_state(twin, group, "InService")
    with pytest.raises(ClientError) as blocked:
        asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2, HonorCooldown=True)
    assert _code(blocked) == "ScalingActivityInProgress"
    asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)  # manual: no cooldown
    in_state(twin, group, "InService", count=2)


def test_sizes_protection_and_bad_input_answer_like_aws(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, max_size=2)
    (iid,) = in_state(twin, group, "InService")
    with pytest.raises(ClientError, match="above max value 2"):
        asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=3)
    with pytest.raises(ClientError) as too_many:
        asg.set_instance_protection(
            AutoScalingGroupName=group, InstanceIds=[iid] * 51, ProtectedFromScaleIn=True
        )
    assert _code(too_many) in ("LimitExceeded", "ValidationError")
    asg.set_instance_protection(
        AutoScalingGroupName=group, InstanceIds=[iid], ProtectedFromScaleIn=True
    )
    asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=0)
    assert list(states(twin, group)) == [iid]  # protected from scale-in
    with pytest.raises(ClientError) as unknown_group:
        asg.set_desired_capacity(AutoScalingGroupName="no-such-group", DesiredCapacity=1)
    assert "AutoScalingGroup name not found" in str(unknown_group.value)
    with pytest.raises(ClientError, match="No managed instance found for instance ID: i-0"):
        asg.terminate_instance_in_auto_scaling_group(
            InstanceId="i-0000000000000000f", ShouldDecrementDesiredCapacity=True
        )
    with pytest.raises(ClientError) as unsupported:
        asg.attach_instances(AutoScalingGroupName=group, InstanceIds=[iid])
    assert _code(unsupported) == "UnsupportedOperation" and "AttachInstances" in str(
        unsupported.value
    )


def test_tags_and_filters(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(
        twin, desired=0, Tags=[{"Key": "Team", "Value": "ci", "PropagateAtLaunch": True}]
    )
    asg.create_or_update_tags(
        Tags=[
            {
                "ResourceId": group,
                "ResourceType": "auto-scaling-group",
                "Key": "Env",
                "Value": "dev",
                "PropagateAtLaunch": False,
            }
        ]
    )
    tags = asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [group]}])["Tags"]
    assert {(t["Key"], t["Value"], t["PropagateAtLaunch"]) for t in tags} == {
        ("Env", "dev", False),
        ("Team", "ci", True),
    }
    found = asg.describe_auto_scaling_groups(Filters=[{"Name": "tag:Env", "Values": ["dev"]}])[
        "AutoScalingGroups"
    ]
    assert group in [g["AutoScalingGroupName"] for g in found]
    asg.delete_tags(
        Tags=[{"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": "Env"}]
    )
    tags = asg.describe_tags(Filters=[{"Name": "auto-scaling-group", "Values": [group]}])["Tags"]
    assert [t["Key"] for t in tags] == ["Team"]


def test_warm_pool_round_trip_and_refusal_on_a_mixed_group(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=0, max_size=3)
    asg.put_warm_pool(
        AutoScalingGroupName=group, MinSize=1, PoolState="Stopped", MaxGroupPreparedCapacity=1
    )
    pool = wait_for("a warm instance", lambda: _warm(asg, group, "Warmed:Stopped"))
    assert pool["WarmPoolConfiguration"]["MinSize"] == 1
    asg.delete_warm_pool(AutoScalingGroupName=group)
    assert asg.describe_warm_pool(AutoScalingGroupName=group)["Instances"] == []
    template = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][
        0
    ]["LaunchTemplate"]
    mixed = make_group(
        twin,
        desired=0,
        MixedInstancesPolicy={
            "LaunchTemplate": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": template["LaunchTemplateId"]},
                "Overrides": [{"InstanceType": "t3.small"}, {"InstanceType": "t3.medium"}],
            }
        },
    )
    with pytest.raises(ClientError, match="mixed instances policy"):
        asg.put_warm_pool(AutoScalingGroupName=mixed, MinSize=1)


def _warm(asg: Any, group: str, state: str) -> Any:
    pool = asg.describe_warm_pool(AutoScalingGroupName=group)
    return pool if [i["LifecycleState"] for i in pool["Instances"]] == [state] else None


def test_activities_say_what_happened_and_why(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=1)
    in_state(twin, group, "InService")
    asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)
    in_state(twin, group, "InService", count=2)
    activities = asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
    assert len(activities) == 2 and all(a["StatusCode"] == "Successful" for a in activities)
    newest = activities[0]
    assert "changing the desired capacity from 1 to 2" in newest["Cause"]
    assert newest["Progress"] == 100 and newest["EndTime"] >= newest["StartTime"]


def test_ec2_records_carry_the_launch_template_and_a_loopback_address(twin: Any) -> None:
    group = make_group(
        twin, desired=2, Tags=[{"Key": "Team", "Value": "ci", "PropagateAtLaunch": True}]
    )
    ids = in_state(twin, group, "InService", count=2)
    ec2 = twin.client("ec2")
    found = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    rows = [i for r in found for i in r["Instances"]]
    assert sorted(i["InstanceId"] for i in rows) == sorted(ids)
    for row in rows:
        tags = {t["Key"]: t["Value"] for t in row["Tags"]}
        assert (
            tags["aws:autoscaling:groupName"] == group
            and tags["Team"] == "ci"
            and tags["Role"] == "runner"
        )
        assert (
            row["InstanceType"] == "t3.small" and row["MetadataOptions"]["HttpTokens"] == "required"
        )
        assert (
            row["PrivateIpAddress"].startswith("127.0.") and row["PrivateIpAddress"] != "127.0.0.1"
        )
        assert (
            row["PrivateDnsName"]
            == "ip-" + row["PrivateIpAddress"].replace(".", "-") + ".ec2.internal"
        )
    assert len({r["SubnetId"] for r in rows}) == 2  # spread over the group's zones
    # no moto-assigned address anywhere in what a client can read
    assert "172.31." not in str(ec2.describe_instances()) and "10.42." not in str(
        ec2.describe_network_interfaces()
    )
