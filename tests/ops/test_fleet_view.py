"""``runnerfleet fleet``: a deployed stack on the moto server, runners on loopback, the GitLab
stand-in with one registration whose manager is one of the instances, decision records in the
autoscaler's log group and one alarm in ALARM."""

from __future__ import annotations

import json
import time

import pytest

from runnerfleet.aws.decision_log import parse_record
from runnerfleet.cli import compose
from runnerfleet.cli.main import main
from runnerfleet.ops.fleet_view import fleet_view
from runnerfleet.ops.target import no_gitlab
from runnerfleet.stack.system_id import system_id_for_instance
from tests.ops.conftest import Deployed, log_decisions, register_manager, validator


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
