"""A moto server on 127.0.0.1 per test session, and an Auto Scaling group per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from moto.server import ThreadedMotoServer

from runnerfleet.aws.clients import AwsTarget, ClientFactory

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws(moto_url: str) -> ClientFactory:
    # one factory for the session: clients are costly to build, and every test uses its own group
    return ClientFactory(AwsTarget(region=REGION, endpoint_url=moto_url, max_attempts=1))


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
