"""System tier: a busy instance terminated without decrement drains its job, then goes.

The deployed stack runs on the twin as on AWS: the instances run the real bootstrap, the
terminate hook's event reaches the deployed lifecycle function through EventBridge, which runs
the drain document on the instance through Run Command; the drain heartbeats while the job
runs, unregisters the runner and completes the action. The test sees only what a user sees:
the AWS CLI v2 against the twin's endpoint and GitLab's REST API of the stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES
from tests.sandbox.twin.conftest import aws_cli_v2, own_sandbox
from tests.sandbox.twin.helpers import queue_job, wait_for

HEARTBEAT_TIMEOUT_S = 30  # the hooks' timeout: the 45 s job outlives it only with heartbeats
JOB_SECONDS = 45
PROJECT_ID = 1234  # examples/dev.yaml's project registration (tags docker, backend)
AWS_CLI = aws_cli_v2()

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.slow,
    pytest.mark.skipif(AWS_CLI is None, reason="needs the AWS CLI v2 (apt-get install awscli)"),
]


@dataclass(frozen=True)
class Live:
    """The running twin as a user reaches it: `sandbox status --json`."""

    status: dict[str, Any]
    home: Path

    def aws(self, *args: str) -> Any:
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=self.status["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=self.status["aws_secret_access_key"],
            AWS_DEFAULT_REGION=self.status["region"],
            AWS_PAGER="",
        )
        assert AWS_CLI is not None
        command = [AWS_CLI, "--endpoint-url", self.status["aws_endpoint"], "--output", "json"]
        done = subprocess.run(
            [*command, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def gitlab(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"PRIVATE-TOKEN": self.status["gitlab_token"]}
        url = f"{self.status['gitlab_url']}/api/v4{path}"
        answer = httpx.request(method, url, headers=headers, timeout=10, trust_env=False, **kwargs)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A sandbox of its own (lifecycle actions left to the deployed software), stopped by PID."""
    home = tmp_path_factory.mktemp("system-home")
    with own_sandbox(home) as status:
        yield Live(status, home)


@contextmanager
def explained(live: Live) -> Iterator[None]:
    """A failed step says what went wrong inside the twin: its log's failures."""
    try:
        yield
    except AssertionError as exc:
        log = (live.home / "sandbox.log").read_text(encoding="utf-8", errors="replace")
        failures = [line for line in log.splitlines() if "failed" in line or "ERROR" in line]
        raise AssertionError(f"{exc}\nthe twin's log says:\n" + "\n".join(failures[-15:])) from exc


def deploy(live: Live, tmp_path: Path, name: str) -> None:
    envfile = tmp_path / f"{name}.yaml"
    envfile.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\nname: {name}\n"
        f"drain:\n  heartbeat_timeout_s: {HEARTBEAT_TIMEOUT_S}\n  max_drain_s: 600\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runnerfleet.cli.main",
            "deploy",
            str(envfile),
            "--sandbox",
            "--yes",
        ],
        env={**os.environ, "RUNNERFLEET_HOME": str(live.home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def pause_the_autoscaler(live: Live) -> None:
    """`aws events disable-rule` on the schedule: the test sets the capacity itself."""
    for rule in live.aws("events", "list-rules")["Rules"]:
        if rule.get("ScheduleExpression"):
            live.aws("events", "disable-rule", "--name", rule["Name"])


def instances(live: Live, group: str) -> dict[str, str]:
    found = live.aws(
        "autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names", group
    )["AutoScalingGroups"]
    return {i["InstanceId"]: i["LifecycleState"] for i in found[0]["Instances"]}


def in_service(live: Live, group: str, count: int) -> Callable[[], list[str]]:
    def check() -> list[str]:
        ids = [i for i, s in instances(live, group).items() if s == "InService"]
        return ids if len(ids) == count else []

    return check


def addresses(live: Live, ids: list[str]) -> dict[str, str]:
    """Instance id -> private address (the twin's loopback address for it)."""
    found = live.aws("ec2", "describe-instances", "--instance-ids", *ids)["Reservations"]
    return {i["InstanceId"]: i.get("PrivateIpAddress", "") for r in found for i in r["Instances"]}


def ec2_state(live: Live, instance_id: str) -> str:
    found = live.aws("ec2", "describe-instances", "--instance-ids", instance_id)["Reservations"]
    return str(found[0]["Instances"][0]["State"]["Name"])


def project_runner(live: Live, stack: str) -> int:
    runners = live.gitlab("GET", "/runners/all")
    (runner,) = [
        r for r in runners if r["runner_type"] == "project_type" and stack in r["description"]
    ]
    return int(runner["id"])


def managers(live: Live, runner_id: int) -> dict[str, str]:
    """The runner's managers as GitLab lists them: address -> system_id."""
    listed = live.gitlab("GET", f"/runners/{runner_id}/managers")
    return {str(m["ip_address"]): str(m["system_id"]) for m in listed}


def job(live: Live, job_id: int) -> dict[str, Any]:
    return dict(live.gitlab("GET", f"/projects/{PROJECT_ID}/jobs/{job_id}"))


def test_a_busy_instance_drains_its_job_heartbeating_then_is_replaced(
    live: Live, tmp_path: Path
) -> None:
    with explained(live):
        walk_through(live, tmp_path)


def walk_through(live: Live, tmp_path: Path) -> None:
    name = "s" + uuid.uuid4().hex[:8]
    stack, group = f"runnerfleet-{name}", f"runnerfleet-{name}-asg"
    deploy(live, tmp_path, name)
    pause_the_autoscaler(live)
    live.aws("autoscaling", "set-desired-capacity", "--auto-scaling-group-name", group,
             "--desired-capacity", "2")  # fmt: skip
    pair = wait_for("two instances in service", in_service(live, group, 2), 180)
    runner_id = project_runner(live, stack)
    ips = addresses(live, pair)
    wait_for("a manager per instance", lambda: set(ips.values()) <= set(managers(live, runner_id)))
    by_address = managers(live, runner_id)
    instance_of = {by_address[ip]: iid for iid, ip in ips.items()}  # system_id -> instance
    busy, system_id, job_id = start_a_job(live, instance_of)
    drained_for = terminate_busy(live, group, busy, job_id)
    # the job outlived the hook's timeout in Terminating:Wait: the drain's heartbeats held it
    assert drained_for > HEARTBEAT_TIMEOUT_S
    assert job(live, job_id)["status"] == "success"
    wait_for("the instance terminated", lambda: ec2_state(live, busy) == "terminated", 120)
    assert system_id not in managers(live, runner_id).values()  # unregistered by the drain
    replacement = wait_for("the replacement in service", in_service(live, group, 2), 180)
    (new,) = set(replacement) - set(pair)
    new_ip = addresses(live, [new])[new]
    wait_for("the replacement's manager", lambda: new_ip in managers(live, runner_id), 60)


def start_a_job(live: Live, instance_of: dict[str, str]) -> tuple[str, str, int]:
    """Queue a 45 s job; once it runs: (its instance, its manager's system_id, its id)."""
    job_id = queue_job(live.gitlab, PROJECT_ID, JOB_SECONDS, "docker,backend")

    def picked() -> str:
        found = job(live, job_id)
        return str(found["runner_manager"]["system_id"]) if found["status"] == "running" else ""

    system_id = str(wait_for("the job running", picked, 60))
    return instance_of[system_id], system_id, job_id


def terminate_busy(live: Live, group: str, busy: str, job_id: int) -> float:
    """Terminate without decrement; the seconds the instance stayed in Terminating:Wait."""
    live.aws("autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", busy,
             "--no-should-decrement-desired-capacity")  # fmt: skip
    asked = time.monotonic()
    wait_for("Terminating:Wait", lambda: instances(live, group).get(busy) == "Terminating:Wait")
    assert job(live, job_id)["status"] == "running"
    last_seen = asked
    deadline = asked + JOB_SECONDS + 120
    while instances(live, group).get(busy) == "Terminating:Wait" and time.monotonic() < deadline:
        last_seen = time.monotonic()
        time.sleep(1)
    return last_seen - asked
