"""GitLab stand-in and registration figures, measured side by side in one run (loopback only).

Run: .venv/bin/python -m benchmarks.bench_gitlab
"""

from __future__ import annotations

import threading
import time

import boto3
import requests
from moto import mock_aws

from benchmarks.timing import median_ms
from runnerfleet.gitlab.apply import Registrar, apply_registration_plan, gather_existing
from runnerfleet.gitlab.client import connect
from runnerfleet.gitlab.registry import Desired, plan_registrations
from runnerfleet.gitlab.tokens import TokenStore
from runnerfleet.sandbox.standin import GitLabStandIn

PAT = "glpat-bench-000000000"


def _server() -> GitLabStandIn:
    server = GitLabStandIn().start()
    server.state.add_access_token(PAT, scopes=("api",), admin=True)
    server.state.add_group(7, "g")
    for pid in range(1, 41):
        server.state.add_project(pid, f"g/p{pid}", group_id=7)
    return server


def _instance_runner_token(server: GitLabStandIn) -> str:
    created = connect(server.url, PAT).http_post(
        "/user/runners", post_data={"runner_type": "instance_type"}
    )
    assert isinstance(created, dict)
    return str(created["token"])


def poll_latency() -> float:
    """Median ms of one empty job poll (204) on a keep-alive connection."""
    server = _server()
    try:
        token = _instance_runner_token(server)
        session = requests.Session()
        url = f"{server.url}/api/v4/jobs/request"
        return median_ms(lambda: session.post(url, json={"token": token}, timeout=5), 300)
    finally:
        server.stop()


def polls_per_second(agents: int, seconds: float = 2.0) -> float:
    """Job polls answered per second with ``agents`` concurrent keep-alive pollers."""
    server = _server()
    token = _instance_runner_token(server)
    counts = [0] * agents
    deadline = time.perf_counter() + seconds

    def agent(i: int) -> None:
        session = requests.Session()
        while time.perf_counter() < deadline:
            session.post(f"{server.url}/api/v4/jobs/request", json={"token": token}, timeout=5)
            counts[i] += 1

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.stop()
    return sum(counts) / seconds


def create_runners(count: int) -> float:
    """Seconds for `runners create` of ``count`` registrations (preflight, create, SSM)."""
    server = _server()
    try:
        with mock_aws():
            ssm = boto3.client("ssm", region_name="us-east-1")
            r = Registrar(
                gl=connect(server.url, PAT),
                url=server.url,
                store=TokenStore(ssm, "/runnerfleet/bench"),
                stack="bench",
                environment="bench",
            )
            desired = [
                Desired(
                    name=f"r{i}",
                    runner_type="project_type",
                    scope_id=i + 1,
                    parameter=f"/runnerfleet/bench/runners/r{i}",
                    tags=("docker",),
                )
                for i in range(count)
            ]
            start = time.perf_counter()
            plan = plan_registrations(desired, gather_existing(r))
            apply_registration_plan(plan, r)
            return time.perf_counter() - start
    finally:
        server.stop()


def main() -> None:
    print(f"job poll (204), keep-alive: {poll_latency():.2f} ms median")
    for agents in (1, 8, 32):
        print(f"job polls/s with {agents:>2} agents: {polls_per_second(agents):,.0f}")
    create_runners(1)  # warm-up: moto's SSM backend loads on first use
    for count in (1, 5, 20):
        runs = sorted(create_runners(count) for _ in range(3))
        print(
            f"runners create, {count:>2} registrations: {runs[1]:.3f} s median of 3 "
            f"({runs[1] / count * 1000:.0f} ms per registration)"
        )


if __name__ == "__main__":
    main()
