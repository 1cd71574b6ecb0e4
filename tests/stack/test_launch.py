"""The instance side of the template: launch template, group, hooks, security groups."""

from __future__ import annotations

import pytest

from runnerfleet.errors import SpecError
from runnerfleet.stack.template import synthesize
from tests.stack.helpers import example, full_variant


def _res(spec, name):  # type: ignore[no-untyped-def]
    return synthesize(spec)["Resources"][name]


def _lt_data(spec):  # type: ignore[no-untyped-def]
    return _res(spec, "LaunchTemplate")["Properties"]["LaunchTemplateData"]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_launch_template_is_locked_down(name: str) -> None:
    data = _lt_data(example(name))
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is False
    ebs = data["BlockDeviceMappings"][0]["Ebs"]
    assert ebs == {
        "DeleteOnTermination": True,
        "Encrypted": True,
        "VolumeSize": 100,
        "VolumeType": "gp3",
    }
    assert data["IamInstanceProfile"] == {"Arn": {"Fn::GetAtt": ["InstanceProfile", "Arn"]}}
    assert "KeyName" not in data  # no SSH key: operators use SSM


def test_hop_limit_two_only_when_jobs_use_the_instance_role() -> None:
    assert _lt_data(full_variant())["MetadataOptions"]["HttpPutResponseHopLimit"] == 2


def test_user_data_is_the_bootstrap_without_secrets() -> None:
    spec = example("dev")
    user_data = _lt_data(spec)["UserData"]["Fn::Base64"]
    assert user_data.startswith("#!/bin/bash\n") and "set -euo pipefail" in user_data
    assert "glrt-" not in user_data


def test_group_hooks_and_policies() -> None:
    spec = example("dev")
    asg = _res(spec, "AutoScalingGroup")
    props = asg["Properties"]
    hooks = {h["LifecycleTransition"]: h for h in props["LifecycleHookSpecificationList"]}
    launch = hooks["autoscaling:EC2_INSTANCE_LAUNCHING"]
    terminate = hooks["autoscaling:EC2_INSTANCE_TERMINATING"]
    assert (launch["DefaultResult"], terminate["DefaultResult"]) == ("ABANDON", "CONTINUE")
    assert launch["HeartbeatTimeout"] == terminate["HeartbeatTimeout"] == 600
    assert props["TerminationPolicies"][0] == "OldestLaunchTemplate"
    assert "OldestLaunchConfiguration" not in props["TerminationPolicies"]
    assert props["MaxInstanceLifetime"] == 604800
    assert props["VPCZoneIdentifier"] == list(spec.network.subnet_ids)
    rolling = asg["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert "Launch" not in rolling["SuspendProcesses"]
    assert asg["CreationPolicy"]["ResourceSignal"]["Count"] == 1  # dev: desired 1
    # a stack update must not reset the size the autoscaler chose
    assert asg["UpdatePolicy"]["AutoScalingScheduledAction"] == {
        "IgnoreUnmodifiedGroupSizeProperties": True
    }


def test_tags_propagate_with_name_and_stack() -> None:
    tags = _res(example("prod"), "AutoScalingGroup")["Properties"]["Tags"]
    assert all(t["PropagateAtLaunch"] for t in tags)
    keys = [t["Key"] for t in tags]
    assert keys == sorted(keys)
    assert {"AppId", "CostCenter", "Name", "RunnerfleetStack"} <= set(keys)


def test_no_creation_policy_when_the_group_starts_empty() -> None:
    """desired 0: no instance would ever signal, so a CreationPolicy would fail the create."""
    asg = _res(full_variant(), "AutoScalingGroup")
    assert "CreationPolicy" not in asg
    assert asg["UpdatePolicy"]["AutoScalingRollingUpdate"]["WaitOnResourceSignals"] is True


def test_spot_uses_a_mixed_instances_policy() -> None:
    props = _res(example("prod"), "AutoScalingGroup")["Properties"]
    assert "LaunchTemplate" not in props
    mixed = props["MixedInstancesPolicy"]
    overrides = [o["InstanceType"] for o in mixed["LaunchTemplate"]["Overrides"]]
    assert overrides == ["m7i.large", "m6i.large", "m5.large"]
    dist = mixed["InstancesDistribution"]
    assert (dist["OnDemandBaseCapacity"], dist["OnDemandPercentageAboveBaseCapacity"]) == (1, 25)
    assert props["CapacityRebalance"] is True
    assert props["TerminationPolicies"][0] == "AllocationStrategy"


def test_warm_pool_references_the_group() -> None:
    pool = _res(full_variant(), "WarmPool")
    assert pool["Properties"]["AutoScalingGroupName"] == {"Ref": "AutoScalingGroup"}
    assert pool["Properties"]["InstanceReusePolicy"] == {"ReuseOnScaleIn": False}


def test_runners_accept_only_metrics_from_the_autoscaler() -> None:
    resources = synthesize(example("dev"))["Resources"]
    ingress = resources["RunnerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress == [
        {
            "Description": "Prometheus metrics, scraped by the autoscaler",
            "IpProtocol": "tcp",
            "FromPort": 9252,
            "ToPort": 9252,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["AutoscalerSecurityGroup", "GroupId"]},
        }
    ]
    extra_ingress = [r for r in resources.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    assert extra_ingress == []
    egress = resources["AutoscalerToRunnerMetrics"]["Properties"]
    assert egress["DestinationSecurityGroupId"] == {
        "Fn::GetAtt": ["RunnerSecurityGroup", "GroupId"]
    }


def test_missing_checksum_is_an_error_that_says_what_to_add() -> None:
    spec = example("dev")
    bare = spec.model_copy(update={"runner": spec.runner.model_copy(update={"sha256": None})})
    with pytest.raises(SpecError) as caught:
        synthesize(bare)
    assert "runner.sha256" in str(caught.value) and caught.value.hint


def test_deletion_order_keeps_the_drain_machinery_until_the_group_is_gone() -> None:
    resources = synthesize(example("prod"))["Resources"]
    depends = set(resources["AutoScalingGroup"]["DependsOn"])
    needed = {
        "LifecycleFunction", "LifecycleRule", "LifecyclePermission", "DrainDocument",
        "DrainLogGroup", "SpotFunction", "SpotRule", "SpotPermission", "SpotDocument",
        "DeadLetterQueue", "BootstrapLogGroup", "RunnerLogGroup",
    }  # fmt: skip
    assert needed <= depends
    # ...while the autoscaler depends on the group, so it goes first and cannot scale up.
    env = resources["AutoscalerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["RUNNERFLEET_GROUP"] == {"Ref": "AutoScalingGroup"}
    assert "AutoscalerFunction" not in depends
