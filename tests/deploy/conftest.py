"""One moto server per test session (per xdist worker) on 127.0.0.1; tests use unique stacks."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.sandbox import emulator

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    body = json.dumps({"lambda": {"use_docker": False}}).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=body)  # noqa: S310
    with opener.open(request):
        pass
    yield endpoint
    server.stop()


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
