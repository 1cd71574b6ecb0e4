"""``runnerfleet why``: a job of the GitLab stand-in that waited for an instance of the moto
fleet, the autoscaler's decision in between, and every way of naming a job wrongly."""

from __future__ import annotations

import json
import time

import pytest
import requests

from runnerfleet.cli import compose
from runnerfleet.cli.main import main
from runnerfleet.errors import ExitCode
from runnerfleet.sandbox.standin import enqueue_job
from runnerfleet.stack.system_id import system_id_for_instance
from tests.ops.conftest import Deployed, register_manager, validator


def log_scale_out(deployed: Deployed, at: float) -> None:
    logs, stack = deployed.aws.client("logs"), deployed.spec.stack
    group, stream = f"/aws/lambda/{stack}-autoscaler", "2026/12/02/why"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    record = {"action": "scale_out", "desired_before": 1, "desired": 2, "policy": "queue"}
    record |= {"reasons": ["1 pending job needs 1 more instance"], "pending_jobs": 1}
    message = f"[INFO]\t2026-12-02T12:00:00Z\t1\t{json.dumps(record)}"
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(at * 1000), "message": message}],
    )


def waited_job(deployed: Deployed, waited_s: float) -> int:
    """A job created ``waited_s`` ago, picked now by the second instance's runner."""
    token = register_manager(deployed)
    deployed.at(-waited_s)
    job = enqueue_job(deployed.standin.state, 42, name="unit-tests", tags=["docker"])
    deployed.at(0.0)
    body = {"token": token, "system_id": system_id_for_instance(deployed.instances[1])}
    picked = requests.post(f"{deployed.standin.url}/api/v4/jobs/request", json=body, timeout=5)
    assert picked.status_code == 201
    return job.id


@pytest.fixture
def fleet(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> Deployed:
    monkeypatch.setattr(compose, "environment", lambda spec, *_a: (spec, deployed.target()))
    return deployed


def test_a_job_that_waited_for_an_instance_to_boot(
    fleet: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    job = waited_job(fleet, waited_s=120)
    log_scale_out(fleet, time.time() - 100)
    url = f"{fleet.standin.url}/acme/backend/-/jobs/{job}"
    assert main(["why", url, str(fleet.envfile), "--output", "json"]) == 0
    story = json.loads(capsys.readouterr().out)
    validator("why").validate(story)
    picker = fleet.instances[1]
    assert story["instance_id"] == picker and story["waited_s"] >= 119
    assert story["verdict"].startswith(f"no capacity until instance {picker}, launched at")
    sources = [event["source"] for event in story["timeline"]]
    assert sources[0] == "gitlab" and sources[-1] == "gitlab"  # created ... picked
    assert "autoscaler" in sources and "autoscaling" in sources
    assert story["decisions"][0]["reasons"] == ["1 pending job needs 1 more instance"]


def test_the_table_names_the_job_the_verdict_and_the_timeline(
    fleet: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    job = waited_job(fleet, waited_s=90)
    assert main(["why", str(job), str(fleet.envfile)]) == 0
    printed = capsys.readouterr().out
    assert f"job {job} (acme/backend: unit-tests), running" in printed
    assert "verdict: no capacity until instance" in printed
    assert f"job picked by {fleet.instances[1]}" in printed


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ("999999", "job 999999 not found in the fleet's projects: acme/backend (42)"),
        ("gitlab/job/12", "is neither a job number nor a job URL"),
        ("{url}/acme/backend/-/pipelines/12", "is not a job URL"),
        ("{url}/acme/other/-/jobs/12", "which this environment's registrations do not serve"),
        ("https://gitlab.other.example/acme/backend/-/jobs/12", "is not a job of"),
    ],
)
def test_bad_job_references_are_refused_with_the_fix(
    fleet: Deployed, capsys: pytest.CaptureFixture[str], job: str, message: str
) -> None:
    argv = ["why", job.format(url=fleet.standin.url), str(fleet.envfile)]
    assert main(argv) == ExitCode.INVALID_INPUT
    printed = capsys.readouterr().err
    assert message in " ".join(printed.split()) and "fix:" in printed
