"""Stubber-backed clients for what moto lacks: ROLLBACK_COMPLETE, failed change sets,
per-resource events, termination protection. Stubber checks each request against the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from runnerfleet.aws.clients import AwsTarget, ClientFactory

STACK = "runnerfleet-dev"
STACK_ID = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1111"
CS_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/runnerfleet-x/2222"
T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


class StubFactory(ClientFactory):
    """A ClientFactory whose clients are stubbed; nothing leaves the process."""

    def __init__(self, target: AwsTarget) -> None:
        super().__init__(target)
        session = boto3.session.Session(
            aws_access_key_id="stub", aws_secret_access_key="stub", region_name="us-east-1"
        )
        self.stubs: dict[str, Stubber] = {}
        for service in ("cloudformation", "s3", "sts", "organizations"):
            made = session.client(service, region_name="us-east-1")
            self._clients[service] = made
            self.stubs[service] = Stubber(made)
            self.stubs[service].activate()

    def cfn(self) -> Stubber:
        return self.stubs["cloudformation"]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def real_target() -> AwsTarget:
    return AwsTarget(region="us-east-1", expected_account="123456789012")


def stack(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackId": STACK_ID,
                "StackName": STACK,
                "StackStatus": status,
                "CreationTime": T0,
                **extra,
            }
        ]
    }


def event(n: int, logical: str, status: str, reason: str = "", kind: str = "") -> dict[str, Any]:
    raw: dict[str, Any] = {
        "StackId": STACK_ID,
        "EventId": f"e{n}",
        "StackName": STACK,
        "LogicalResourceId": logical,
        "ResourceType": kind or "AWS::CloudFormation::Stack",
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def events(*items: dict[str, Any]) -> dict[str, Any]:
    """Newest first, as the API lists them."""
    return {"StackEvents": sorted(items, key=lambda e: e["Timestamp"], reverse=True)}


def no_stack(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {STACK} does not exist",
        http_status_code=400,
    )


def artefact_present(factory: StubFactory, bucket: str) -> None:
    factory.stubs["s3"].add_response("head_bucket", {}, {"Bucket": bucket})
    factory.stubs["s3"].add_response("head_object", {}, {"Bucket": bucket, "Key": ANY})


def caller(factory: StubFactory) -> None:
    factory.stubs["sts"].add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/x", "UserId": "x"},
    )


def change_set_created(
    stub: Stubber,
    change_type: str,
    status: str = "CREATE_COMPLETE",
    reason: str = "",
    changes: list[dict[str, Any]] | None = None,
) -> None:
    stub.add_response(
        "create_change_set",
        {"Id": CS_ID, "StackId": STACK_ID},
        {
            "StackName": STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": change_type,
            "TemplateBody": ANY,
            "Parameters": ANY,
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Tags": ANY,
        },
    )
    described: dict[str, Any] = {
        "ChangeSetId": CS_ID,
        "StackId": STACK_ID,
        "Status": status,
        "Changes": changes or [],
    }
    if reason:
        described["StatusReason"] = reason
    stub.add_response("describe_change_set", described, {"ChangeSetName": CS_ID})
