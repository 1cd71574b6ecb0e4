"""StackSet rollout: preview, deploy with progress per account, update, destroy. moto runs the
self-managed path end to end (it ignores operation preferences and auto-deployment); botocore's
Stubber checks the service-managed calls and a failed operation against the service model."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.stacksets import Progress, StackSets
from runnerfleet.cli.main import main
from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import DeployFailedError, ExitCode, SpecError
from runnerfleet.ops import stackset
from tests.deploy.stubs import StubFactory, real_target
from tests.envfile.test_organisation import SELF_MANAGED, SERVICE_MANAGED, env_file

TEMPLATE: dict[str, Any] = {
    "Parameters": {"ImageId": {"Type": "String", "Default": "ami-0123456789abcdef0"}},
    "Resources": {
        "Image": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": {"Fn::Sub": "/${AWS::StackName}/image"},
                "Type": "String",
                "Value": {"Ref": "ImageId"},
            },
        }
    },
}
PARAMETERS = {"ImageId": "ami-0123456789abcdef0"}


def named(spec: FleetSpec, section_name: str) -> FleetSpec:
    org = spec.organisation
    assert org is not None
    return spec.model_copy(
        update={"organisation": org.model_copy(update={"stack_set_name": section_name})}
    )


def test_self_managed_rollout_on_moto(factory: ClientFactory, tmp_path: Path) -> None:
    spec = named(
        load_environment(env_file(tmp_path, SELF_MANAGED)), f"fleet-{uuid.uuid4().hex[:8]}"
    )
    sets = StackSets(factory.client("cloudformation"), sleep=lambda _s: None, poll_s=0)
    first = stackset.preview(spec, TEMPLATE, PARAMETERS, sets)
    assert first.lines()[0].endswith(": create") and len(first.changes) == 4
    seen: list[Progress] = []
    stackset.deploy(first, sets, seen.append)
    assert {str(p.key) for p in seen if p.status == "SUCCEEDED"} == {
        f"{a}/{r}" for a in ("111111111111", "222222222222") for r in ("eu-west-1", "eu-central-1")
    }
    again = stackset.preview(spec, TEMPLATE, PARAMETERS, sets)
    assert not again.has_changes and again.unchanged == 4

    org = spec.organisation
    assert org is not None
    smaller = spec.model_copy(
        update={
            "organisation": org.model_copy(
                update={"accounts": ("111111111111",), "overrides": org.overrides[:1]}
            )
        }
    )
    shrink = stackset.preview(smaller, TEMPLATE, PARAMETERS, sets)
    assert [c.describe() for c in shrink.changes] == [
        "delete 222222222222/eu-central-1",
        "delete 222222222222/eu-west-1",
    ]
    stackset.deploy(shrink, sets, seen.append)
    assert sorted(str(i.key) for i in sets.instances(shrink.definition.name)) == [
        "111111111111/eu-central-1",
        "111111111111/eu-west-1",
    ]

    deleted = stackset.destroy(smaller, sets, seen.append)
    assert deleted == 2 and sets.describe(shrink.definition.name) is None


def test_refused_before_any_call(tmp_path: Path) -> None:
    spec = load_environment(
        env_file(tmp_path, SELF_MANAGED.replace("{ImageId: ami-0f", "{Nope: x, ImageId: ami-0f"))
    )
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client), pytest.raises(SpecError, match=r"overrides\[1\]\.parameters\.Nope"):
        stackset.preview(spec, TEMPLATE, PARAMETERS, StackSets(client))  # no call stubbed


def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return client, Stubber(client)


def test_service_managed_calls(tmp_path: Path) -> None:
    section = (
        SERVICE_MANAGED
        + "  concurrency: {max_concurrent_percentage: 25, failure_tolerance_percentage: 10}\n"
    )
    spec = load_environment(env_file(tmp_path, section))
    client, stub = stubbed()
    name = spec.stack
    not_found = {"service_error_code": "StackSetNotFoundException", "http_status_code": 404}
    stub.add_client_error("describe_stack_set", **not_found)
    stub.add_response(
        "create_stack_set",
        {"StackSetId": "id"},
        {
            "StackSetName": name,
            "TemplateBody": ANY,
            "Parameters": ANY,
            "Capabilities": ANY,
            "Tags": ANY,
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        },
    )
    prefs = {
        "RegionConcurrencyType": "SEQUENTIAL",
        "RegionOrder": ["eu-west-1"],
        "MaxConcurrentPercentage": 25,
        "FailureTolerancePercentage": 10,
    }
    stub.add_response(
        "create_stack_instances",
        {"OperationId": "op-1"},
        {
            "StackSetName": name,
            "Regions": ["eu-west-1"],
            "ParameterOverrides": [],
            "OperationPreferences": prefs,
            "DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-abcdefgh", "r-ab12"]},
        },
    )
    stub.add_response(
        "describe_stack_set_operation", {"StackSetOperation": {"Status": "SUCCEEDED"}}
    )
    stub.add_response(
        "list_stack_set_operation_results",
        {
            "Summaries": [
                {"Account": "111111111111", "Region": "eu-west-1", "Status": "SUCCEEDED"},
            ]
        },
    )
    with stub:
        sets = StackSets(client, sleep=lambda _s: None)
        preview = stackset.preview(spec, TEMPLATE, PARAMETERS, sets)
        seen: list[Progress] = []
        stackset.deploy(preview, sets, seen.append)
    stub.assert_no_pending_responses()
    assert [(str(p.key), p.status) for p in seen] == [("111111111111/eu-west-1", "SUCCEEDED")]


def test_a_failed_operation_names_the_accounts(tmp_path: Path) -> None:
    client, stub = stubbed()
    stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "RUNNING"}})
    stub.add_response(
        "list_stack_set_operation_results",
        {
            "Summaries": [
                {"Account": "111111111111", "Region": "eu-west-1", "Status": "RUNNING"},
            ]
        },
    )
    stub.add_response("describe_stack_set_operation", {"StackSetOperation": {"Status": "FAILED"}})
    stub.add_response(
        "list_stack_set_operation_results",
        {
            "Summaries": [
                {
                    "Account": "111111111111",
                    "Region": "eu-west-1",
                    "Status": "FAILED",
                    "StatusReason": "role missing",
                },
            ]
        },
    )
    seen: list[Progress] = []
    with stub, pytest.raises(DeployFailedError, match="FAILED in 111111111111/eu-west-1"):
        StackSets(client, sleep=lambda _s: None).wait("fleet", "op-1", seen.append)
    assert [(p.status, p.reason) for p in seen] == [("RUNNING", ""), ("FAILED", "role missing")]


def test_cli_refuses_an_overlap_with_a_neighbour_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env_file(tmp_path, SELF_MANAGED)
    env_file(tmp_path, SELF_MANAGED.replace('"111111111111", ', ""), name="qa")
    assert main(["stackset", "preview", str(path)]) == ExitCode.INVALID_INPUT
    error = capsys.readouterr().err
    assert "organisation.accounts[1]: account 222222222222 in eu-central-1" in error
    assert "environment qa" in error and "fix" in error


def test_cli_needs_an_organisation_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env_file(tmp_path, "")
    assert main(["stackset", "deploy", str(path), "--yes"]) == ExitCode.INVALID_INPUT
    assert "has no organisation: section" in capsys.readouterr().err


def units_stubbed(known_root: str) -> tuple[StubFactory, Stubber]:
    factory = StubFactory(real_target())
    organizations = factory.stubs["organizations"]
    organizations.add_response(
        "list_roots", {"Roots": [{"Id": known_root, "Name": "Root", "PolicyTypes": []}]}
    )
    return factory, organizations


def test_an_organisational_unit_not_in_the_organisation_is_refused_before_any_change(
    tmp_path: Path,
) -> None:
    spec = load_environment(env_file(tmp_path, SERVICE_MANAGED))  # ou-ab12-abcdefgh, r-ab12
    factory, organizations = units_stubbed("r-zz99")
    not_found = {"service_error_code": "OrganizationalUnitNotFoundException"}
    organizations.add_client_error(
        "describe_organizational_unit",
        **not_found,
        expected_params={"OrganizationalUnitId": "ou-ab12-abcdefgh"},
    )
    with pytest.raises(SpecError) as caught:
        stackset.prepare(spec, factory)  # no S3, no CloudFormation call is stubbed
    problems = "\n".join(caught.value.problems)
    assert "organisation.organizational_units[0]" in problems
    assert "organisation.organizational_units[1]" in problems  # r-ab12: not this root
    assert "ou-ab12-abcdefgh is not in this organisation" in problems
    assert "list-organizational-units-for-parent" in problems
    factory.verify()


def test_units_are_not_checked_where_the_account_may_not_read_the_organisation(
    tmp_path: Path,
) -> None:
    from runnerfleet.aws.organization import unknown_units

    factory = StubFactory(real_target())
    organizations = factory.stubs["organizations"]
    organizations.add_client_error("list_roots", service_error_code="AccessDeniedException")
    assert unknown_units(factory.client("organizations"), ["ou-ab12-abcdefgh"]) is None
    organizations.add_response("list_roots", {"Roots": [{"Id": "r-ab12"}]})
    organizations.add_response(
        "describe_organizational_unit",
        {"OrganizationalUnit": {"Id": "ou-ab12-abcdefgh"}},
        {"OrganizationalUnitId": "ou-ab12-abcdefgh"},
    )
    found = unknown_units(factory.client("organizations"), ["ou-ab12-abcdefgh", "r-ab12"])
    assert found == []
    factory.verify()
