"""A runner re-created under its old name gets a new token: the instances are refreshed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from runnerfleet.envfile import load_environment
from runnerfleet.gitlab.registry import Action, RegistrationPlan
from runnerfleet.ops.registrations import refresh_for_new_tokens
from runnerfleet.ops.target import Capabilities, Target, no_gitlab
from tests.conftest import EXAMPLES


class Steps:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, env: str, text: str) -> None:
        self.lines.append(text)


def _client(name: str) -> Any:
    return boto3.client(
        name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _sync(*kinds: str) -> SimpleNamespace:
    actions = tuple(Action(kind=k, name=f"r{i}", reason="test") for i, k in enumerate(kinds))  # type: ignore[arg-type]
    return SimpleNamespace(plan=RegistrationPlan(actions=actions))


def _target(clients: Any, **capabilities: Any) -> Target:
    return Target(clients, no_gitlab("unused"), capabilities=Capabilities(**capabilities))  # type: ignore[arg-type]


def test_recreated_runner_starts_a_refresh() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    cfn, events, asg = _client("cloudformation"), _client("events"), _client("autoscaling")
    clients = {"cloudformation": cfn, "events": events, "autoscaling": asg}
    target = _target(SimpleNamespace(client=clients.get))
    with Stubber(cfn) as s_cfn, Stubber(asg) as s_asg:
        s_cfn.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": "AutoScalingGroup",
                        "PhysicalResourceId": "dev-asg",
                        "ResourceType": "AWS::AutoScaling::AutoScalingGroup",
                        "ResourceStatus": "UPDATE_COMPLETE",
                        "LastUpdatedTimestamp": "2026-11-23T00:00:00Z",
                    }
                ]
            },
            {"StackName": spec.stack},
        )
        s_asg.add_response(
            "describe_instance_refreshes",
            {"InstanceRefreshes": []},
            {"AutoScalingGroupName": "dev-asg"},
        )
        s_asg.add_response(
            "start_instance_refresh",
            {"InstanceRefreshId": "ir-1"},
            {"AutoScalingGroupName": "dev-asg", "Strategy": "Rolling", "Preferences": ANY},
        )
        steps = Steps()
        assert refresh_for_new_tokens(_sync("keep", "recreate"), spec, target, steps) == "ir-1"  # type: ignore[arg-type]
        s_asg.assert_no_pending_responses()
    assert "ir-1" in steps.lines[0]


def test_no_refresh_without_new_tokens_or_where_refreshes_are_not_emulated() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    real, emulated = _target(None), _target(None, instance_refresh=False)  # never touched
    steps = Steps()
    assert refresh_for_new_tokens(None, spec, real, steps) is None  # type: ignore[arg-type]
    assert refresh_for_new_tokens(_sync("keep", "create", "delete"), spec, real, steps) is None  # type: ignore[arg-type]
    assert refresh_for_new_tokens(_sync("recreate"), spec, emulated, steps) is None  # type: ignore[arg-type]
    assert steps.lines == ["instance refresh for new runner tokens: skipped (not emulated)"]
