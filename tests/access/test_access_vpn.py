"""AWS adapters of the access feature: moto for IAM, ACM, identitystore; Stubber for Client VPN."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from runnerfleet.access import certs, groups
from runnerfleet.access.limits import load_access
from runnerfleet.access.profile import write_profile
from runnerfleet.aws import access_vpn, identity
from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.errors import AwsError, SpecError
from tests.access.samlkit import make_idp, metadata_xml
from tests.conftest import EXAMPLES

REGION = "eu-west-1"
ENDPOINT_ID = "cvpn-endpoint-0123456789abcdef0"
HOST = f"{ENDPOINT_ID[5:]}.prod.clientvpn.{REGION}.amazonaws.com"
OVPN = f"client\ndev tun\nproto udp\nremote {HOST} 443\nauth-federate\n"


@pytest.fixture
def factory() -> Iterator[ClientFactory]:
    with mock_aws():
        yield ClientFactory(AwsTarget(region=REGION))


def _stubbed_ec2() -> tuple[Any, Stubber]:
    # The sandbox-style target gives dummy credentials; Stubber answers before any network.
    ec2 = ClientFactory(AwsTarget(region=REGION, endpoint_url="http://127.0.0.1:9")).client("ec2")
    return ec2, Stubber(ec2)


def test_acm_import_with_chain_and_reimport_keeps_arn(factory: ClientFactory) -> None:
    now = dt.datetime.now(dt.UTC)  # ACM checks validity against its own clock
    acm = factory.client("acm")
    arn = access_vpn.import_certificate(acm, certs.generate("vpn.example.internal", now), name="t")
    described = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    assert described["DomainName"] == "vpn.example.internal"
    assert described["Type"] == "IMPORTED"
    assert (
        "-----BEGIN CERTIFICATE-----" in acm.get_certificate(CertificateArn=arn)["CertificateChain"]
    )
    again = access_vpn.import_certificate(
        acm, certs.generate("vpn.example.internal", now), certificate_arn=arn
    )
    assert again == arn


def test_acm_refusal_does_not_echo_the_key(factory: ClientFactory) -> None:
    bundle = certs.generate("vpn.example.internal", dt.datetime.now(dt.UTC))
    broken = certs.CertBundle(bundle.ca_pem, bundle.cert_pem, b"not a key")
    with pytest.raises(AwsError) as info:
        access_vpn.import_certificate(factory.client("acm"), broken)
    assert "not a key" not in str(info.value) and info.value.__cause__ is None


def test_group_names_resolve_and_unknown_names_are_all_reported(
    factory: ClientFactory,
) -> None:
    store = identity.identity_store_id(factory.client("sso-admin"))
    ids = factory.client("identitystore")
    made = ids.create_group(IdentityStoreId=store, DisplayName="Runner Operators")["GroupId"]
    spec = load_access(EXAMPLES / "access" / "access.yaml")
    names = groups.names_to_resolve(spec)
    assert identity.resolve_groups(ids, store, names) == {"Runner Operators": made}
    with pytest.raises(SpecError) as info:
        identity.resolve_groups(ids, store, ["Runner Operators", "runner operators", "Nope"])
    assert len(info.value.problems) == 2
    assert "'runner operators' does not exist" in info.value.problems[0]


def test_existing_saml_provider_is_detected(factory: ClientFactory) -> None:
    iam = factory.client("iam")
    iam.create_saml_provider(
        SAMLMetadataDocument=metadata_xml(make_idp()).decode(), Name="runnerfleet-dev-client-vpn"
    )
    found = access_vpn.existing_providers(iam, ["runnerfleet-dev-client-vpn", "other"])
    assert [a.rsplit("/", 1)[1] for a in found] == ["runnerfleet-dev-client-vpn"]


def test_profile_export_checks_auth_federate(tmp_path: Path) -> None:
    ec2, stub = _stubbed_ec2()
    stub.add_response(
        "export_client_vpn_client_configuration",
        {"ClientConfiguration": OVPN},
        {"ClientVpnEndpointId": ENDPOINT_ID},
    )
    stub.add_response(
        "export_client_vpn_client_configuration",
        {"ClientConfiguration": OVPN.replace("auth-federate\n", "auth-user-pass\n")},
        {"ClientVpnEndpointId": ENDPOINT_ID},
    )
    with stub:
        text = access_vpn.export_profile(ec2, ENDPOINT_ID)
        with pytest.raises(AwsError, match="no auth-federate directive"):
            access_vpn.export_profile(ec2, ENDPOINT_ID)
    stub.assert_no_pending_responses()
    path = write_profile(tmp_path / "dev.ovpn", text)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(SpecError, match="--force"):
        write_profile(path, text)


def test_describe_endpoint_portal_url() -> None:
    ec2, stub = _stubbed_ec2()
    answer = {
        "ClientVpnEndpoints": [
            {
                "ClientVpnEndpointId": ENDPOINT_ID,
                "Status": {"Code": "available"},
                "DnsName": f"*.{ENDPOINT_ID}.prod.clientvpn.{REGION}.amazonaws.com",
                "SelfServicePortalUrl": f"https://self-service.clientvpn.amazonaws.com/endpoints/{ENDPOINT_ID}",
            }
        ]
    }
    stub.add_response(
        "describe_client_vpn_endpoints", answer, {"ClientVpnEndpointIds": [ENDPOINT_ID]}
    )
    stub.add_response(
        "describe_client_vpn_endpoints",
        {"ClientVpnEndpoints": []},
        {"ClientVpnEndpointIds": [ENDPOINT_ID]},
    )
    stub.add_client_error("describe_client_vpn_endpoints", "InvalidClientVpnEndpointId.NotFound")
    with stub:
        info = access_vpn.describe_endpoint(ec2, ENDPOINT_ID)
        assert info.status == "available" and info.portal_enabled
        assert info.portal_url.endswith(ENDPOINT_ID)
        with pytest.raises(AwsError, match="not found"):
            access_vpn.describe_endpoint(ec2, ENDPOINT_ID)
        with pytest.raises(AwsError, match=r"InvalidClientVpnEndpointId\.NotFound"):
            access_vpn.describe_endpoint(ec2, ENDPOINT_ID)


def test_endpoint_id_from_stack_outputs() -> None:
    cfn = ClientFactory(AwsTarget(region=REGION, endpoint_url="http://127.0.0.1:9")).client(
        "cloudformation"
    )
    stub = Stubber(cfn)
    stack = {
        "StackName": "acc",
        "CreationTime": dt.datetime(2026, 1, 1),
        "StackStatus": "CREATE_COMPLETE",
        "Outputs": [{"OutputKey": "ClientVpnEndpointId", "OutputValue": ENDPOINT_ID}],
    }
    stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "acc"})
    with stub:
        assert access_vpn.endpoint_from_stack(cfn, "acc") == ENDPOINT_ID


def test_server_certificate_expiry_is_checked_before_deploy(factory: ClientFactory) -> None:
    now = dt.datetime.now(dt.UTC)
    acm = factory.client("acm")
    short = access_vpn.import_certificate(acm, certs.generate("vpn.example.internal", now, days=10))
    assert "re-import with --certificate-arn" in access_vpn.certificate_warnings(acm, short, now)[0]
    with pytest.raises(SpecError, match="expired on"):
        access_vpn.certificate_warnings(acm, short, now + dt.timedelta(days=11))
    fine = access_vpn.import_certificate(acm, certs.generate("vpn.example.internal", now))
    assert access_vpn.certificate_warnings(acm, fine, now) == []
