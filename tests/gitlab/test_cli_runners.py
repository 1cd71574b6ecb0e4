"""`runnerfleet runners create|list|prune` through main(): stand-in + moto (stack with an ASG)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from runnerfleet.cli.main import main
from runnerfleet.errors import ExitCode
from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.stack.system_id import system_id_for_instance
from tests.gitlab.conftest import PAT, STACK, THREE, write_env

TEMPLATE = {
    "Resources": {
        "LT": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
            },
        },
        "ASG": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "MinSize": "1",
                "MaxSize": "1",
                "DesiredCapacity": "1",
                "VPCZoneIdentifier": ["SUB"],
                "LaunchTemplate": {
                    "LaunchTemplateId": {"Ref": "LT"},
                    "Version": {"Fn::GetAtt": ["LT", "LatestVersionNumber"]},
                },
            },
        },
    }
}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _stack_instance() -> str:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    body = json.dumps(TEMPLATE).replace('"SUB"', json.dumps(subnet))
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName=STACK, TemplateBody=body
    )
    groups = boto3.client("autoscaling", region_name="us-east-1").describe_auto_scaling_groups()
    return str(groups["AutoScalingGroups"][0]["Instances"][0]["InstanceId"])


def test_create_list_prune(
    tmp_path: Path, standin: GitLabStandIn, aws: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", PAT)
    envfile = str(write_env(tmp_path, standin.url, THREE))
    assert main(["runners", "create", envfile]) == 0
    printed = capsys.readouterr()
    tokens = [r.token for r in standin.state.runners.values()]
    assert len(tokens) == 3
    for secret in [*tokens, PAT]:
        assert secret not in printed.out + printed.err
    live = _stack_instance()
    for token, instance in ((tokens[0], live), (tokens[0], "i-0fedcba9876543210")):
        body = {"token": token, "system_id": system_id_for_instance(instance)}
        requests.post(f"{standin.url}/api/v4/runners/verify", json=body, timeout=5)
    assert main(["runners", "list", envfile]) == 0
    listing = capsys.readouterr().out
    assert live in listing and "no live instance" in listing and "never_contacted" in listing
    assert main(["runners", "prune", envfile]) == 0
    dry = capsys.readouterr()
    assert system_id_for_instance("i-0fedcba9876543210") in dry.out and "dry run" in dry.err
    assert len(standin.state.managers) == 2
    assert main(["runners", "prune", envfile, "--apply"]) == 0
    assert "deleted in SSM, 1 manager(s) removed" in capsys.readouterr().out
    assert [m.system_id for m in standin.state.managers.values()] == [system_id_for_instance(live)]


def test_prune_after_a_destroy_says_what_it_found_and_cleans_gitlab_and_ssm(
    tmp_path: Path, standin: GitLabStandIn, aws: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", PAT)
    envfile = str(write_env(tmp_path, standin.url, THREE))
    assert main(["runners", "create", envfile]) == 0
    ssm = boto3.client("ssm", region_name="us-east-1")
    assert len(ssm.describe_parameters()["Parameters"]) == 3
    capsys.readouterr()
    assert main(["runners", "prune", envfile]) == 0  # no stack: destroyed, or never deployed
    found = capsys.readouterr().out
    assert found.count("the stack is gone") == 3 and "every manager matches" not in found
    assert main(["runners", "prune", envfile, "--apply"]) == 0
    assert "3 runner(s) deleted in GitLab, 3 token parameter(s)" in capsys.readouterr().out
    assert standin.state.runners == {} and ssm.describe_parameters()["Parameters"] == []
    assert main(["runners", "prune", envfile]) == 0
    assert "no runner and SSM no token of this stack left" in capsys.readouterr().out


def test_token_is_never_a_command_line_option(capsys: Any) -> None:
    for command in ("create", "list", "prune"):
        assert main(["runners", command, "--help"]) == 0
        text = capsys.readouterr().out
        assert "--gitlab-url" in text and "--token" not in text


def test_missing_access_token_and_unreachable_gitlab(
    tmp_path: Path, aws: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    envfile = str(write_env(tmp_path, "http://127.0.0.1:9", THREE))
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    assert main(["runners", "create", envfile]) == ExitCode.GITLAB
    assert "GITLAB_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("GITLAB_TOKEN", PAT)
    assert main(["runners", "create", envfile]) == ExitCode.GITLAB
    text = capsys.readouterr().err
    assert "unreachable" in text and PAT not in text
    assert boto3.client("ssm", region_name="us-east-1").describe_parameters()["Parameters"] == []
