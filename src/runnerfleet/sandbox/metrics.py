"""The agent's /metrics: the same names, labels and semantics as gitlab-runner's.

Label rules copied from the runner: ``runner`` is the token without ``glrt-`` cut to 9
characters; each registration always has an ``idle`` series of 0 once it has polled; running
jobs add one series per (state, stage, executor_stage); ``gitlab_runner_concurrent`` has no
labels and ``gitlab_runner_limit`` has one series per registration.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client.metrics_core import Metric

    from runnerfleet.sandbox.agent import AgentConfig


def short_token(token: str) -> str:
    return token.removeprefix("glrt-").removeprefix("t1_").removeprefix("t2_")[:9]


class AgentMetrics(Collector):
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.process_state = "starting"
        self.errors = 0
        self._running: Counter[str] = Counter()
        self._total: Counter[str] = Counter()
        self._lock = threading.Lock()

    def job_started(self, token: str) -> None:
        with self._lock:
            self._running[token] += 1

    def job_finished(self, token: str) -> None:
        with self._lock:
            self._running[token] -= 1
            self._total[token] += 1

    def collect(self) -> Iterator[Metric]:
        config = self.config
        concurrent = GaugeMetricFamily(
            "gitlab_runner_concurrent", "The current value of concurrent setting"
        )
        concurrent.add_metric([], config.concurrent)
        yield concurrent
        yield from self._per_runner()
        errors = CounterMetricFamily(
            "gitlab_runner_errors", "The number of caught errors.", labels=["level"]
        )
        for level in ("error", "fatal", "panic", "warning"):
            errors.add_metric([level], self.errors if level == "error" else 0)
        yield errors
        state = GaugeMetricFamily(
            "gitlab_runner_process_state_info",
            "This metric provides info about the current state of the GitLab Runner process",
            labels=["state"],
        )
        state.add_metric([self.process_state], 1)
        yield state
        slots = GaugeMetricFamily(
            "gitlab_runner_worker_slots_number", "Current number of runner worker slots"
        )
        slots.add_metric([], config.concurrent)
        yield slots

    def _per_runner(self) -> Iterator[Metric]:
        names = ["executor_stage", "runner", "runner_name", "stage", "state", "system_id"]
        jobs = GaugeMetricFamily(
            "gitlab_runner_jobs", "The current number of running builds.", labels=names
        )
        total = CounterMetricFamily(
            "gitlab_runner_jobs",
            "Total number of handled jobs",
            labels=["runner", "runner_name", "system_id"],
        )
        limit = GaugeMetricFamily(
            "gitlab_runner_limit",
            "The current value of concurrent setting",
            labels=["runner", "runner_name", "system_id"],
        )
        system_id = self.config.system_id
        with self._lock:
            snapshot = {
                token: (self._running[token], self._total[token]) for _, token in self.config.tokens
            }
        for name, token in self.config.tokens:
            short = short_token(token)
            running, done = snapshot[token]
            jobs.add_metric(["idle", short, name, "idle", "idle", system_id], 0)
            if running:
                jobs.add_metric(
                    ["docker_run", short, name, "step_script", "running", system_id], running
                )
            total.add_metric([short, name, system_id], done)
            limit.add_metric([short, name, system_id], self.config.limit_of(token))
        yield jobs
        yield total
        yield limit


class _MetricsHandler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_POST(self) -> None:
        self._send(405, b"Method Not Allowed\n", "text/plain", {}, with_body=True)

    def _answer(self, with_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body = generate_latest(self.server.registry)
            self._send(200, body, CONTENT_TYPE_LATEST, {}, with_body)
        elif path == "/debug/jobs/list":
            body = self.server.jobs_list().encode()
            self._send(200, body, "text/plain", {"X-List-Version": "2"}, with_body)
        else:
            self._send(404, b"404 page not found\n", "text/plain", {}, with_body)

    def _send(
        self, code: int, body: bytes, kind: str, headers: dict[str, str], with_body: bool
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: scrapes every few seconds would drown the runner's log."""


class MetricsServer(ThreadingHTTPServer):
    """gitlab-runner's metrics server: ``/metrics`` and ``/debug/jobs/list``."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], registry: CollectorRegistry, jobs_list: Callable[[], str]
    ) -> None:
        self.registry = registry
        self.jobs_list = jobs_list
        super().__init__(address, _MetricsHandler)


def serve_metrics(
    metrics: AgentMetrics, address: str, port: int, jobs_list: Callable[[], str] | None = None
) -> MetricsServer:
    """Serve on ``address:port`` in a daemon thread; ``shutdown()`` + ``server_close()`` stop it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    server = MetricsServer((address, port), registry, jobs_list or (lambda: ""))
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
    ).start()
    return server
