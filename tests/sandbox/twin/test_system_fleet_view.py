"""System tier: ``fleet`` and ``why`` against a running twin, as an operator runs them.

examples/dev.yaml is deployed to the twin at zero instances with its schedule paused; a
pipeline is created through the stand-in's REST API and the deployed autoscaler function is
invoked once through the twin's Lambda API: it sees the pending job and scales out, the
instance runs the real bootstrap, its runner registers a manager and picks the job. Then
``runnerfleet fleet --sandbox`` must show that instance with its manager, its running job
(scraped on loopback) and the logged decision, and ``runnerfleet why JOB --sandbox`` must say
that the job waited for that instance to boot. Every command runs as its own process: nothing
here shares moto's state with the tests that run moto in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runnerfleet.stack.system_id import system_id_for_instance
from tests.conftest import EXAMPLES
from tests.ops.conftest import validator
from tests.sandbox.twin.conftest import own_sandbox
from tests.sandbox.twin.helpers import queue_job, wait_for

PROJECT_ID = 1234  # examples/dev.yaml's project registration (tags docker, backend)
JOB_SECONDS = 40  # long enough to be seen running by `fleet`

pytestmark = [pytest.mark.timeout(420), pytest.mark.slow]


@dataclass(frozen=True)
class Sandbox:
    status: dict[str, Any]
    home: Path

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.status["aws_endpoint"],
            region_name=self.status["region"],
            aws_access_key_id=self.status["aws_access_key_id"],
            aws_secret_access_key=self.status["aws_secret_access_key"],
        )

    def gitlab(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(
            method,
            f"{self.status['gitlab_url']}/api/v4{path}",
            headers={"PRIVATE-TOKEN": self.status["gitlab_token"]},
            timeout=10,
            trust_env=False,
            **kwargs,
        )
        answer.raise_for_status()
        return answer.json()

    def runnerfleet(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runnerfleet.cli.main", *args],
            env={**os.environ, "RUNNERFLEET_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A twin of its own (lifecycle actions left to the deployed software), stopped by PID."""
    home = tmp_path_factory.mktemp("view-home")
    with own_sandbox(home) as status:
        yield Sandbox(status, home)


def test_fleet_and_why_show_the_instance_that_booted_for_a_job(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    name = "v" + uuid.uuid4().hex[:8]
    stack = f"runnerfleet-{name}"
    envfile = tmp_path / f"{name}.yaml"
    envfile.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\nname: {name}\n"
        "capacity: {min: 0, max: 2, desired: 0}\n"
        "scaling: {idle_count: 0, schedule: []}\n",
        encoding="utf-8",
    )
    deployed = sandbox.runnerfleet("deploy", str(envfile), "--sandbox", "--yes")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    pause_the_schedule(sandbox, stack)
    job_id = queue_job(sandbox.gitlab, PROJECT_ID, JOB_SECONDS, "docker,backend")
    decision = invoke_the_autoscaler(sandbox, stack)
    assert (decision["action"], decision["desired"]) == ("scale_out", 1), decision
    system_id = wait_for("the job picked by a new instance", picked_by(sandbox, job_id), 240)

    fleet = sandbox.runnerfleet("fleet", str(envfile), "--sandbox", "--output", "json")
    assert fleet.returncode == 0, fleet.stderr
    view = json.loads(fleet.stdout)
    validator("fleet").validate(view)
    (row,) = view["instances"]
    assert system_id_for_instance(row["instance_id"]) == system_id
    assert row["state"] == "InService"
    assert [m["system_id"] for m in row["managers"]] == [system_id] * len(row["managers"])
    assert {m["registration"] for m in row["managers"]} >= {"backend"}
    assert row["running_jobs"] == 1 and row["slots"] >= 1  # scraped on its loopback address
    assert view["scrape_failures"] == 0 and view["pending_jobs"] == 0
    assert [d["action"] for d in view["decisions"]][-1:] == ["scale_out"]

    why = sandbox.runnerfleet("why", str(job_id), str(envfile), "--sandbox", "-o", "json")
    assert why.returncode == 0, why.stderr
    story = json.loads(why.stdout)
    validator("why").validate(story)
    instance = row["instance_id"]
    assert story["instance_id"] == instance
    assert story["verdict"].startswith(f"no capacity until instance {instance} booted at ")
    sources = [(e["source"], e["what"].split(" ")[0]) for e in story["timeline"]]
    assert sources[0] == ("gitlab", "job") and ("autoscaler", "scale_out") in sources
    assert sources.index(("autoscaler", "scale_out")) < len(sources) - 1

    table = sandbox.runnerfleet("why", str(job_id), str(envfile), "--sandbox")
    assert table.returncode == 0 and f"verdict: {story['verdict']}" in table.stdout
    unknown = sandbox.runnerfleet("why", str(job_id + 1000), str(envfile), "--sandbox")
    assert unknown.returncode == 2 and "not found in the fleet's projects" in unknown.stderr


def pause_the_schedule(sandbox: Sandbox, stack: str) -> None:
    """The stack's schedule rule disabled: only the test's invocation decides."""
    events = sandbox.client("events")
    for rule in events.list_rules(NamePrefix=stack)["Rules"]:
        if rule.get("ScheduleExpression"):
            events.disable_rule(Name=rule["Name"])


def invoke_the_autoscaler(sandbox: Sandbox, stack: str) -> dict[str, Any]:
    """One evaluation of the deployed function, as its schedule would run it."""
    answer = sandbox.client("lambda").invoke(FunctionName=f"{stack}-autoscaler", Payload=b"{}")
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return dict(payload)


def picked_by(sandbox: Sandbox, job_id: int) -> Any:
    def check() -> str:
        job = sandbox.gitlab("GET", f"/projects/{PROJECT_ID}/jobs/{job_id}")
        manager = job.get("runner_manager") or {}
        return str(manager.get("system_id", "")) if job["status"] == "running" else ""

    return check
