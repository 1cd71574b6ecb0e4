"""doctor: every check runs and reports; moto for the account and network, Stubber for drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runnerfleet.cli.compose import gitlab_access
from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec, NetworkSection
from runnerfleet.ops.doctor import DoctorContext, Finding, ok, run_checks, run_doctor
from runnerfleet.ops.doctor_stack import drift
from runnerfleet.ops.target import Target
from tests.conftest import EXAMPLES
from tests.ops.stubs import client, stubbed


class Clients:
    def __init__(self, **fixed: Any) -> None:
        self.fixed = fixed

    def client(self, name: str) -> Any:
        if name not in self.fixed:
            self.fixed[name] = boto3.client(name, region_name="us-east-1")
        return self.fixed[name]


def _network(ec2: Any) -> NetworkSection:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")[
        "Subnet"
    ]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    nat = ec2.create_nat_gateway(SubnetId=public)["NatGateway"]["NatGatewayId"]
    for subnet, target in ((private, {"NatGatewayId": nat}), (public, {"GatewayId": igw})):
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    return NetworkSection(vpc_id=vpc, subnet_ids=(private, public))


@pytest.fixture
def env() -> Iterator[tuple[FleetSpec, Clients]]:
    with mock_aws():
        clients = Clients()
        spec = load_environment(EXAMPLES / "dev.yaml")
        spec = spec.model_copy(update={"network": _network(clients.client("ec2"))})
        yield spec, clients


def target(spec: FleetSpec, clients: Clients) -> Target:
    return Target(clients, gitlab_access(spec))  # type: ignore[arg-type]


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings}


def test_doctor_reports_every_check(env: tuple[FleetSpec, Clients]) -> None:
    spec, clients = env
    found = by_id(run_doctor(spec, target(spec, clients), sleep=lambda _s: None))
    private, public = spec.network.subnet_ids
    assert found["credentials"].severity == "ok"
    assert found["vpc"].severity == "ok"
    assert found[f"subnet {private}"].severity == "ok"
    assert "NAT" in found[f"subnet {private}"].message
    assert found[f"subnet {public}"].severity == "warning"
    assert found["artefact-bucket"].severity == "error"
    assert "aws s3 mb" in found["artefact-bucket"].fix
    assert found["service-linked-role"].severity == "warning"
    assert found["ami"].severity == "ok"
    assert found["type t3.medium"].severity == "ok"
    assert "quotas" in found
    assert found["gitlab"].severity == "warning"  # no GITLAB_TOKEN in the test environment
    assert found["runner backend"].severity == "error"
    assert found["stack"].severity == "warning" and "not deployed" in found["stack"].message
    assert found["boot times"].severity == "ok"  # moto computes no percentile: no boots
    assert all(f.fix for f in found.values() if f.severity != "ok")
    # the wrong account fails; a bucket that exists passes
    clients.client("s3").create_bucket(Bucket=spec.artifacts.bucket)
    other = spec.model_copy(
        update={"aws": spec.aws.model_copy(update={"account_id": "999999999999"})}
    )
    again = by_id(run_doctor(other, target(other, clients), drift=False, sleep=lambda _s: None))
    assert again["credentials"].severity == "error"
    assert again["artefact-bucket"].severity == "ok"


def test_a_crashing_check_is_a_finding_and_the_rest_still_run() -> None:
    def broken(_ctx: DoctorContext) -> list[Finding]:
        raise RuntimeError("boom")

    ctx = DoctorContext(spec=None, clients=None, sleep=lambda _s: None)  # type: ignore[arg-type]
    found = run_checks(ctx, [("broken", broken), ("fine", lambda _c: [ok("fine", "yes")])])
    assert [(f.code, f.severity) for f in found] == [("broken", "error"), ("fine", "ok")]
    assert "boom" in found[0].message


def test_drift_lists_drifted_resources_and_properties() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    cfn = client("cloudformation")
    did = "b78ac9b0-dec1-11e7-a451-503a3e8e8d32"
    with stubbed(cfn) as (c,):
        c.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": spec.stack,
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": "UPDATE_COMPLETE",
                    }
                ]
            },
        )
        c.add_response(
            "detect_stack_drift", {"StackDriftDetectionId": did}, {"StackName": spec.stack}
        )
        base = {
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/x/y",
            "StackDriftDetectionId": did,
            "Timestamp": "2026-01-01T00:00:00Z",
        }
        c.add_response(
            "describe_stack_drift_detection_status",
            {**base, "DetectionStatus": "DETECTION_IN_PROGRESS"},
        )
        c.add_response(
            "describe_stack_drift_detection_status",
            {**base, "DetectionStatus": "DETECTION_COMPLETE", "StackDriftStatus": "DRIFTED"},
        )
        c.add_response(
            "describe_stack_resource_drifts",
            {
                "StackResourceDrifts": [
                    {
                        "StackId": base["StackId"],
                        "LogicalResourceId": "FleetGroup",
                        "ResourceType": "AWS::AutoScaling::AutoScalingGroup",
                        "StackResourceDriftStatus": "MODIFIED",
                        "Timestamp": "2026-01-01T00:00:00Z",
                        "PropertyDifferences": [
                            {
                                "PropertyPath": "/MaxSize",
                                "ExpectedValue": "6",
                                "ActualValue": "9",
                                "DifferenceType": "NOT_EQUAL",
                            }
                        ],
                    }
                ]
            },
            {"StackName": spec.stack, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"]},
        )
        ctx = DoctorContext(spec, Clients(cloudformation=cfn), sleep=lambda _s: None)
        found = list(drift(ctx))
    assert [(f.code, f.severity) for f in found] == [("drift FleetGroup", "warning")]
    assert "/MaxSize" in found[0].message


def _put_secret(ssm: Any, name: str, value: str) -> None:
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def test_gitlab_reachable_and_runner_tokens_against_the_stand_in() -> None:
    from runnerfleet.gitlab.client import connect
    from runnerfleet.ops.doctor_gitlab import gitlab_reachable, runner_tokens
    from runnerfleet.sandbox.standin import GitLabStandIn

    pat = "glpat-doctor-0000000000"
    with GitLabStandIn() as server, mock_aws():
        server.state.add_access_token(pat, scopes=("api",), admin=True)
        server.state.add_project(1234, "acme/backend")
        token = connect(server.url, pat).http_post(
            "/user/runners", post_data={"runner_type": "project_type", "project_id": 1234}
        )["token"]
        spec = load_environment(EXAMPLES / "dev.yaml")
        spec = spec.model_copy(
            update={"runner": spec.runner.model_copy(update={"gitlab_url": server.url})}
        )
        clients = Clients()
        ssm = clients.client("ssm")
        for reg, value in zip(spec.registrations, ("glrt-not-a-real-token", token), strict=True):
            ssm.put_parameter(Name=spec.token_parameter(reg), Value=value, Type="SecureString")
        ctx = DoctorContext(spec, clients, sleep=lambda _s: None, gitlab=gitlab_access(spec))
        api_token = spec.runner.gitlab_token.ssm_parameter  # the examples keep it in SSM
        assert api_token is not None
        _put_secret(ssm, api_token, "glpat-wrong-000000000")
        assert [f.severity for f in gitlab_reachable(ctx)] == ["error"]
        _put_secret(ssm, api_token, pat)
        reach = list(gitlab_reachable(ctx))
        tokens = by_id(list(runner_tokens(ctx)))
        url = server.url
    assert reach[0].severity == "ok" and url in reach[0].message
    names = [r.name for r in spec.registrations]
    assert tokens[f"runner {names[0]}"].severity == "error"
    assert tokens[f"runner {names[1]}"].severity == "ok"
    assert "glrt-" not in " ".join(f.message + f.fix for f in tokens.values())
