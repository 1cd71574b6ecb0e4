"""`runnerfleet access ...` end to end through typer: exit codes, files, guards."""

from __future__ import annotations

import base64
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
import typer
from botocore.stub import Stubber
from moto import mock_aws
from typer.testing import CliRunner

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.cli import commands_access
from runnerfleet.errors import RunnerfleetError
from runnerfleet.ops.target import Target, no_gitlab
from tests.access.samlkit import GROUP_A, POST, make_idp, metadata_xml, response_xml
from tests.conftest import EXAMPLES

GROUP = "Runner Operators=a1b2c3d4e5-11112222-3333-4444-5555-666677778888"
# moto's CloudFormation skips the Client VPN and SAML provider types (it says so, loudly)
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
PORTAL = "https://self-service.clientvpn.amazonaws.com/endpoints/"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    app = typer.Typer()
    commands_access.register(app)
    # standalone_mode=False as in runnerfleet.cli.main: the command's return value is the code
    result = CliRunner().invoke(app, ["access", *args], input=input, standalone_mode=False)
    if isinstance(result.exception, RunnerfleetError):
        return int(result.exception.exit_code), result.output + str(result.exception)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    value = result.return_value
    return (value if isinstance(value, int) else result.exit_code), result.output


def test_check_metadata_ok_and_missing_redirect(tmp_path: Path) -> None:
    code, text = run("check-metadata", str(EXAMPLES / "access" / "vpn-client-metadata.xml"))
    assert code == 0 and "usable for Client VPN" in text
    bad = tmp_path / "post-only.xml"
    bad.write_bytes(metadata_xml(make_idp(), bindings=(POST,)))
    code, text = run("check-metadata", str(bad))
    assert code == 2 and "no HTTP-Redirect SingleSignOnService" in text


def test_check_assertion_against_config_rules(workdir: Path) -> None:
    idp = make_idp()
    (workdir / "vpn-client-metadata.xml").write_bytes(metadata_xml(idp))
    captured = workdir / "resp.b64"
    captured.write_bytes(base64.b64encode(response_xml(idp, groups=(GROUP_A,))))
    at = "2026-06-01T12:01:00Z"
    args = ["check-assertion", str(captured), "--config", str(workdir / "access.yaml")]
    code, text = run(*args, "--at", at, "--group", GROUP)
    assert code == 0, text
    assert "10.20.8.0/24" in text and "d***@example.com" in text
    assert "dev@example.com" not in text  # the e-mail is masked
    code, text = run(*args)  # now, not the capture time: expired
    assert code == 2 and "expired at" in text
    captured.write_bytes(response_xml(idp).replace(b"dev@example.com", b"eve@example.com"))
    code, text = run(*args, "--at", at)
    assert code == 2 and "signature does not verify" in text


def test_preflight_free_and_busy_port() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    holder.listen(1)
    try:
        code, text = run("preflight", "--port", str(port))
        assert code == 1 and "in use" in text
    finally:
        holder.close()
    code, text = run("preflight", "--port", str(port))
    assert code == 0 and f"127.0.0.1:{port} is free" in text


def test_cert_writes_private_keys_0600_and_never_prints_them(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    code, text = run("cert", "--domain", "vpn.dev.example.internal", "--out", str(out))
    assert code == 0 and "PRIVATE KEY" not in text
    assert stat.S_IMODE((out / "server.key").stat().st_mode) == 0o600
    code, text = run("cert", "--domain", "vpn.dev.example.internal", "--out", str(out))
    assert code == 2 and "--force" in text
    code, text = run("cert", "--out", str(out), "--check")
    assert code == 0 and "valid until" in text
    with mock_aws():
        code, text = run("cert", "--out", str(out), "--check", "--import", "--region", "eu-west-1")
    assert code == 0 and "imported into ACM: arn:aws:acm:eu-west-1:" in text


def test_deploy_output_renders_template(workdir: Path) -> None:
    target = workdir / "access.json"
    code, text = run(
        "deploy", str(workdir / "access.yaml"), "--output", str(target), "--group", GROUP
    )
    assert code == 0 and target.read_text().startswith("{")
    (workdir / "self-service-metadata.xml").write_bytes(
        metadata_xml(make_idp(), valid_until="2020-01-01T00:00:00Z")
    )
    code, text = run(
        "deploy", str(workdir / "access.yaml"), "--output", str(target), "--group", GROUP
    )
    assert code == 2 and "saml.portal_metadata" in text and "metadata expired" in text


def test_deploy_through_change_sets_rotation_and_replacement_guard(workdir: Path, aws: str) -> None:
    config = str(workdir / "access.yaml")
    common = ["--group", GROUP, "--region", "eu-west-1", "--yes"]
    code, text = run("deploy", config, "--certificate-arn", CERT, *common)
    assert code == 5 and "reading server certificate" in text  # not in ACM
    code, text = run("deploy", config, "--certificate-arn", aws, *common)
    assert code == 0 and "CREATE_COMPLETE" in text, text
    code, text = run("deploy", config, *common)
    assert code == 0 and "no changes" in text
    (workdir / "vpn-client-metadata.xml").write_bytes(metadata_xml(make_idp()))  # rotation
    code, text = run("deploy", config, *common)
    assert code == 0 and "UPDATE_COMPLETE" in text, text
    moved = (workdir / "access.yaml").read_text().replace("10.100.0.0/22", "10.200.0.0/22")
    (workdir / "access.yaml").write_text(moved)
    code, text = run("deploy", config, *common)
    assert code == 3 and "would replace ClientVpnEndpoint (ClientCidrBlock changes" in text


def test_deploy_refuses_hand_made_provider_with_same_name(workdir: Path, aws: str) -> None:
    iam = ClientFactory(AwsTarget(region="eu-west-1")).client("iam")
    iam.create_saml_provider(
        SAMLMetadataDocument=metadata_xml(make_idp()).decode(), Name="runnerfleet-dev-client-vpn"
    )
    code, text = run(
        "deploy",
        str(workdir / "access.yaml"),
        "--certificate-arn",
        CERT,
        "--group",
        GROUP,
        "--region",
        "eu-west-1",
        "--yes",
    )
    assert code == 2 and "already exist" in text


def test_deploy_declined_deletes_the_change_set(workdir: Path, aws: str) -> None:
    code, text = run(
        "deploy",
        str(workdir / "access.yaml"),
        "--certificate-arn",
        aws,
        "--group",
        GROUP,
        "--region",
        "eu-west-1",
        input="n\n",
    )
    assert code == 130 and "cancelled" in text
    cfn = ClientFactory(AwsTarget(region="eu-west-1")).client("cloudformation")
    names = [
        s["StackName"]
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert "runnerfleet-dev-access" not in names


class _Factory:
    def __init__(self, ec2: Any) -> None:
        self.ec2 = ec2

    def client(self, service: str) -> Any:
        assert service == "ec2"
        return self.ec2


def test_profile_writes_ovpn_and_prints_portal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ec2 = ClientFactory(AwsTarget(region="eu-west-1", endpoint_url="http://127.0.0.1:9")).client(
        "ec2"
    )
    endpoint = "cvpn-endpoint-0123456789abcdef0"
    stub = Stubber(ec2)
    stub.add_response(
        "export_client_vpn_client_configuration",
        {"ClientConfiguration": "client\nauth-federate\n"},
        {"ClientVpnEndpointId": endpoint},
    )
    stub.add_response(
        "describe_client_vpn_endpoints",
        {
            "ClientVpnEndpoints": [
                {
                    "ClientVpnEndpointId": endpoint,
                    "Status": {"Code": "available"},
                    "SelfServicePortalUrl": PORTAL + endpoint,
                }
            ]
        },
        {"ClientVpnEndpointIds": [endpoint]},
    )
    fake = Target(_Factory(ec2), no_gitlab("unused"))  # type: ignore[arg-type]
    monkeypatch.setattr(commands_access, "target_for", lambda *a: fake)
    target = tmp_path / "dev.ovpn"
    with stub:
        code, text = run("profile", "--endpoint-id", endpoint, "--out", str(target))
    assert code == 0, text
    assert f"self-service portal: {PORTAL}{endpoint}" in text
    assert "auth-federate" in target.read_text()


def test_deploy_checks_subnets_against_aws(workdir: Path, aws: str) -> None:
    config = workdir / "access.yaml"
    swapped = config.read_text().replace("az: eu-west-1a", "az: eu-west-1c")
    config.write_text(swapped.replace("10.20.0.0/16\n", "10.30.0.0/16\n", 1))
    code, text = run(
        "deploy",
        str(config),
        "--certificate-arn",
        aws,
        "--group",
        GROUP,
        "--region",
        "eu-west-1",
        "--yes",
    )
    assert code == 2, text
    assert "subnets[0].az: says eu-west-1c, the subnet is in eu-west-1a" in text
    assert "vpc_cidr: 10.30.0.0/16 is not a CIDR of vpc-" in text


def test_example_sample_response_checks_out() -> None:
    """The documented try-it command works on the shipped example files."""
    code, text = run(
        "check-assertion",
        str(EXAMPLES / "access" / "sample-response.b64"),
        "--config",
        str(EXAMPLES / "access" / "access.yaml"),
        "--at",
        "2026-06-01T12:01:00Z",
        "--group",
        GROUP,
    )
    assert code == 0, text
    assert "o***@example.com" in text and "10.20.8.0/24" in text


def test_access_file_limit_errors_name_file_line_key_and_fix(workdir: Path) -> None:
    config = workdir / "access.yaml"
    lines = config.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip().startswith("client_cidr:"))
    config.write_text(config.read_text().replace("10.100.0.0/22", "10.100.0.0/24"))
    code, text = run("deploy", str(config), "--output", str(workdir / "a.json"), "--group", GROUP)
    assert code == 2
    expected = f"{config}:{line}: client_cidr: 10.100.0.0/24 is a /24; Client VPN needs /12 to /22"
    assert f"{expected}; fix: pick a block between /12 and /22" in text
