"""Pipelines of the stand-in: ``POST /projects/:id/pipeline`` and the jobs it creates.

The sandbox has no ``.gitlab-ci.yml`` to read: a pipeline's jobs come from its variables.
``RUNNERFLEET_SANDBOX_JOBS`` (how many, default 1), ``RUNNERFLEET_SANDBOX_JOB_SECONDS`` (how
long each runs, default 30) and ``RUNNERFLEET_SANDBOX_TAGS`` (comma-separated job tags, default
none). A pipeline's status is derived from its jobs the way GitLab composes it.
"""

from __future__ import annotations

import math
from typing import Any

from runnerfleet.sandbox.standin.jobs import enqueue_job
from runnerfleet.sandbox.standin.model import (
    ApiError,
    Pipeline,
    StandInState,
    iso,
    not_found,
    split_tags,
)

JOBS_VARIABLE = "RUNNERFLEET_SANDBOX_JOBS"
SECONDS_VARIABLE = "RUNNERFLEET_SANDBOX_JOB_SECONDS"
TAGS_VARIABLE = "RUNNERFLEET_SANDBOX_TAGS"
MAX_JOBS = 200  # one pipeline; a busier sandbox makes several
MAX_JOB_SECONDS = 6 * 3600.0


def create_pipeline(state: StandInState, project_id: int, body: dict[str, Any]) -> Pipeline:
    ref = str(body.get("ref") or "")
    if not ref:
        raise ApiError(400, {"message": "400 Bad request - ref is missing"})
    variables = _variables(body.get("variables"))
    count, seconds, tags = _job_shape(variables)
    with state.lock:
        state.project(project_id)
        pipeline = Pipeline(
            id=state.next_id("pipeline", 500),
            iid=1 + sum(1 for p in state.pipelines.values() if p.project_id == project_id),
            project_id=project_id,
            ref=ref,
            created_at=state.clock(),
            variables=variables,
        )
        for n in range(count):
            job = enqueue_job(
                state, project_id, name=f"job-{n + 1}", stage="test", tags=tags, duration=seconds
            )
            job.pipeline_id = pipeline.id
            pipeline.job_ids.append(job.id)
        state.pipelines[pipeline.id] = pipeline
        return pipeline


def _variables(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(v, dict) and "key" in v for v in raw):
        raise ApiError(400, {"message": "400 Bad request - variables is invalid"})
    return {str(v["key"]): str(v.get("value", "")) for v in raw}


def _job_shape(variables: dict[str, str]) -> tuple[int, float, list[str]]:
    problems: list[str] = []
    count = _number(variables, JOBS_VARIABLE, 1, problems)
    seconds = _number(variables, SECONDS_VARIABLE, 30, problems)
    if not problems and not (count == int(count) and 1 <= count <= MAX_JOBS):
        problems.append(f"{JOBS_VARIABLE} must be a whole number from 1 to {MAX_JOBS}")
    if not problems and not 0 <= seconds <= MAX_JOB_SECONDS:
        problems.append(f"{SECONDS_VARIABLE} must be within 0..{MAX_JOB_SECONDS:.0f}")
    if problems:  # GitLab's shape for a pipeline that cannot be created
        raise ApiError(400, {"message": {"base": problems}})
    return int(count), seconds, split_tags(variables.get(TAGS_VARIABLE, ""))


def _number(variables: dict[str, str], key: str, default: float, problems: list[str]) -> float:
    raw = variables.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems.append(f"{key} must be a number, not {raw[:40]!r}")
    return value


def pipeline_of(state: StandInState, project_id: int, pipeline_id: int) -> Pipeline:
    with state.lock:
        pipeline = state.pipelines.get(pipeline_id)
        if pipeline is None or pipeline.project_id != project_id:
            raise not_found("Pipeline")
        return pipeline


def pipeline_status(state: StandInState, pipeline: Pipeline) -> str:
    """GitLab's composite status: running while any job runs, pending while any waits,
    failed if any failed, success when all succeeded."""
    statuses = {state.jobs[j].status for j in pipeline.job_ids if j in state.jobs}
    for status in ("running", "pending"):
        if status in statuses:
            return status
    if "failed" in statuses:
        return "failed"
    if statuses == {"canceled"}:
        return "canceled"
    return "success"


def pipeline_entity(state: StandInState, pipeline: Pipeline) -> dict[str, Any]:
    jobs = [state.jobs[j] for j in pipeline.job_ids if j in state.jobs]
    started = [j.started_at for j in jobs if j.started_at is not None]
    status = pipeline_status(state, pipeline)
    finished = [j.finished_at for j in jobs if j.finished_at is not None]
    done = status in ("success", "failed", "canceled")
    return {
        "id": pipeline.id,
        "iid": pipeline.iid,
        "project_id": pipeline.project_id,
        "sha": "0" * 40,
        "ref": pipeline.ref,
        "status": status,
        "source": "api",
        "created_at": iso(pipeline.created_at),
        "updated_at": iso(state.clock()),
        "started_at": iso(min(started)) if started else None,
        "finished_at": iso(max(finished)) if done and finished else None,
        "web_url": f"/project-{pipeline.project_id}/-/pipelines/{pipeline.id}",
    }
