"""Deploy tests share the suite's moto server (tests/conftest.py); each uses unique stacks."""

from __future__ import annotations

import uuid

import pytest

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.sandbox import emulator

REGION = "us-east-1"


@pytest.fixture
def factory(moto_endpoint: str) -> ClientFactory:
    return ClientFactory(AwsTarget(region=REGION, endpoint_url=moto_endpoint, max_attempts=1))


@pytest.fixture
def bucket(factory: ClientFactory) -> str:
    name = f"artefacts-{uuid.uuid4().hex[:12]}"
    factory.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def seeded(moto_endpoint: str) -> emulator.Seeded:
    """The sandbox's VPC, private subnets and bucket, once per server."""
    return emulator.seed(moto_endpoint, REGION)
