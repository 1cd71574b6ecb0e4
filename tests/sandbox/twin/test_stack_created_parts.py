"""A stack's functions and documents are found as the twin's process holds them: moto with
Lambda's Docker execution off (functions in moto's "simple" backend), documents created by
CloudFormation (their Content kept as the template's object)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from runnerfleet.sandbox.twin.lambdas import moto_functions
from runnerfleet.sandbox.twin.ssmdocs import moto_documents

ACCOUNT, REGION = "123456789012", "us-east-1"
DOCUMENT = {
    "schemaVersion": "2.2",
    "description": "drain",
    "parameters": {"Token": {"type": "String"}},
    "mainSteps": [
        {"action": "aws:runShellScript", "name": "drain", "inputs": {"runCommand": ["true"]}}
    ],
}


def _code_in_s3() -> dict[str, str]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artefacts-x")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return 1\n")
    s3.put_object(Bucket="artefacts-x", Key="code.zip", Body=buf.getvalue())
    return {"S3Bucket": "artefacts-x", "S3Key": "code.zip"}


@pytest.fixture
def stack() -> Iterator[None]:
    with mock_aws(config={"lambda": {"use_docker": False}}):
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="fn", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        function = {"FunctionName": "stack-fn", "Runtime": "python3.12", "Handler": "h.handler",
                    "Role": role, "Code": _code_in_s3()}  # fmt: skip
        template = {
            "Resources": {
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": function},
                "Doc": {
                    "Type": "AWS::SSM::Document",
                    "Properties": {
                        "Name": "stack-drain",
                        "DocumentType": "Command",
                        "DocumentFormat": "JSON",
                        "Content": DOCUMENT,
                    },
                },
            }
        }
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
        yield


def test_a_stack_created_function_is_found(stack: None) -> None:
    config = moto_functions(ACCOUNT, REGION)("stack-fn", None)
    assert (config.name, config.handler) == ("stack-fn", "h.handler")


def test_a_stack_created_document_is_read(stack: None) -> None:
    document = moto_documents(ACCOUNT, REGION)("stack-drain", "")
    assert document.content["mainSteps"][0]["name"] == "drain"
