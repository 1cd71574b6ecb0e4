"""`runnerfleet access destroy`: AWS's teardown order, preview, confirmation, bad input.

moto runs CloudFormation, IAM, ACM and CloudWatch Logs; it lacks the Client VPN EC2 calls and
skips the Client VPN and SAML provider resource types, so those are stubbed (botocore Stubber)
or, for the stack's outputs, written into a stand-in stack.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from runnerfleet.access import certs
from runnerfleet.access.limits import load_access
from runnerfleet.aws import access_vpn
from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.errors import AwsError
from runnerfleet.ops import access_destroy
from runnerfleet.ops.access_destroy import Waits
from runnerfleet.ops.target import Target, no_gitlab
from tests.access.samlkit import make_idp, metadata_xml
from tests.access.test_cli import GROUP, run
from tests.deploy.helpers import Recorder
from tests.ops.stubs import FakeClock

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
STACK = "runnerfleet-dev-access"
ENDPOINT = "cvpn-endpoint-0123456789abcdef0"
REGION = "eu-west-1"


def flat(text: str) -> str:
    """The output without table borders and padding: one space between words."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def _stacks(factory: ClientFactory) -> list[str]:
    listed = factory.client("cloudformation").list_stacks()["StackSummaries"]
    return [s["StackName"] for s in listed if s["StackStatus"] != "DELETE_COMPLETE"]


def test_destroy_previews_asks_then_tears_down_and_keeps_the_log_group(
    workdir: Path,
    aws: str,
) -> None:
    config = str(workdir / "access.yaml")
    code, text = run(
        "deploy", config, "--certificate-arn", aws, "--group", GROUP,
        "--region", REGION, "--yes",
    )  # fmt: skip
    assert code == 0, text
    factory = ClientFactory(AwsTarget(region=REGION))

    code, text = run("destroy", config, "--region", REGION, "--dry-run")
    text = flat(text)
    assert code == 0, text
    assert f"delete stack {STACK}: authorisation rules, routes, security group" in text
    assert f"delete ACM certificate {aws}" in text
    assert "keep AWS::Logs::LogGroup" in text and "dry run: nothing was changed" in text
    assert STACK in _stacks(factory)

    code, text = run("destroy", config, "--region", REGION, input="runnerfleet-dev\n")
    assert code == 130 and "cancelled; nothing was changed" in text
    assert STACK in _stacks(factory)

    code, text = run("destroy", config, "--region", REGION, input=f"{STACK}\n")
    text = flat(text)
    assert code == 0, text
    assert f"stack {STACK} deleted" in text and f"ACM certificate {aws} deleted" in text
    assert STACK not in _stacks(factory)
    assert factory.client("acm").list_certificates()["CertificateSummaryList"] == []
    groups = factory.client("logs").describe_log_groups()["logGroups"]
    kept = [g["logGroupName"] for g in groups if "ConnectionLogGroup" in g["logGroupName"]]
    assert kept and f"kept AWS::Logs::LogGroup {kept[0]} in {REGION}" in text

    code, text = run("destroy", config, "--region", REGION, "--yes")
    assert code == 2 and f"there is no access stack {STACK} in {REGION}" in text


def test_destroy_refuses_a_missing_or_broken_file(tmp_path: Path) -> None:
    code, text = run("destroy", str(tmp_path / "nope.yaml"), "--dry-run")
    assert code == 2 and "nope.yaml" in text and "Traceback" not in text
    broken = tmp_path / "access.yaml"
    broken.write_text("name: x\nclient_cidr: 10.0.0.0/8\n")
    code, text = run("destroy", str(broken), "--dry-run")
    assert code == 2 and "access.yaml" in text and "Traceback" not in text


@dataclass
class Standin:
    factory: ClientFactory
    config: Path
    cert: str
    ec2: Stubber  # the factory caches the client: the use case gets this stubbed one

    @property
    def target(self) -> Target:
        return Target(self.factory, no_gitlab("unused"))


@pytest.fixture
def standin(workdir: Path) -> Iterator[Standin]:
    """moto with a stack that has what the real access stack outputs (moto cannot make the
    endpoint or the providers), the two providers in IAM and the certificate in ACM."""
    with mock_aws():
        factory = ClientFactory(AwsTarget(region=REGION))
        spec = load_access(workdir / "access.yaml")
        iam = factory.client("iam")
        doc = metadata_xml(make_idp()).decode()
        arns = [
            iam.create_saml_provider(SAMLMetadataDocument=doc, Name=name)["SAMLProviderArn"]
            for name in (spec.saml.vpn_provider_name, spec.saml.portal_provider_name)
        ]
        bundle = certs.generate("vpn.dev.example.internal", dt.datetime.now(dt.UTC))
        cert = access_vpn.import_certificate(factory.client("acm"), bundle)
        template = {
            "Parameters": {"ServerCertificateArn": {"Type": "String"}},
            "Resources": {
                "ConnectionLogGroup": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"}
            },
            "Outputs": {
                "ClientVpnEndpointId": {"Value": ENDPOINT},
                "VpnSamlProviderArn": {"Value": arns[0]},
                "PortalSamlProviderArn": {"Value": arns[1]},
            },
        }
        factory.client("cloudformation").create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "ServerCertificateArn", "ParameterValue": cert}],
        )
        yield Standin(factory, workdir / "access.yaml", cert, Stubber(factory.client("ec2")))


def _networks(*rows: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "ClientVpnTargetNetworks": [
            {"AssociationId": a, "TargetNetworkId": s, "Status": {"Code": c}} for a, s, c in rows
        ]
    }


def _plan(standin: Standin, *, keep: bool = False) -> access_destroy.Teardown:
    return access_destroy.plan_teardown(
        load_access(standin.config), standin.target, certificate_arn=None, keep_certificate=keep
    )


def _plan_reads(stub: Stubber) -> None:
    ask = {"ClientVpnEndpointId": ENDPOINT}
    stub.add_response(
        "describe_client_vpn_target_networks",
        _networks(
            ("cvpn-assoc-0a", "subnet-a", "associated"),
            ("cvpn-assoc-0b", "subnet-b", "associated"),
        ),
        ask,
    )
    connections = [
        {"ConnectionId": "cvpn-connection-1", "Status": {"Code": "active"}},
        {"ConnectionId": "cvpn-connection-2", "Status": {"Code": "terminated"}},
    ]
    stub.add_response("describe_client_vpn_connections", {"Connections": connections}, ask)


def test_teardown_follows_aws_order_with_stubbed_client_vpn(
    standin: Standin,
) -> None:
    factory, cert, target, stub = standin.factory, standin.cert, standin.target, standin.ec2
    _plan_reads(stub)
    ask = {"ClientVpnEndpointId": ENDPOINT}
    for assoc in ("cvpn-assoc-0a", "cvpn-assoc-0b"):
        stub.add_response(
            "disassociate_client_vpn_target_network",
            {"AssociationId": assoc, "Status": {"Code": "disassociating"}},
            {**ask, "AssociationId": assoc},
        )
    polls = (_networks(("cvpn-assoc-0b", "subnet-b", "disassociating")), _networks())
    for answer in polls:
        stub.add_response("describe_client_vpn_target_networks", answer, ask)
    reporter, clock = Recorder(), FakeClock(0.0)
    with stub:
        plan = _plan(standin)
        steps = plan.steps()
        assert steps[3] == (
            "delete stack",
            f"{STACK}: endpoint {ENDPOINT}, authorisation rules, routes, security group",
        )
        assert steps[0] == ("cut off", "1 connected client(s) of the endpoint")
        assert [a for a, _ in steps[1:4]] == ["disassociate", "disassociate", "delete stack"]
        assert [a for a, _ in steps[4:]] == ["delete", "delete", "delete", "keep"]
        done = access_destroy.destroy_access(
            plan, target, confirm=lambda p: True, reporter=reporter, clock=clock
        )
        stub.assert_no_pending_responses()
    order = [text.split(" ")[0] for _env, text in reporter.steps]
    assert order == ["disassociating", "disassociating", "2", "stack", "IAM", "IAM", "ACM"]
    assert clock.slept == [10.0]  # one poll while subnet-b was still disassociating
    assert factory.client("iam").list_saml_providers()["SAMLProviderList"] == []
    assert factory.client("acm").list_certificates()["CertificateSummaryList"] == []
    assert ("deleted", f"ACM certificate {cert}") in done.done


def test_stuck_disassociation_stops_before_the_stack_is_touched(
    standin: Standin,
) -> None:
    stub, target = standin.ec2, standin.target
    _plan_reads(stub)
    ask = {"ClientVpnEndpointId": ENDPOINT}
    for assoc in ("cvpn-assoc-0a", "cvpn-assoc-0b"):
        stub.add_response(
            "disassociate_client_vpn_target_network", {}, {**ask, "AssociationId": assoc}
        )
    for _ in range(3):
        stub.add_response(
            "describe_client_vpn_target_networks",
            _networks(("cvpn-assoc-0a", "subnet-a", "disassociating")),
            ask,
        )
    with stub:
        plan = _plan(standin)
        with pytest.raises(AwsError, match="cvpn-assoc-0a still disassociating after 20 s"):
            access_destroy.destroy_access(
                plan,
                target,
                confirm=lambda p: True,
                reporter=Recorder(),
                clock=FakeClock(0.0),
                waits=Waits(poll_s=10, disassociate_s=20),
            )
    assert STACK in _stacks(standin.factory)


def test_certificate_used_elsewhere_or_asked_to_keep_stays(
    standin: Standin,
) -> None:
    stub, cert = standin.ec2, standin.cert
    ask = {"ClientVpnEndpointId": ENDPOINT}
    for _ in range(2):
        stub.add_response("describe_client_vpn_target_networks", _networks(), ask)
        stub.add_response("describe_client_vpn_connections", {"Connections": []}, ask)
    with stub:
        kept = _plan(standin, keep=True)
        assert ("keep", f"ACM certificate {cert}: --keep-certificate") in kept.steps()
        acm = standin.factory.client("acm")
        other = "arn:aws:ec2:eu-west-1:123456789012:client-vpn-endpoint/cvpn-endpoint-0ther"
        with Stubber(acm) as acm_stub:
            acm_stub.add_response(
                "describe_certificate",
                {"Certificate": {"CertificateArn": cert, "Type": "IMPORTED", "InUseBy": [other]}},
                {"CertificateArn": cert},
            )
            shared = _plan(standin)
    assert ("keep", f"ACM certificate {cert}: also used by {other}") in shared.steps()
