"""In sandbox mode nothing dials the environment file's GitLab or the instance metadata address.

`doctor --sandbox` once POSTed the runner tokens to the real GitLab URL of the environment
file; the sandbox target now carries the stand-in's URL and token, and its AWS session has
explicit credentials, so botocore never walks the credential chain to 169.254.169.254.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.credentials
import pytest
from moto import mock_aws

from runnerfleet.aws.clients import SANDBOX_ACCESS_KEY, AwsTarget, ClientFactory
from runnerfleet.cli.compose import sandbox_target
from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.ops.doctor import DoctorContext, Finding
from runnerfleet.ops.doctor_gitlab import gitlab_reachable, runner_tokens
from runnerfleet.sandbox.emulator import sandbox_spec
from runnerfleet.sandbox.state import SandboxState
from tests.conftest import EXAMPLES

STAND_IN = "http://127.0.0.1:18080"


def _state(gitlab_url: str | None) -> SandboxState:
    return SandboxState(
        endpoint="http://127.0.0.1:1",
        pid=0,
        port=1,
        region="us-east-1",
        vpc_id="vpc-00000001",
        subnet_ids=("subnet-00000001",),
        bucket="runnerfleet-sandbox",
        log_file="sandbox.log",
        gitlab_url=gitlab_url,
    )


class _Clients:
    def __init__(self) -> None:
        self.ssm = boto3.client("ssm", region_name="us-east-1")

    def client(self, name: str) -> Any:
        assert name == "ssm"
        return self.ssm


class _GitLab:
    """Records where doctor connects and answers as a GitLab would."""

    def __init__(self, dialed: list[str], url: str) -> None:
        self.dialed, self.url = dialed, url

    def http_get(self, path: str) -> dict[str, str]:
        self.dialed.append(self.url + path)
        return {"version": "17.5.0"}

    def http_post(self, path: str, post_data: dict[str, str]) -> dict[str, str]:
        self.dialed.append(self.url + path)
        return {}


@pytest.fixture
def dialed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(
        "runnerfleet.gitlab.client.connect", lambda url, _token, **_kw: _GitLab(calls, url)
    )
    return calls


def _doctor_gitlab(spec: FleetSpec, state: SandboxState) -> list[Finding]:
    clients = _Clients()
    local = sandbox_spec(spec, state)
    for reg in local.registrations:
        clients.ssm.put_parameter(
            Name=local.token_parameter(reg), Value="glrt-sandbox", Type="SecureString"
        )
    ctx = DoctorContext(local, clients, lambda _s: None, sandbox_target(state).gitlab)
    return [*gitlab_reachable(ctx), *runner_tokens(ctx)]


def test_doctor_in_the_sandbox_asks_only_the_stand_in(dialed: list[str]) -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    assert not spec.runner.gitlab_url.startswith("http://127.")
    with mock_aws():
        findings = _doctor_gitlab(spec, _state(STAND_IN))
    assert dialed and all(url.startswith(STAND_IN + "/") for url in dialed)
    assert any(url.endswith("/runners/verify") for url in dialed)
    assert {f.severity for f in findings} == {"ok"}


def test_doctor_in_a_sandbox_without_a_stand_in_dials_no_gitlab(dialed: list[str]) -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    with mock_aws():
        findings = _doctor_gitlab(spec, _state(None))
    assert dialed == []
    assert [f.severity for f in findings] == ["warning"]
    assert "GitLab not checked" in findings[0].message


def test_sandbox_clients_never_walk_the_credential_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    def metadata_probe(*_a: object, **_kw: object) -> None:
        raise AssertionError("the instance metadata address was asked for credentials")

    monkeypatch.setattr(botocore.credentials.InstanceMetadataProvider, "load", metadata_probe)
    monkeypatch.setattr(botocore.credentials.ContainerProvider, "load", metadata_probe)
    factory = ClientFactory(AwsTarget(region="us-east-1", endpoint_url="http://127.0.0.1:1"))
    client: Any = factory.client("ssm")
    credentials = client._request_signer._credentials  # what botocore signs with
    assert credentials.access_key == SANDBOX_ACCESS_KEY


def test_sandbox_runners_are_scraped_on_loopback_only() -> None:
    address_of = sandbox_target(_state(STAND_IN)).metrics_address
    assert address_of("i-0123456789abcdef0", "127.0.100.7") == "127.0.100.7"  # the twin's
    for elsewhere in ("172.31.3.4", "10.0.0.9", None, "not-an-address"):
        assert address_of("i-0123456789abcdef0", elsewhere) is None
