"""``runnerfleet fleet``: a deployed stack on the moto server, runners on loopback, the GitLab
stand-in with one registration whose manager is one of the instances, decision records in the
autoscaler's log group and one alarm in ALARM."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.aws.decision_log import parse_record
from runnerfleet.cli import compose
from runnerfleet.cli.main import main
from runnerfleet.envfile import FleetSpec, load_environment
from runnerfleet.ops.fleet_view import fleet_view
from runnerfleet.ops.runners import create_runners
from runnerfleet.ops.target import GitLabAccess, Target, no_gitlab
from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.stack.system_id import system_id_for_instance
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server
from tests.conftest import REPO
from tests.gitlab.conftest import BASE, PAT

SCHEMAS = REPO / "docs" / "schemas"
REGION = "us-east-1"
REGISTRATION = "  - {name: backend, type: project, project_id: 42, tags: [docker]}\n"


def validator(name: str) -> Draft202012Validator:
    """The documented schema ``name``, with the schemas it refers to."""
    schemas = [json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.schema.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas
    )
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, registry=registry)


def template(stack: str) -> dict[str, Any]:
    return {
        "Resources": {
            "LT": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
                },
            },
            "AutoScalingGroup": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "0",
                    "MaxSize": "4",
                    "DesiredCapacity": "2",
                    "AvailabilityZones": [f"{REGION}a"],
                    "LaunchTemplate": {
                        "LaunchTemplateId": {"Ref": "LT"},
                        "Version": {"Fn::GetAtt": ["LT", "LatestVersionNumber"]},
                    },
                },
            },
            "AutoscalerLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": f"/aws/lambda/{stack}-autoscaler"},
            },
        }
    }


@dataclass
class Deployed:
    spec: FleetSpec
    envfile: Path
    aws: ClientFactory
    instances: list[str]
    standin: GitLabStandIn
    hosts: dict[str, str]

    def target(self, gitlab: GitLabAccess | None = None) -> Target:
        access = gitlab or GitLabAccess(url=self.standin.url, token=lambda _ssm: PAT)
        return Target(self.aws, access, metrics_address=lambda iid, _ip: self.hosts.get(iid))


def deploy_stack(aws: ClientFactory, stack: str) -> list[str]:
    body = json.dumps(template(stack))
    aws.client("cloudformation").create_stack(StackName=stack, TemplateBody=body)
    groups = aws.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    group = next(g for g in groups if g["AutoScalingGroupName"].startswith(stack))
    return sorted(i["InstanceId"] for i in group["Instances"])


def log_decisions(aws: ClientFactory, stack: str, now: float) -> None:
    """Two evaluations as the function's runtime logs them, between other lines."""
    logs, group, stream = aws.client("logs"), f"/aws/lambda/{stack}-autoscaler", "2026/12/02/x"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    summary = {"group": stack, "policy": "queue", "codes": [], "errors": [], "terminate": []}
    first = {**summary, "action": "scale_out", "desired_before": 1, "desired": 2}
    first |= {"reasons": ["3 pending job(s) need 1 more instance"], "pending_jobs": 3}
    second = {**summary, "action": "hold", "desired_before": 2, "desired": 2, "reasons": []}
    events = [
        (now - 130, "START RequestId: 1 Version: $LATEST"),
        (now - 120, f"[INFO]\t2026-12-02T12:00:00Z\t1\t{json.dumps(first)}"),
        (now - 60, f"[INFO]\t2026-12-02T12:01:00Z\t2\t{json.dumps(second)}"),
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(at * 1000), "message": text} for at, text in events],
    )


@pytest.fixture
def deployed(tmp_path: Path, moto_endpoint: str) -> Iterator[Deployed]:
    aws = ClientFactory(AwsTarget(region=REGION, endpoint_url=moto_endpoint, max_attempts=1))
    name = f"fv{uuid.uuid4().hex[:8]}"
    with GitLabStandIn() as standin, runner_server() as server:
        standin.state.add_access_token(PAT, scopes=("create_runner", "manage_runner", "read_api"))
        standin.state.add_project(42, "acme/backend")
        envfile = tmp_path / "env.yaml"
        text = BASE.replace("name: test", f"name: {name}").replace("URL", standin.url)
        envfile.write_text(text + "registrations:\n" + REGISTRATION)
        spec = load_environment(envfile)
        instances = deploy_stack(aws, spec.stack)
        hosts = {
            instances[0]: server.add("127.0.0.1", 0, Endpoint(render_metrics(3))),
            instances[1]: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))),
        }
        yield Deployed(spec, envfile, aws, instances, standin, hosts)


def register_manager(deployed: Deployed) -> None:
    create_runners(deployed.spec, deployed.target(), show_plan=lambda _plan: None)
    token = next(iter(deployed.standin.state.runners.values())).token
    body = {"token": token, "system_id": system_id_for_instance(deployed.instances[0])}
    requests.post(f"{deployed.standin.url}/api/v4/runners/verify", json=body, timeout=5)


def test_fleet_json_shows_instances_managers_decisions_and_alarms(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    register_manager(deployed)
    stack, cloudwatch = deployed.spec.stack, deployed.aws.client("cloudwatch")
    log_decisions(deployed.aws, stack, time.time())
    alarm = f"{stack}-ScrapeFailuresAlarm-1A2B3C"  # as CloudFormation names it
    for name in (alarm, f"{stack}-QuietAlarm-4D5E6F", f"other{stack}-Alarm-7A8B9C"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="Runnerfleet/Autoscaler",
            MetricName="ScrapeFailures",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    for name in (alarm, f"other{stack}-Alarm-7A8B9C"):
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="2 silent")
    monkeypatch.setattr(compose, "environment", lambda spec, *_a: (spec, deployed.target()))
    assert main(["fleet", str(deployed.envfile), "--output", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    validator("fleet").validate(document)
    rows = {row["instance_id"]: row for row in document["instances"]}
    busy, idle = (rows[i] for i in deployed.instances)
    assert (busy["running_jobs"], busy["slots"], idle["running_jobs"]) == (3, 4, 0)
    assert idle["idle_since"] is not None and busy["idle_since"] is None
    manager = busy["managers"][0]
    assert manager["system_id"] == system_id_for_instance(deployed.instances[0])
    assert manager["registration"] == "backend" and manager["contacted_at"]
    assert idle["managers"] == []
    assert [d["action"] for d in document["decisions"]] == ["scale_out", "hold"]
    assert document["decisions"][0]["reasons"] == ["3 pending job(s) need 1 more instance"]
    assert [(a["name"], a["reason"]) for a in document["alarms"]] == [(alarm, "2 silent")]
    assert document["next_decision"]["trigger"] == "now (dry run)"


def test_fleet_table_when_gitlab_is_unreachable(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = deployed.target(no_gitlab("no GitLab from here"))
    monkeypatch.setattr(compose, "environment", lambda spec, *_a: (spec, target))
    assert main(["fleet", str(deployed.envfile)]) == 0
    printed = capsys.readouterr()
    assert "runner managers unknown" in printed.err and "no GitLab from here" in printed.err
    lines = printed.out.splitlines()
    assert all(len(line) <= 80 for line in lines[1:5])  # the rows and their title fit
    row = next(line for line in lines if deployed.instances[0] in line)
    assert "3/4" in row.split() and "unknown" in row.split()
    assert "last decisions: none logged" in printed.out
    assert "alarms in ALARM: none" in printed.out


def test_fleet_watch_shows_the_view_count_times(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(compose, "environment", lambda spec, *_a: (spec, deployed.target()))
    argv = ["fleet", str(deployed.envfile), "-o", "json", "--watch", "--count", "2"]
    assert main([*argv, "--interval", "1"]) == 0
    views = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(views) == 2 and views[1]["at"] >= views[0]["at"] + 1


def test_the_view_changes_nothing(deployed: Deployed) -> None:
    view = fleet_view(deployed.spec, deployed.target(), read_secret=lambda _name: None)
    protected = [row.instance_id for row in view.instances if row.protected]
    assert protected == []  # the busy runner would be protected by a real evaluation
    assert any(row.next_action == "protect" for row in view.instances)


@pytest.mark.parametrize(
    "line",
    [
        "START RequestId: 1",
        "[INFO]\tt\tid\t{not json",
        '[INFO]\tt\tid\t{"action": "hold"}',
        '[INFO]\tt\tid\t["desired_before"]',
        '{"action": "hold", "desired_before": "many", "desired": 1}',
    ],
)
def test_lines_that_are_not_decision_records_are_skipped(line: str) -> None:
    assert parse_record(line, 0.0) is None
