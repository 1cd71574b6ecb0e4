"""Every IAM statement of every template is scoped; the exceptions are listed with reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from runnerfleet.stack.iam import UNSCOPABLE_ACTIONS
from runnerfleet.stack.template import synthesize
from tests.stack.helpers import all_specs, example, variant

READ_VERBS = ("Describe", "Get", "List")
# Reads that expose secrets: never on "*" (AmazonSSMManagedInstanceCore's GetParameter on "*"
# let every instance read every stack's tokens).
SECRET_READS = {
    "kms:Decrypt",
    "s3:GetObject",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
}
SPECS = all_specs()


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, res in template["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            for pol in res["Properties"].get("Policies", []):
                for st in pol["PolicyDocument"]["Statement"]:
                    yield name, st


def _is_read(action: str) -> bool:
    return action.split(":", 1)[1].startswith(READ_VERBS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_no_write_action_on_star_unless_unscopable(name: str) -> None:
    template = synthesize(SPECS[name])
    seen = 0
    for role, st in _statements(template):
        seen += 1
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert not any("*" in a for a in actions), f"{role}/{st['Sid']}: wildcard action"
        if st["Resource"] == "*":
            bad = [a for a in actions if not _is_read(a) and a not in UNSCOPABLE_ACTIONS]
            bad += [a for a in actions if a in SECRET_READS]
            assert bad == [], f"{role}/{st['Sid']}: write on '*': {bad}"
        else:
            assert "*" not in st["Resource"], f"{role}/{st['Sid']}: '*' among resources"
    assert seen > 20


def test_unscopable_list_is_used_and_explained() -> None:
    used = set()
    for spec in SPECS.values():
        for _, st in _statements(synthesize(spec)):
            if st["Resource"] == "*":
                used.update(st["Action"])
    assert set(UNSCOPABLE_ACTIONS) <= used  # no stale entry in the list
    assert all(len(reason) > 20 for reason in UNSCOPABLE_ACTIONS.values())


def _role_text(template: dict[str, Any], role: str) -> str:
    return json.dumps(template["Resources"][role]["Properties"]["Policies"])


def test_instance_role_reads_only_its_own_parameters() -> None:
    spec = example("dev")
    template = synthesize(spec)
    reads = [
        st
        for r, st in _statements(template)
        if r == "InstanceRole" and "ssm:GetParameter" in st["Action"]
    ]
    assert len(reads) == 1
    paths = [r["Fn::Sub"] for r in reads[0]["Resource"]]
    assert paths == [
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/runnerfleet/runnerfleet-dev",
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/runnerfleet/runnerfleet-dev/*",
    ]
    role = template["Resources"]["InstanceRole"]["Properties"]
    assert "ManagedPolicyArns" not in role  # AmazonSSMManagedInstanceCore reads every parameter


def test_token_outside_the_path_is_named_exactly() -> None:
    template = synthesize(SPECS["full"])
    assert 'parameter/elsewhere/platform-token"' in _role_text(template, "InstanceRole")
    assert "kms:ResourceAliases" in _role_text(template, "InstanceRole")


def test_send_command_only_on_own_document_and_tagged_instances() -> None:
    template = synthesize(example("prod"))
    for role in ("LifecycleRole", "SpotRole"):
        sends = [
            st for r, st in _statements(template) if r == role and "ssm:SendCommand" in st["Action"]
        ]
        assert len(sends) == 2
        tagged = [st for st in sends if "Condition" in st]
        assert tagged[0]["Condition"] == {
            "StringEquals": {"aws:ResourceTag/RunnerfleetStack": {"Ref": "AWS::StackName"}}
        }


def test_metrics_are_limited_to_the_namespace() -> None:
    for _, st in _statements(synthesize(example("prod"))):
        if "cloudwatch:PutMetricData" in st["Action"]:
            assert "cloudwatch:namespace" in st["Condition"]["StringEquals"]


def test_each_function_has_its_own_role() -> None:
    resources = synthesize(SPECS["full"])["Resources"]
    roles = [
        r["Properties"]["Role"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
    ]
    assert len(roles) == len({json.dumps(r) for r in roles}) == 3


def _explicit_names(template: dict[str, Any]) -> list[str]:
    keys = ("AutoScalingGroupName", "FunctionName", "LaunchTemplateName", "LogGroupName",
            "DashboardName", "Name", "RoleName", "InstanceProfileName")  # fmt: skip
    names = []
    for res in template["Resources"].values():
        if res["Type"] in ("AWS::Lambda::Permission", "AWS::AutoScaling::WarmPool"):
            continue
        for key in keys:
            value = res["Properties"].get(key)
            if value is not None:
                names.append(json.dumps(value))
    return names


def test_every_explicit_name_derives_from_the_stack() -> None:
    names = _explicit_names(synthesize(example("prod")))
    assert len(names) >= 10
    assert all("${AWS::StackName}" in n for n in names), names
    assert not [n for n in names if "RoleName" in n]  # IAM is global: names are generated


def test_two_stacks_share_no_name() -> None:
    blue = variant(example("dev"), stack_name="fleet-blue")
    green = variant(blue, stack_name="fleet-green")

    def resolved(spec: Any) -> set[str]:
        return {
            n.replace("${AWS::StackName}", spec.stack) for n in _explicit_names(synthesize(spec))
        }

    assert resolved(blue) and not resolved(blue) & resolved(green)
