"""Instance refresh through the endpoint: batches, SkipMatching, protection, checkpoints, cancel.

Facts: aws-autoscaling-facts.md §4 ([BC-AS RefreshPreferences], [UG:asg-instance-refresh]).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.twin.helpers import in_state, make_group, states, wait_for

pytestmark = pytest.mark.timeout(120)


def _refresh(asg: Any, group: str, refresh_id: str) -> dict[str, Any]:
    (row,) = asg.describe_instance_refreshes(
        AutoScalingGroupName=group, InstanceRefreshIds=[refresh_id]
    )["InstanceRefreshes"]
    return dict(row)


def _finished(asg: Any, group: str, refresh_id: str) -> dict[str, Any] | None:
    row = _refresh(asg, group, refresh_id)
    return row if row["Status"] not in ("Pending", "InProgress", "Cancelling") else None


def test_a_refresh_replaces_every_instance_in_batches(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=2)
    before = set(in_state(twin, group, "InService", count=2))
    refresh_id = asg.start_instance_refresh(
        AutoScalingGroupName=group, Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 0}
    )["InstanceRefreshId"]
    with pytest.raises(ClientError) as twice:
        asg.start_instance_refresh(AutoScalingGroupName=group)
    assert twice.value.response["Error"]["Code"] == "InstanceRefreshInProgress"
    done = wait_for("the refresh", lambda: _finished(asg, group, refresh_id), timeout_s=60)
    assert (done["Status"], done["PercentageComplete"], done["InstancesToUpdate"]) == (
        "Successful",
        100,
        0,
    )
    after = set(in_state(twin, group, "InService", count=2))
    assert not before & after
    launches = [
        a
        for a in asg.describe_scaling_activities(AutoScalingGroupName=group)["Activities"]
        if "instance refresh" in a["Cause"]
    ]
    assert len(launches) >= 2  # the terminations (and their replacements) name the refresh


def test_skip_matching_and_a_new_desired_configuration(twin: Any) -> None:
    asg, ec2 = twin.client("autoscaling"), twin.client("ec2")
    group = make_group(twin, desired=1)
    (old,) = in_state(twin, group, "InService")
    template = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][
        0
    ]["LaunchTemplate"]
    same = asg.start_instance_refresh(
        AutoScalingGroupName=group, Preferences={"SkipMatching": True}
    )["InstanceRefreshId"]
    assert wait_for("no-op refresh", lambda: _finished(asg, group, same))["Status"] == "Successful"
    assert list(states(twin, group)) == [old]  # it already matched
    ec2.create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"],
        SourceVersion="1",
        LaunchTemplateData={"InstanceType": "t3.large"},
    )
    new = asg.start_instance_refresh(
        AutoScalingGroupName=group,
        DesiredConfiguration={
            "LaunchTemplate": {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "2"}
        },
        Preferences={"SkipMatching": True, "InstanceWarmup": 0},
    )["InstanceRefreshId"]
    assert (
        wait_for("the refresh", lambda: _finished(asg, group, new), timeout_s=60)["Status"]
        == "Successful"
    )
    instances = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"
    ][0]["Instances"]
    assert [(i["InstanceType"], i["LaunchTemplate"]["Version"]) for i in instances] == [
        ("t3.large", "2")
    ]


def test_protected_instances_wait_or_are_ignored(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=1)
    (iid,) = in_state(twin, group, "InService")
    asg.set_instance_protection(
        AutoScalingGroupName=group, InstanceIds=[iid], ProtectedFromScaleIn=True
    )
    waiting = asg.start_instance_refresh(AutoScalingGroupName=group)["InstanceRefreshId"]
    wait_for(
        "the wait", lambda: "protected" in _refresh(asg, group, waiting).get("StatusReason", "")
    )
    assert asg.cancel_instance_refresh(AutoScalingGroupName=group)["InstanceRefreshId"] == waiting
    assert wait_for("cancelled", lambda: _finished(asg, group, waiting))["Status"] == "Cancelled"
    with pytest.raises(ClientError) as none_active:
        asg.cancel_instance_refresh(AutoScalingGroupName=group)
    assert none_active.value.response["Error"]["Code"] == "ActiveInstanceRefreshNotFound"
    ignored = asg.start_instance_refresh(
        AutoScalingGroupName=group, Preferences={"ScaleInProtectedInstances": "Ignore"}
    )["InstanceRefreshId"]
    assert wait_for("done", lambda: _finished(asg, group, ignored))["Status"] == "Successful"
    assert list(states(twin, group)) == [iid]


def test_checkpoints_pause_the_refresh(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=2)
    in_state(twin, group, "InService", count=2)
    refresh_id = asg.start_instance_refresh(
        AutoScalingGroupName=group,
        Preferences={
            "MinHealthyPercentage": 50,
            "InstanceWarmup": 0,
            "CheckpointPercentages": [50, 100],
            "CheckpointDelay": 3,
        },
    )["InstanceRefreshId"]
    paused = wait_for(
        "the checkpoint",
        lambda: "checkpoint" in _refresh(asg, group, refresh_id).get("StatusReason", ""),
    )
    assert paused
    assert _refresh(asg, group, refresh_id)["PercentageComplete"] == 50
    assert (
        wait_for("done", lambda: _finished(asg, group, refresh_id), timeout_s=60)["Status"]
        == "Successful"
    )


def test_refresh_preferences_are_checked(twin: Any) -> None:
    asg = twin.client("autoscaling")
    group = make_group(twin, desired=0)
    with pytest.raises(ClientError, match="AutoRollback parameter cannot be set to true"):
        asg.start_instance_refresh(AutoScalingGroupName=group, Preferences={"AutoRollback": True})
    with pytest.raises(ClientError, match="CheckpointPercentages"):
        asg.start_instance_refresh(
            AutoScalingGroupName=group, Preferences={"CheckpointPercentages": [60, 20]}
        )
