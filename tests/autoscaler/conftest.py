"""The suite's moto server (tests/conftest.py), and an Auto Scaling group per test."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from runnerfleet.aws.clients import AwsTarget, ClientFactory

REGION = "us-east-1"


@pytest.fixture(scope="session")
def aws(moto_endpoint: str) -> ClientFactory:
    # one factory for the session: clients are costly to build, and every test uses its own group
    return ClientFactory(AwsTarget(region=REGION, endpoint_url=moto_endpoint, max_attempts=1))


@dataclass
class Group:
    name: str
    ids: list[str]


def make_group(
    aws: ClientFactory, desired: int, max_size: int = 10, name: str | None = None
) -> Group:
    ec2, asg = aws.client("ec2"), aws.client("autoscaling")
    name = name or f"fleet-{uuid.uuid4().hex[:8]}"
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ec2.create_launch_template(
        LaunchTemplateName=f"{name}-lt",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
    )
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": f"{name}-lt"},
        MinSize=0,
        MaxSize=max_size,
        DesiredCapacity=desired,
        VPCZoneIdentifier=subnet,
    )
    return Group(name, instance_ids(aws, name))


def instance_ids(aws: ClientFactory, name: str) -> list[str]:
    group = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return sorted(i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"])


@pytest.fixture
def group3(aws: ClientFactory) -> Group:
    return make_group(aws, desired=3)
