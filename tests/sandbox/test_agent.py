"""Runner agents against the GitLab stand-in: registration, jobs, metrics, drain, kill."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import gitlab
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runnerfleet.sandbox.agent import AgentConfig, RunnerAgent
from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.standin import GitLabStandIn, StandInState
from runnerfleet.sandbox.standin.jobs import reap_lost
from runnerfleet.stack.system_id import system_id_for_instance

ADDRESS = "127.0.77.1"  # every 127.x.y.z address is on the loopback interface
PORT = 19252


@pytest.fixture
def clock() -> Iterator[SimClock]:
    sim = SimClock(speed=200.0)
    yield sim
    sim.stop()


@pytest.fixture
def standin(clock: SimClock) -> Iterator[GitLabStandIn]:
    state = StandInState(clock=clock.now)
    state.add_access_token("glpat-admin-token-000", scopes=("api", "create_runner"), admin=True)
    state.add_project(7, "group/app")
    with GitLabStandIn(state) as server:
        yield server


def make_runner(standin: GitLabStandIn, tags: list[str]) -> str:
    gl = gitlab.Gitlab(standin.url, private_token="glpat-admin-token-000")
    gl.auth()
    runner = gl.user.runners.create(
        {"runner_type": "project_type", "project_id": 7, "tag_list": tags, "description": "t"}
    )
    return str(runner.token)


def agent_for(standin: GitLabStandIn, clock: SimClock, token: str, port: int = PORT) -> RunnerAgent:
    config = AgentConfig(
        instance_id="i-0123456789abcdef0",
        address=ADDRESS,
        gitlab_url=standin.url,
        tokens=(("app", token),),
        concurrent=2,
        check_interval=3.0,
        port=port,
    )
    agent = RunnerAgent(config, clock)
    agent.start()
    return agent


def wait_for(predicate, clock: SimClock, sim_seconds: float = 600.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = clock.now() + sim_seconds
    while clock.now() < deadline:
        if predicate():
            return True
        clock.sleep(1.0)
    return predicate()


def test_agent_runs_jobs_and_reports_metrics(standin: GitLabStandIn, clock: SimClock) -> None:
    agent = agent_for(standin, clock, make_runner(standin, ["docker"]))
    try:
        for _ in range(3):
            standin.enqueue_job(7, tags=["docker"], duration=120.0)
        assert wait_for(lambda: agent.running == 2, clock)  # two slots, three jobs
        body = httpx.get(f"http://{ADDRESS}:{PORT}/metrics", timeout=2).text
        samples = [s for f in text_string_to_metric_families(body) for s in f.samples]
        running = sum(
            s.value
            for s in samples
            if s.name == "gitlab_runner_jobs" and s.labels.get("state") == "running"
        )
        concurrent = [s.value for s in samples if s.name == "gitlab_runner_concurrent"]
        assert running == 2 and concurrent == [2]
        assert wait_for(
            lambda: all(j.status == "success" for j in standin.state.jobs.values()), clock, 1200
        )
        runner = next(iter(standin.state.runners.values()))
        assert [m.system_id for m in standin.state.managers_of(runner.id)] == [
            system_id_for_instance("i-0123456789abcdef0")
        ]
    finally:
        agent.kill()


def test_drain_waits_for_jobs_then_unregisters(standin: GitLabStandIn, clock: SimClock) -> None:
    agent = agent_for(standin, clock, make_runner(standin, ["docker"]), port=PORT + 1)
    try:
        standin.enqueue_job(7, tags=["docker"], duration=300.0)
        assert wait_for(lambda: agent.running == 1, clock)
        assert agent.drain(timeout_sim_s=3600)
        assert [j.status for j in standin.state.jobs.values()] == ["success"]
        runner = next(iter(standin.state.runners.values()))
        assert standin.state.managers_of(runner.id) == []
        standin.enqueue_job(7, tags=["docker"], duration=10.0)
        clock.sleep(30)
        assert agent.running == 0  # no new jobs after the drain began
    finally:
        agent.shutdown()


def test_kill_counts_running_jobs(standin: GitLabStandIn, clock: SimClock) -> None:
    agent = agent_for(standin, clock, make_runner(standin, ["docker"]), port=PORT + 2)
    standin.enqueue_job(7, tags=["docker"], duration=3000.0)
    assert wait_for(lambda: agent.running == 1, clock)
    assert agent.kill() == 1 and agent.jobs_killed == 1


@pytest.mark.skipif(
    not shutil.which("promtool") and not os.environ.get("CI"),
    reason="promtool (Debian package prometheus) not installed",
)
def test_metrics_pass_promtool(standin: GitLabStandIn, clock: SimClock) -> None:
    agent = agent_for(standin, clock, make_runner(standin, ["docker"]), port=PORT + 3)
    try:
        standin.enqueue_job(7, tags=["docker"], duration=600.0)
        assert wait_for(lambda: agent.running == 1, clock)
        body = httpx.get(f"http://{ADDRESS}:{PORT + 3}/metrics", timeout=2).text
        result = subprocess.run(
            ["promtool", "check", "metrics"],
            input=body,
            text=True,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert 'gitlab_runner_jobs{executor_stage="docker_run"' in body
    finally:
        agent.kill()


def test_a_live_agent_keeps_long_jobs_alive_and_a_killed_one_loses_them(clock: SimClock) -> None:
    # a stand-in that fails jobs whose runner is silent for 30 (simulated) seconds
    state = StandInState(clock=clock.now, lost_after_s=30.0)
    state.add_access_token("glpat-admin-token-000", scopes=("api", "create_runner"), admin=True)
    state.add_project(7, "group/app")
    with GitLabStandIn(state) as standin:
        agent = agent_for(standin, clock, make_runner(standin, ["docker"]), port=PORT + 3)
        try:
            job = standin.enqueue_job(7, tags=["docker"], duration=200.0)
            assert wait_for(lambda: state.jobs[job.id].status == "success", clock, 600)
            lost = standin.enqueue_job(7, tags=["docker"], duration=3000.0)
            assert wait_for(lambda: agent.running == 1, clock)
        finally:
            agent.kill()
        assert wait_for(lambda: _reaped(state, lost.id), clock, 120)
        assert state.jobs[lost.id].failure_reason == "runner_system_failure"


def _reaped(state: StandInState, job_id: int) -> bool:
    reap_lost(state)  # every API read does this first
    return state.jobs[job_id].status == "failed"
