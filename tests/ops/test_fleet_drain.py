"""drain_fleet_to_zero: moto for the stack, group and rule; Stubber where instances linger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runnerfleet.aws.fleet_drain import DestroyMarker, disabled_rules
from runnerfleet.aws.fleet_resources import find_fleet
from runnerfleet.envfile.models import CapacitySection
from runnerfleet.errors import AwsError
from runnerfleet.ops.doctor import DoctorContext
from runnerfleet.ops.doctor_stack import autoscaler
from runnerfleet.ops.drain_fleet import DrainProgress, drain_fleet_to_zero
from runnerfleet.ops.restore import restore_after_interrupted_destroy
from tests.ops.stubs import FakeClock, client, group_response, stubbed

TEMPLATE = {
    "Resources": {
        "LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {
                "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
            },
        },
        "Group": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "MinSize": "2",
                "MaxSize": "4",
                "DesiredCapacity": "3",
                "AvailabilityZones": ["us-east-1a"],
                "LaunchTemplate": {
                    "LaunchTemplateId": {"Ref": "LaunchTemplate"},
                    "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
                },
            },
        },
        "Tick": {
            "Type": "AWS::Events::Rule",
            "Properties": {"ScheduleExpression": "rate(1 minute)", "State": "ENABLED"},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/rf/dev"}},
    }
}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        clients = {
            n: boto3.client(n, region_name="us-east-1")
            for n in ("cloudformation", "autoscaling", "events")
        }
        clients["cloudformation"].create_stack(
            StackName="rf-dev", TemplateBody=json.dumps(TEMPLATE)
        )
        yield clients


def run(aws: dict[str, Any], **kw: Any) -> Any:
    clock = FakeClock(0.0)
    return drain_fleet_to_zero(
        cloudformation=aws["cloudformation"],
        autoscaling=aws["autoscaling"],
        events=aws["events"],
        stack="rf-dev",
        clock=clock,
        timeout_s=600,
        **kw,
    )


def group_of(aws: dict[str, Any]) -> dict[str, Any]:
    return aws["autoscaling"].describe_auto_scaling_groups()["AutoScalingGroups"][0]


def test_finds_the_group_and_the_autoscaler_schedule(aws: dict[str, Any]) -> None:
    fleet = find_fleet(aws["cloudformation"], aws["events"], "rf-dev")
    assert fleet.group == group_of(aws)["AutoScalingGroupName"]
    assert len(fleet.schedule_rules) == 1 and fleet.log_groups == ("/rf/dev",)


def test_destroy_interrupted_halfway_finishes_when_run_again(aws: dict[str, Any]) -> None:
    def interrupt(_p: DrainProgress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(aws, on_progress=interrupt)
    result = run(aws)
    assert result.group == group_of(aws)["AutoScalingGroupName"]
    assert group_of(aws)["Instances"] == [] and group_of(aws)["MinSize"] == 0
    rule = result.paused_rules[0]
    assert aws["events"].describe_rule(Name=rule)["State"] == "DISABLED"
    assert run(aws).paused_rules == result.paused_rules  # a third run is a no-op


def test_missing_stack_is_nothing_to_drain() -> None:
    with mock_aws():
        clock = FakeClock(0.0)
        result = drain_fleet_to_zero(
            cloudformation=boto3.client("cloudformation", region_name="us-east-1"),
            autoscaling=boto3.client("autoscaling", region_name="us-east-1"),
            events=boto3.client("events", region_name="us-east-1"),
            stack="nope",
            clock=clock,
            timeout_s=60,
        )
    assert result.already_gone


def _group(instances: list[tuple[str, str, bool]]) -> dict[str, Any]:
    return group_response(instances, desired=0)


def _stack_calls(cfn: Any, events: Any) -> None:
    cfn.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "rf-dev",
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                }
            ]
        },
    )
    cfn.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "Group",
                    "PhysicalResourceId": "g",
                    "ResourceType": "AWS::AutoScaling::AutoScalingGroup",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                },
                {
                    "LogicalResourceId": "Tick",
                    "PhysicalResourceId": "tick",
                    "ResourceType": "AWS::Events::Rule",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                },
            ]
        },
    )
    events.add_response("describe_rule", {"Name": "tick", "ScheduleExpression": "rate(1 minute)"})
    events.add_response("disable_rule", {}, {"Name": "tick"})


def test_lingering_hooks_time_out_then_a_rerun_waits_for_the_rest() -> None:
    cfn, asg, ev = client("cloudformation"), client("autoscaling"), client("events")
    clock = FakeClock(0.0)
    kw: dict[str, Any] = {
        "cloudformation": cfn,
        "autoscaling": asg,
        "events": ev,
        "stack": "rf-dev",
        "clock": clock,
        "timeout_s": 30,
        "poll_s": 15,
    }
    busy = [("i-0000000000000000a", "InService", True), ("i-0000000000000000b", "InService", False)]
    waiting = [("i-0000000000000000a", "Terminating:Wait", False)]
    with stubbed(cfn, asg, ev) as (c, a, e):
        _stack_calls(c, e)
        a.add_response("describe_auto_scaling_groups", _group(busy))
        a.add_response(
            "set_instance_protection",
            {},
            {
                "InstanceIds": ["i-0000000000000000a"],
                "AutoScalingGroupName": "g",
                "ProtectedFromScaleIn": False,
            },
        )
        a.add_response(
            "update_auto_scaling_group",
            {},
            {"AutoScalingGroupName": "g", "MinSize": 0, "DesiredCapacity": 0},
        )
        for _ in range(3):
            a.add_response("describe_auto_scaling_groups", _group(waiting))
        with pytest.raises(AwsError, match="run the same command again"):
            drain_fleet_to_zero(**kw)
    with stubbed(cfn, asg, ev) as (c, a, e):
        _stack_calls(c, e)
        a.add_response("describe_auto_scaling_groups", _group(waiting))
        a.add_response("update_auto_scaling_group", {})
        a.add_response("describe_auto_scaling_groups", _group(waiting))
        a.add_response("describe_auto_scaling_groups", _group([]))
        seen: list[int] = []
        result = drain_fleet_to_zero(**kw, on_progress=lambda p: seen.append(p.remaining))
    assert seen == [1, 0] and result.group == "g"


def test_records_claim_resume_and_prune_on_moto() -> None:
    import time

    from runnerfleet.aws.lifecycle_ssm import ActionRecords

    with mock_aws():
        records = ActionRecords(
            boto3.client("ssm", region_name="us-east-1"), "/rf/dev/drain-actions"
        )
        token = "87654321-4321-4321-4321-210987654321"
        assert records.claim(token, "i-0a", now=100.0, lease_s=60).outcome == "new"
        assert records.claim(token, "i-0a", now=120.0, lease_s=60).outcome == "duplicate"
        resumed = records.claim(token, "i-0a", now=200.0, lease_s=60)
        assert resumed.outcome == "resume" and resumed.record.started_at == 100.0
        for n in range(12):
            records.claim(f"00000000-0000-4000-8000-{n:012d}", "i-0b", now=1.0, lease_s=1)
        assert records.prune(older_than=time.time() + 5, limit=100) == 13
        assert records.get(token) is None


def _environment(aws: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """The pieces restore reads: the spec's names and bounds, a target over these clients."""
    clients = {**aws, "ssm": boto3.client("ssm", region_name="us-east-1")}
    target = SimpleNamespace(clients=SimpleNamespace(client=clients.__getitem__))
    capacity = CapacitySection(min=2, max=4)
    spec = SimpleNamespace(stack="rf-dev", ssm_path="/runnerfleet/rf-dev", capacity=capacity)
    return spec, target, clients


def test_a_deploy_after_a_destroy_stopped_midway_resumes_scaling(aws: dict[str, Any]) -> None:
    clients = {**aws, "ssm": boto3.client("ssm", region_name="us-east-1")}
    target = SimpleNamespace(clients=SimpleNamespace(client=clients.__getitem__))
    spec = SimpleNamespace(
        stack="rf-dev", ssm_path="/runnerfleet/rf-dev", capacity=CapacitySection(min=2, max=4)
    )
    DestroyMarker(clients["ssm"], spec.ssm_path).set("2026-12-02T10:00:00+00:00")
    rule = run(aws).paused_rules[0]  # ... and the deletion never came
    assert restore_after_interrupted_destroy(spec, target) == (  # type: ignore[arg-type]
        "a destroy started at 2026-12-02T10:00:00+00:00 stopped midway; restored: "
        f"rule {rule} enabled, min size 0 -> 2"
    )
    assert aws["events"].describe_rule(Name=rule)["State"] == "ENABLED"
    assert (group_of(aws)["MinSize"], group_of(aws)["DesiredCapacity"]) == (2, 2)
    assert restore_after_interrupted_destroy(spec, target) is None  # type: ignore[arg-type]


def test_a_paused_autoscaler_without_a_destroy_is_left_paused(aws: dict[str, Any]) -> None:
    clients = {**aws, "ssm": boto3.client("ssm", region_name="us-east-1")}
    target = SimpleNamespace(clients=SimpleNamespace(client=clients.__getitem__))
    spec = SimpleNamespace(
        stack="rf-dev", ssm_path="/runnerfleet/rf-dev", capacity=CapacitySection(min=2, max=4)
    )
    rule = find_fleet(aws["cloudformation"], aws["events"], "rf-dev").schedule_rules[0]
    aws["events"].disable_rule(Name=rule)  # an operator's deliberate pause
    assert restore_after_interrupted_destroy(spec, target) is None  # type: ignore[arg-type]
    assert disabled_rules(aws["events"], [rule]) == [rule]


def test_doctor_reports_a_paused_schedule_and_a_stopped_destroy(aws: dict[str, Any]) -> None:
    spec, _target, clients = _environment(aws)
    ctx = DoctorContext(spec, SimpleNamespace(client=clients.__getitem__), lambda _s: None)  # type: ignore[arg-type]
    assert [f.severity for f in autoscaler(ctx)] == ["ok"]
    DestroyMarker(clients["ssm"], spec.ssm_path).set("2026-12-02T10:00:00+00:00")
    rule = run(aws).paused_rules[0]
    found = {f.code: f for f in autoscaler(ctx)}
    assert found["destroy"].is_error and "runnerfleet deploy ENVFILE" in found["destroy"].fix
    assert found["autoscaler"].severity == "warning" and rule in found["autoscaler"].message
