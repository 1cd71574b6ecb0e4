"""The sandbox's runner agent against the stand-in: verify, poll, run, finish, unregister."""

from __future__ import annotations

import threading
import time
from typing import Any

import gitlab
from gitlab.v4.objects import CurrentUserRunnerManager

from runnerfleet.sandbox.agent import AgentConfig, RunnerAgent
from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.standin import GitLabStandIn


def _wait(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _docker_runner(gl: gitlab.Gitlab) -> Any:
    return CurrentUserRunnerManager(gl).create(
        {"runner_type": "project_type", "project_id": 42, "tag_list": ["docker"]}
    )


def _config(standin: GitLabStandIn, token: str, instance_id: str) -> AgentConfig:
    return AgentConfig(
        instance_id=instance_id,
        address="127.0.0.1",
        gitlab_url=standin.url,
        tokens=(("backend", token),),
        concurrent=2,
        check_interval=3.0,
        port=0,
    )


def test_agent_runs_jobs_from_the_standin(standin: GitLabStandIn, gl: gitlab.Gitlab) -> None:
    runner = _docker_runner(gl)
    jobs = [standin.enqueue_job(42, tags=["docker"], duration=30.0) for _ in range(3)]
    other = standin.enqueue_job(42, tags=["gpu"])
    clock = SimClock(speed=600.0)
    config = _config(standin, runner.token, "i-0123456789abcdef0")
    agent = RunnerAgent(config, clock)
    agent.start()
    try:
        managers = gl.http_get(f"/runners/{runner.id}/managers")
        assert [m["system_id"] for m in managers] == [config.system_id]
        assert _wait(lambda: all(standin.state.jobs[j.id].status == "success" for j in jobs))
        assert standin.state.jobs[other.id].status == "pending"
        assert {standin.state.jobs[j.id].system_id for j in jobs} == {config.system_id}
        assert agent.drain(timeout_sim_s=3000.0)
        assert gl.http_get(f"/runners/{runner.id}/managers") == []
    finally:
        clock.stop()
        agent.shutdown()


def test_a_job_request_in_flight_cannot_re_register_a_drained_manager(
    standin: GitLabStandIn, gl: gitlab.Gitlab
) -> None:
    """GitLab creates a manager on a job request; a stop waits for the request on the wire."""
    runner = _docker_runner(gl)
    clock = SimClock(speed=600.0)
    config = _config(standin, runner.token, "i-0123456789abcdef1")
    agent = RunnerAgent(config, clock)
    on_the_wire, answer = threading.Event(), threading.Event()
    request = agent._request_job

    def slow_request(token: str) -> dict[str, object] | None:
        on_the_wire.set()
        answer.wait(10)
        return request(token)

    agent._request_job = slow_request  # type: ignore[method-assign]
    agent.start()
    try:
        assert on_the_wire.wait(10)
        drain = threading.Thread(target=agent.drain, args=(3000.0,))
        drain.start()
        drain.join(0.5)
        assert drain.is_alive()  # the stop waits for the request in flight
        answer.set()
        drain.join(10)
        assert not drain.is_alive()
        assert gl.http_get(f"/runners/{runner.id}/managers") == []
    finally:
        answer.set()
        clock.stop()
        agent.shutdown()
