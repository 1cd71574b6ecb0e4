"""gitlab-runner on a twin instance: the agent's CLI against the GitLab stand-in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import gitlab
import httpx
import pytest

from runnerfleet.sandbox.standin import GitLabStandIn
from tests.sandbox.twin.runtime_support import (
    PROJECT,
    gl,  # noqa: F401 - fixtures
    standin,  # noqa: F401
    wait_for,
)

SYSTEM_ID = "r_0123456789ab"
ADDRESS = "127.0.100.251"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "etc/gitlab-runner/config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('concurrent = 2\ncheck_interval = 1\nlisten_address = ":0"\n\n')
    (path.parent / ".runner_system_id").write_text(SYSTEM_ID)
    return path


@pytest.fixture
def token(gl: gitlab.Gitlab) -> str:  # noqa: F811
    runner = gl.user.runners.create(
        {"runner_type": "project_type", "project_id": PROJECT, "tag_list": ["docker"]}
    )
    return str(runner.token)


def agent_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "RUNNERFLEET_INSTANCE_ADDRESS": ADDRESS, **extra}


def runner(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runnerfleet.sandbox.agent_cli", *args],
        env=agent_env(**env), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def register(config: Path, url: str, token: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return runner(
        "register", "--non-interactive", "--config", str(config), "--url", url,
        "--name", "backend", "--executor", "docker", "--docker-image", "alpine:3",
        "--docker-volumes", "/cache", "--docker-volumes", "/certs", "--limit=1", *extra,
        CI_SERVER_TOKEN=token,
    )  # fmt: skip


def managers(gl: gitlab.Gitlab) -> list[tuple[str, str]]:  # noqa: F811
    runner_id = gl.http_get(f"/projects/{PROJECT}/runners")[0]["id"]
    found = gl.http_get(f"/runners/{runner_id}/managers")
    return [(m["system_id"], m["ip_address"]) for m in found]


def test_register_writes_config_and_verifies_from_the_instance_address(
    config: Path,
    standin: GitLabStandIn,  # noqa: F811
    gl: gitlab.Gitlab,  # noqa: F811
    token: str,
) -> None:
    head = config.read_text()
    result = register(config, standin.url, token)
    assert result.returncode == 0, result.stderr
    assert token not in result.stderr  # only the short form is logged
    text = config.read_text()
    assert text.startswith(head)  # the bootstrap's global section stays byte for byte
    entry = tomllib.loads(text)["runners"][0]
    assert (entry["name"], entry["token"], entry["limit"]) == ("backend", token, 1)
    assert entry["docker"]["volumes"] == ["/cache", "/certs"]
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert managers(gl) == [(SYSTEM_ID, ADDRESS)]
    assert runner("verify", "--config", str(config)).returncode == 0


def test_authentication_tokens_refuse_legacy_flags(
    config: Path,
    standin: GitLabStandIn,  # noqa: F811
    token: str,
) -> None:
    result = register(config, standin.url, token, "--tag-list", "docker")
    assert result.returncode == 1 and "can not be specified" in result.stderr
    assert "[[runners]]" not in config.read_text()


def test_verify_fails_for_a_deleted_runner_and_unregister_removes_the_manager(
    config: Path,
    standin: GitLabStandIn,  # noqa: F811
    gl: gitlab.Gitlab,  # noqa: F811
    token: str,
) -> None:
    register(config, standin.url, token)
    assert runner("unregister", "--config", str(config), "--all-runners").returncode == 0
    assert managers(gl) == []
    assert "[[runners]]" not in config.read_text()
    register(config, standin.url, token)
    gl.http_delete(f"/runners/{gl.http_get(f'/projects/{PROJECT}/runners')[0]['id']}")
    failed = runner("verify", "--config", str(config))
    assert failed.returncode == 1 and "is not valid" in failed.stderr


def test_a_non_loopback_gitlab_is_refused(config: Path, token: str) -> None:
    result = register(config, "https://gitlab.example.com", token)
    assert result.returncode == 1 and "127.0.0.0/8" in result.stderr


def test_unknown_flags_and_commands_are_named(config: Path) -> None:
    flag = runner("verify", "--config", str(config), "--bogus")
    assert flag.returncode == 1 and "--bogus" in flag.stderr
    command = runner("exec", "build")
    assert command.returncode == 1 and "not emulated" in command.stderr


@pytest.fixture
def running(
    config: Path,
    standin: GitLabStandIn,  # noqa: F811
    token: str,
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    register(config, standin.url, token)
    config.write_text(config.read_text().replace('":0"', '":19253"'))
    proc = subprocess.Popen(
        [sys.executable, "-m", "runnerfleet.sandbox.agent_cli", "run", "--config", str(config)],
        env=agent_env(), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://{ADDRESS}:19253"
    assert wait_for(lambda: _answers(url), 20)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/metrics", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_sigquit_finishes_the_running_job_and_takes_no_new_one(
    running: tuple[subprocess.Popen[str], str],
    standin: GitLabStandIn,  # noqa: F811
) -> None:
    proc, url = running
    job = standin.enqueue_job(PROJECT, tags=["docker"], duration=3.0)
    assert wait_for(lambda: standin.state.jobs[job.id].status == "running", 20)
    assert "state=running" in httpx.get(f"{url}/debug/jobs/list").text
    proc.send_signal(signal.SIGQUIT)
    later = standin.enqueue_job(PROJECT, tags=["docker"], duration=3.0)
    assert proc.wait(30) == 0
    assert standin.state.jobs[job.id].status == "success"
    assert standin.state.jobs[later.id].status == "pending"


def test_sigterm_aborts_the_running_job(
    running: tuple[subprocess.Popen[str], str],
    standin: GitLabStandIn,  # noqa: F811
) -> None:
    proc, _ = running
    job = standin.enqueue_job(PROJECT, tags=["docker"], duration=300.0)
    assert wait_for(lambda: standin.state.jobs[job.id].status == "running", 20)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert standin.state.jobs[job.id].status == "failed"
    assert standin.state.jobs[job.id].failure_reason == "runner_system_failure"
