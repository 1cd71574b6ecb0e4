"""A runner agent: what gitlab-runner does on one instance, against the GitLab stand-in.

It verifies its runner tokens under its own system_id, polls for jobs every
``check_interval``, "runs" each job for the duration the job carries, serves real-format
Prometheus metrics (and ``/debug/jobs/list``) on its own loopback address, port 9252, and
stops the way gitlab-runner does: SIGQUIT semantics (``stop_accepting``: no new jobs, running
ones finish), SIGTERM semantics (``abort``: running jobs fail as a system failure) and the
instance vanishing (``kill``: jobs die unreported). It talks to GitLab from its own address,
so the stand-in sees each instance's IP. The ``gitlab-runner`` command on a twin instance is
this agent (``runnerfleet.sandbox.agent_cli``); the demo also drives it directly.
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
VERSION = "17.11.1"
ABORT_REASON = "runner_system_failure"

UNREGISTER_ATTEMPTS = 3  # a loaded machine may time out one DELETE


@dataclass
class RunningJob:
    job_id: int
    job_token: str
    runner_token: str
    stage: str
    duration: float
    url: str = ""
    started: float = 0.0
    outcome: str = "success"
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
    stored_system_id: str | None = None  # .runner_system_id; default: from the instance id
    limits: tuple[int, ...] = ()  # per token, in order; 0 or absent: no limit

    @property
    def system_id(self) -> str:
        """Same convention as the bootstrap: derived from the instance id, unique per host."""
        return self.stored_system_id or system_id_for_instance(self.instance_id)

    def limit_of(self, token: str) -> int:
        for (_, known), limit in zip(self.tokens, self.limits, strict=False):
            if known == token:
                return limit
        return 0


def agent_info() -> dict[str, Any]:
    """The ``info`` block gitlab-runner sends with verify and job requests."""
    return {
        "name": "gitlab-runner",
        "version": VERSION,
        "revision": "sandbox",
        "platform": "linux",
        "architecture": "amd64",
        "executor": "docker",
        "shell": "bash",
    }


class RunnerAgent:
    def __init__(self, config: AgentConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.jobs: dict[int, RunningJob] = {}
        self.metrics = AgentMetrics(config)
        self.jobs_killed = 0
        self._lock = threading.Lock()
        self._accepting = threading.Event()
        # held while a job request is on the wire: a stop waits for it, so no request sent
        # before the stop re-registers the manager after the drain unregistered it
        self._requesting = threading.Lock()
        self._stopped = threading.Event()
        self._http = httpx.Client(
            base_url=config.gitlab_url.rstrip("/") + "/api/v4",
            timeout=5,
            trust_env=False,  # loopback only: no proxy from the environment
            transport=httpx.HTTPTransport(local_address=config.address),
        )
        self._server: Any = None
        self._poller: threading.Thread | None = None

    def start(self) -> None:
        self.verify_all()
        self._server = serve_metrics(
            self.metrics, self.config.address, self.config.port, self.jobs_list
        )
        self._accepting.set()
        self.metrics.process_state = "running"
        self._poller = threading.Thread(
            target=self._poll_loop, daemon=True, name=f"agent-{self.config.instance_id}"
        )
        self._poller.start()

    def verify_all(self) -> list[str]:
        """POST /runners/verify for every token; the names GitLab did not accept."""
        refused = []
        for name, token in self.config.tokens:
            body = {"token": token, "system_id": self.config.system_id, "info": agent_info()}
            response = self._post("/runners/verify", body)
            if response is None or response.status_code != 200:
                refused.append(name)
        return refused

    @property
    def running(self) -> int:
        with self._lock:
            return len(self.jobs)

    def stop_accepting(self) -> None:
        """SIGQUIT: no new jobs from now on; running ones go on (a request in flight ends first,
        and a job it brought counts as running)."""
        self._accepting.clear()
        with self._requesting:
            self.metrics.process_state = "graceful-shutdown"

    def abort(self) -> int:
        """SIGTERM: every running job ends now and is reported failed. Returns how many."""
        self._accepting.clear()
        self.metrics.process_state = "forceful-shutdown"
        with self._lock:
            victims = list(self.jobs.values())
        for job in victims:
            job.outcome = "failed"
            job.done.set()
        return len(victims)

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
        """Remove this manager of every runner; a call that got no answer is tried again."""
        body = {"system_id": self.config.system_id}
        for _, token in self.config.tokens:
            for _attempt in range(UNREGISTER_ATTEMPTS):
                if self._delete("/runners/managers", {**body, "token": token}) is not None:
                    break

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

    def jobs_list(self) -> str:
        """``/debug/jobs/list`` (version 2): one line per running job."""
        now = self.clock.now()
        with self._lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.job_id)
        return "".join(
            f"url={j.url} state=running stage=step_script executor_stage=docker_run "
            f"duration={max(0.0, now - j.started):.1f}s\n"
            for j in jobs
        )

    def _poll_loop(self) -> None:
        while not self._stopped.is_set() and not self.clock.stopped:
            if self._accepting.is_set():
                self._poll_once()
            self.clock.sleep(self.config.check_interval)

    def _poll_once(self) -> None:
        for name, token in self.config.tokens:
            while self._request_once(name, token):
                pass

    def _request_once(self, name: str, token: str) -> bool:
        """Ask for one job while accepting and a slot is free; True when one was started."""
        with self._requesting:
            if not (self._accepting.is_set() and self._has_slot(token)):
                return False
            payload = self._request_job(token)
            if payload is None:
                return False
            self._start_job(name, token, payload)
            return True

    def _has_slot(self, token: str) -> bool:
        limit = self.config.limit_of(token)
        with self._lock:
            mine = sum(1 for j in self.jobs.values() if j.runner_token == token)
            return len(self.jobs) < self.config.concurrent and (limit <= 0 or mine < limit)

    def _request_job(self, token: str) -> dict[str, Any] | None:
        body = {"token": token, "system_id": self.config.system_id, "info": agent_info()}
        response = self._post("/jobs/request", body)
        if response is None or response.status_code != 201:
            return None
        payload: dict[str, Any] = response.json()
        return payload

    def _start_job(self, name: str, runner_token: str, payload: dict[str, Any]) -> None:
        variables = {v["key"]: v["value"] for v in payload.get("variables", [])}
        repo = str(payload.get("git_info", {}).get("repo_url", "")).removesuffix(".git")
        job = RunningJob(
            job_id=int(payload["id"]),
            job_token=str(payload["token"]),
            runner_token=runner_token,
            stage=str(payload.get("job_info", {}).get("stage", "build")),
            duration=float(variables.get(DURATION_VARIABLE, "0") or 0),
            url=f"{repo}/-/jobs/{payload['id']}",
            started=self.clock.now(),
        )
        with self._lock:
            self.jobs[job.job_id] = job
        self.metrics.job_started(runner_token)
        threading.Thread(target=self._run_job, args=(job,), daemon=True).start()

    def _run_job(self, job: RunningJob) -> None:
        end = self.clock.now() + job.duration
        step = self.config.trace_interval or 5.0
        while not job.done.is_set() and self.clock.now() < end and not self.clock.stopped:
            job.done.wait(min(step, max(0.0, end - self.clock.now())) / self.clock.speed)
            if self.config.trace_interval is not None and not job.done.is_set():
                self._trace(job)
        with self._lock:
            alive = job.job_id in self.jobs  # not killed with the instance
        if alive:  # the job counts as running until GitLab has its final state
            self._put(f"/jobs/{job.job_id}", self._final_state(job))
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

    @staticmethod
    def _final_state(job: RunningJob) -> dict[str, Any]:
        if job.outcome == "success":
            return {"token": job.job_token, "state": "success"}
        return {"token": job.job_token, "state": "failed", "failure_reason": ABORT_REASON}

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
        except (httpx.HTTPError, OSError):
            self.metrics.errors += 1
            return None
