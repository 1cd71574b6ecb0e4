"""A runner agent: what gitlab-runner does on one instance, in accelerated time.

It verifies its runner tokens with the GitLab stand-in under its own system_id, polls for
jobs every ``check_interval``, "runs" each job for the duration the job carries, serves
real-format Prometheus metrics on its own loopback address, port 9252, drains on a graceful
stop (SIGQUIT semantics: no new jobs, wait for running ones, then unregister its manager) and
kills its jobs on a forced stop (instance gone), which the demo reports as killed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.metrics import AgentMetrics, serve_metrics
from runnerfleet.stack.system_id import system_id_for_instance

DURATION_VARIABLE = "RUNNERFLEET_JOB_DURATION"


@dataclass
class RunningJob:
    job_id: int
    job_token: str
    runner_token: str
    stage: str
    duration: float
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class AgentConfig:
    instance_id: str
    address: str  # a 127.x.y.z address of its own
    gitlab_url: str
    tokens: tuple[tuple[str, str], ...]  # (registration name, glrt- token)
    concurrent: int
    check_interval: float = 3.0
    port: int = 9252
    trace_interval: float | None = 5.0  # job trace updates, as gitlab-runner sends; None: none

    @property
    def system_id(self) -> str:
        """Same convention as the bootstrap: derived from the instance id, unique per host."""
        return system_id_for_instance(self.instance_id)


class RunnerAgent:
    def __init__(self, config: AgentConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.jobs: dict[int, RunningJob] = {}
        self.metrics = AgentMetrics(config)
        self.jobs_killed = 0
        self._lock = threading.Lock()
        self._accepting = threading.Event()
        self._stopped = threading.Event()
        self._http = httpx.Client(base_url=config.gitlab_url.rstrip("/") + "/api/v4", timeout=5)
        self._server: Any = None
        self._poller: threading.Thread | None = None

    def start(self) -> None:
        for _, token in self.config.tokens:
            self._post("/runners/verify", {"token": token, "system_id": self.config.system_id})
        self._server = serve_metrics(self.metrics, self.config.address, self.config.port)
        self._accepting.set()
        self.metrics.process_state = "running"
        self._poller = threading.Thread(
            target=self._poll_loop, daemon=True, name=f"agent-{self.config.instance_id}"
        )
        self._poller.start()

    @property
    def running(self) -> int:
        with self._lock:
            return len(self.jobs)

    def stop_accepting(self) -> None:
        """SIGQUIT: no new jobs from now on; running ones go on."""
        self._accepting.clear()
        self.metrics.process_state = "graceful-shutdown"

    def drain(self, timeout_sim_s: float) -> bool:
        """Graceful stop: wait for the running jobs (up to the timeout), then unregister."""
        self.stop_accepting()
        deadline = self.clock.now() + timeout_sim_s
        while self.running and self.clock.now() < deadline and not self.clock.stopped:
            self.clock.sleep(1.0)
        drained = self.running == 0
        if drained:
            self.unregister()
        return drained

    def unregister(self) -> None:
        for _, token in self.config.tokens:
            self._delete("/runners/managers", {"token": token, "system_id": self.config.system_id})

    def kill(self) -> int:
        """The instance is gone: every running job dies with it. Returns how many."""
        self._accepting.clear()
        with self._lock:
            victims = list(self.jobs.values())
            self.jobs.clear()
        for job in victims:
            job.done.set()
        self.jobs_killed += len(victims)
        self.shutdown()
        return len(victims)

    def shutdown(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._http.close()

    def _poll_loop(self) -> None:
        while not self._stopped.is_set() and not self.clock.stopped:
            if self._accepting.is_set():
                self._poll_once()
            self.clock.sleep(self.config.check_interval)

    def _poll_once(self) -> None:
        for name, token in self.config.tokens:
            while self._accepting.is_set() and self.running < self.config.concurrent:
                payload = self._request_job(token)
                if payload is None:
                    break
                self._start_job(name, token, payload)

    def _request_job(self, token: str) -> dict[str, Any] | None:
        body = {
            "token": token,
            "system_id": self.config.system_id,
            "info": {"name": "gitlab-runner", "version": "17.11.1", "executor": "docker"},
        }
        response = self._post("/jobs/request", body)
        if response is None or response.status_code != 201:
            return None
        payload: dict[str, Any] = response.json()
        return payload

    def _start_job(self, name: str, runner_token: str, payload: dict[str, Any]) -> None:
        variables = {v["key"]: v["value"] for v in payload.get("variables", [])}
        job = RunningJob(
            job_id=int(payload["id"]),
            job_token=str(payload["token"]),
            runner_token=runner_token,
            stage=str(payload.get("job_info", {}).get("stage", "build")),
            duration=float(variables.get(DURATION_VARIABLE, "0") or 0),
        )
        with self._lock:
            self.jobs[job.job_id] = job
        self.metrics.job_started(runner_token)
        threading.Thread(target=self._run_job, args=(job,), daemon=True).start()

    def _run_job(self, job: RunningJob) -> None:
        end = self.clock.now() + job.duration
        step = self.config.trace_interval or 5.0
        while not job.done.is_set() and self.clock.now() < end and not self.clock.stopped:
            self.clock.sleep(min(step, max(0.0, end - self.clock.now())))
            if self.config.trace_interval is not None and not job.done.is_set():
                self._trace(job)
        with self._lock:
            alive = job.job_id in self.jobs  # not killed with the instance
        if alive:  # the job counts as running until GitLab has its final state
            self._put(f"/jobs/{job.job_id}", {"token": job.job_token, "state": "success"})
            self.metrics.job_finished(job.runner_token)
        with self._lock:
            self.jobs.pop(job.job_id, None)

    def _trace(self, job: RunningJob) -> None:
        """Tell GitLab the job is alive (``PATCH /jobs/:id/trace``); silence means lost."""
        if self._http.is_closed:
            return
        try:
            self._http.patch(
                f"/jobs/{job.job_id}/trace",
                content=b"",
                headers={"JOB-TOKEN": job.job_token, "Content-Type": "text/plain"},
            )
        except httpx.HTTPError:
            self.metrics.errors += 1

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response | None:
        return self._call("POST", path, body)

    def _put(self, path: str, body: dict[str, Any]) -> httpx.Response | None:
        return self._call("PUT", path, body)

    def _delete(self, path: str, body: dict[str, Any]) -> httpx.Response | None:
        return self._call("DELETE", path, body)

    def _call(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response | None:
        if self._http.is_closed:
            return None
        try:
            return self._http.request(method, path, json=body)
        except httpx.HTTPError:
            self.metrics.errors += 1
            return None
