"""The CI job queue of the stand-in: enqueue, pick (``POST /jobs/request``), update.

A runner picks the oldest pending job it may run: the job's project is in the runner's scope,
the runner is not paused, every job tag is among the runner's tags, and an untagged job needs
``run_untagged``. This is GitLab's matching rule, minus protected refs and pipelines.
"""

from __future__ import annotations

import secrets
from typing import Any

from runnerfleet.sandbox.standin.model import (
    ApiError,
    Job,
    Runner,
    StandInState,
    forbidden,
    iso,
    not_found,
    runner_serves,
)

JOB_STATES_FINAL = ("success", "failed", "canceled")
DURATION_VARIABLE = "RUNNERFLEET_JOB_DURATION"
LOST_REASON = "runner_system_failure"


def enqueue_job(
    state: StandInState,
    project_id: int,
    *,
    name: str = "build",
    stage: str = "build",
    tags: list[str] | tuple[str, ...] = (),
    duration: float = 0.0,
    ref: str = "main",
) -> Job:
    """Queue a pending job, as a pipeline would; ``duration`` tells runner agents how long."""
    with state.lock:
        state.project(project_id)
        job = Job(
            id=state.next_id("job", 1000),
            project_id=project_id,
            name=name,
            stage=stage,
            tag_list=list(tags),
            created_at=state.clock(),
            token="glcbt-" + secrets.token_urlsafe(12),
            ref=ref,
            duration=duration,
        )
        state.jobs[job.id] = job
        return job


def can_pick(state: StandInState, runner: Runner, job: Job) -> bool:
    if job.status != "pending" or runner.paused:
        return False
    if not runner_serves(state, runner, job.project_id):
        return False
    if not job.tag_list:
        return runner.run_untagged
    return set(job.tag_list) <= set(runner.tag_list)


def reap_lost(state: StandInState) -> None:
    """A running job whose runner went silent (no update or trace for ``lost_after_s``) died
    with its runner: GitLab fails it as a runner system failure. Off when the state has no
    ``lost_after_s`` (the in-process demo's agents send no trace)."""
    limit = state.lost_after_s
    if limit is None:
        return
    with state.lock:
        now = state.clock()
        for job in state.jobs.values():
            last = max(job.started_at or 0.0, job.updated_at or 0.0)
            if job.status == "running" and now - last > limit:
                job.status, job.failure_reason, job.finished_at = "failed", LOST_REASON, now


def request_job(state: StandInState, body: dict[str, Any], ip: str = "") -> dict[str, Any] | None:
    """``POST /jobs/request``: the job payload, or None (204) when nothing fits."""
    reap_lost(state)
    with state.lock:
        runner = state.runner_by_token(body.get("token"))
        info = body.get("info") if isinstance(body.get("info"), dict) else None
        state.touch_manager(runner, body.get("system_id"), info, ip)
        for job in sorted(state.jobs.values(), key=lambda j: j.id):
            if can_pick(state, runner, job):
                job.status = "running"
                job.runner_id = runner.id
                job.system_id = body.get("system_id")
                job.started_at = state.clock()
                return job_payload(state, job, runner)
        return None


def update_job(state: StandInState, job_id: int, body: dict[str, Any]) -> str:
    """``PUT /jobs/:id`` by the runner holding the job token; returns the job's status."""
    with state.lock:
        job = running_job(state, job_id, body.get("token"))
        job.updated_at = state.clock()
        new_state = body.get("state")
        if new_state in ("success", "failed"):
            job.status = str(new_state)
            job.finished_at = state.clock()
            job.failure_reason = body.get("failure_reason") if new_state == "failed" else None
        return job.status


def running_job(state: StandInState, job_id: int, token: Any) -> Job:
    """The job a runner may update with ``token``: 403 once it is no longer running."""
    reap_lost(state)
    with state.lock:
        job = state.jobs.get(job_id)
        if job is None:
            raise not_found("Job")
        if not token or not secrets.compare_digest(str(token), job.token):
            raise forbidden()
        if job.status != "running":
            raise ApiError(403, {"message": "403 Forbidden  - Job is not running"})
        return job


def append_trace(state: StandInState, job_id: int, token: Any) -> None:
    """``PATCH /jobs/:id/trace``: the runner is alive and the job still runs."""
    with state.lock:
        running_job(state, job_id, token).updated_at = state.clock()


def job_payload(state: StandInState, job: Job, runner: Runner) -> dict[str, Any]:
    """The subset of the runner job response (``common.JobResponse``) an agent needs."""
    project = state.projects[job.project_id]
    return {
        "id": job.id,
        "token": job.token,
        "allow_git_fetch": True,
        "job_info": {
            "id": job.id,
            "name": job.name,
            "stage": job.stage,
            "project_id": project.id,
            "project_name": project.path.rsplit("/", 1)[-1],
            "time_in_queue_seconds": max(0.0, (job.started_at or 0.0) - job.created_at),
        },
        "git_info": _git_info(project.path, job.ref),
        "runner_info": {"timeout": runner.maximum_timeout or 3600, "runner_session_url": ""},
        "variables": [
            {"key": DURATION_VARIABLE, "value": str(job.duration), "public": True, "masked": False}
        ],
        "steps": [
            {
                "name": "script",
                "script": [f"sleep {job.duration:g}"],
                "timeout": runner.maximum_timeout or 3600,
                "when": "on_success",
                "allow_failure": False,
            }
        ],
        "image": None,
        "services": [],
        "artifacts": [],
        "cache": [],
        "credentials": [],
        "dependencies": [],
        "features": {},
    }


def _git_info(project_path: str, ref: str) -> dict[str, Any]:
    # gitlab.invalid never resolves: agents sleep instead of cloning
    return {
        "repo_url": f"http://gitlab.invalid/{project_path}.git",
        "ref": ref,
        "sha": "0" * 40,
        "before_sha": "0" * 40,
        "ref_type": "branch",
        "refspecs": [],
        "depth": 20,
    }


def job_entity(state: StandInState, job: Job) -> dict[str, Any]:
    """A job as ``GET /projects/:id/jobs`` lists it."""
    runner = state.runners.get(job.runner_id) if job.runner_id else None
    now = state.clock()
    queued_until = job.started_at if job.started_at is not None else now
    return {
        "id": job.id,
        "status": job.status,
        "stage": job.stage,
        "name": job.name,
        "ref": job.ref,
        "tag_list": list(job.tag_list),
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "queued_duration": round(queued_until - job.created_at, 3),
        "failure_reason": job.failure_reason,
        "runner": None
        if runner is None
        else {
            "id": runner.id,
            "description": runner.description,
            "runner_type": runner.runner_type,
        },
        "runner_manager": None if job.system_id is None else {"system_id": job.system_id},
        "pipeline": {
            "id": job.pipeline_id or job.id,
            "project_id": job.project_id,
            "ref": job.ref,
        },
        "project": {"id": job.project_id},
    }


def project_jobs(state: StandInState, project_id: int, scopes: list[str]) -> list[Job]:
    reap_lost(state)
    with state.lock:
        state.project(project_id)
        jobs = [j for j in state.jobs.values() if j.project_id == project_id]
        if scopes:
            jobs = [j for j in jobs if j.status in scopes]
        return sorted(jobs, key=lambda j: -j.id)
