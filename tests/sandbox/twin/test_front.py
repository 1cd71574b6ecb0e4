"""The front: routes by SigV4 service, passes the rest to moto unchanged, fails like AWS."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply, signing_scope

SEEN: list[dict[str, Any]] = []

DESCRIBE_VPCS = (
    b'<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
    b"<requestId>r</requestId><vpcSet><item><vpcId>vpc-from-moto</vpcId></item></vpcSet>"
    b"</DescribeVpcsResponse>"
)


def fake_moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    SEEN.append({"body": environ["wsgi.input"].read(length), "path": environ["PATH_INFO"]})
    start_response("200 OK", [("Content-Type", "text/xml")])
    return [DESCRIBE_VPCS]


@pytest.fixture(autouse=True)
def _forget() -> None:
    SEEN.clear()


def test_signing_scope_names_service_and_region() -> None:
    header = (
        "AWS4-HMAC-SHA256 Credential=AKID/20261202/eu-west-1/autoscaling/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )
    assert signing_scope(header) == ("autoscaling", "eu-west-1")
    assert signing_scope("") == ("", "")


def test_unrouted_services_reach_moto_with_their_body(serve_front: Any) -> None:
    served = serve_front(fake_moto, {})
    vpcs = served.client("ec2").describe_vpcs()["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == ["vpc-from-moto"]
    assert b"Action=DescribeVpcs" in SEEN[0]["body"]


def test_a_route_answers_its_service_and_may_rewrite_moto(serve_front: Any) -> None:
    calls: list[AwsRequest] = []

    def rewrite(request: AwsRequest, moto: Passthrough) -> Reply:
        calls.append(request)
        reply = moto()
        return reply.with_body(reply.body.replace(b"vpc-from-moto", b"vpc-rewritten"))

    served = serve_front(fake_moto, {"ec2": rewrite})
    vpcs = served.client("ec2").describe_vpcs(VpcIds=["vpc-1"])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == ["vpc-rewritten"]
    assert calls[0].action == "DescribeVpcs" and calls[0].region == "us-east-1"
    assert calls[0].form()["VpcId.1"] == ["vpc-1"]
    assert b"VpcId.1=vpc-1" in SEEN[0]["body"]  # moto saw the whole original body


def test_a_failing_route_answers_internal_failure_not_a_traceback(serve_front: Any) -> None:
    def broken(request: AwsRequest, moto: Passthrough) -> Reply:
        raise RuntimeError("boom")

    served = serve_front(fake_moto, {"ec2": broken, "ssm": broken})
    with pytest.raises(ClientError) as query_error:
        served.client("ec2").describe_vpcs()
    assert query_error.value.response["Error"]["Code"] == "InternalFailure"
    assert "DescribeVpcs" in query_error.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as json_error:  # JSON protocol: a JSON error body
        served.client("ssm").get_parameter(Name="x")
    assert json_error.value.response["Error"]["Code"] == "InternalFailure"
    assert json_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
