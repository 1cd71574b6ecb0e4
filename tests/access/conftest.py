"""Fixtures of the access tests: an example access file to change, moto with its network."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from runnerfleet.access import certs
from runnerfleet.aws import access_vpn
from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.cli import commands_access
from tests.conftest import EXAMPLES


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables must not wrap the messages the tests look for."""
    for console in (commands_access.out, commands_access.err):
        monkeypatch.setattr(console, "_width", 300)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the example access file whose metadata the test may rotate."""
    for item in (EXAMPLES / "access").iterdir():
        shutil.copy(item, tmp_path / item.name)
    return tmp_path


@pytest.fixture
def aws(workdir: Path) -> Iterator[str]:
    """moto with the example's VPC and subnets (IDs rewritten in the copy) and a server
    certificate in ACM, whose ARN is yielded."""
    with mock_aws():
        factory = ClientFactory(AwsTarget(region="eu-west-1"))
        _network(factory.client("ec2"), workdir / "access.yaml")
        bundle = certs.generate("vpn.dev.example.internal", dt.datetime.now(dt.UTC))
        yield access_vpn.import_certificate(factory.client("acm"), bundle)


def _network(ec2: Any, config: Path) -> None:
    text = config.read_text()
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    text = text.replace("vpc-0a1b2c3d4e5f60718", vpc)
    for old, cidr, az in (
        ("subnet-0aa11bb22cc33dd44", "10.20.1.0/24", "eu-west-1a"),
        ("subnet-0ee55ff66aa77bb88", "10.20.2.0/24", "eu-west-1b"),
    ):
        made = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]
        text = text.replace(old, made["SubnetId"])
    config.write_text(text)
