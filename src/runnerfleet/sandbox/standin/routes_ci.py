"""Route handlers for CI objects of the stand-in: pipelines, their jobs, job traces, and the
administrators' list of every runner. Same conventions as ``routes``."""

from __future__ import annotations

from runnerfleet.sandbox.standin import jobs as jobq
from runnerfleet.sandbox.standin import pipelines
from runnerfleet.sandbox.standin.calls import READ, RUNNER_READ, Call, Result
from runnerfleet.sandbox.standin.model import forbidden
from runnerfleet.sandbox.standin.present import filter_runners


def all_runners(call: Call) -> Result:
    """``GET /runners/all``: every runner of the instance, for administrators only."""
    token = call.access_token(RUNNER_READ)
    if not token.admin:
        raise forbidden("403 Forbidden - Must be admin")
    with call.state.lock:
        return 200, filter_runners(call, list(call.state.runners.values()))


def create_pipeline(call: Call) -> Result:
    call.access_token(frozenset({"api"}))
    pipeline = pipelines.create_pipeline(call.state, call.int_param("id"), call.body)
    with call.state.lock:
        return 201, pipelines.pipeline_entity(call.state, pipeline)


def get_pipeline(call: Call) -> Result:
    call.access_token(READ)
    jobq.reap_lost(call.state)
    with call.state.lock:
        pipeline = pipelines.pipeline_of(call.state, call.int_param("id"), call.int_param("pid"))
        return 200, pipelines.pipeline_entity(call.state, pipeline)


def list_pipelines(call: Call) -> Result:
    call.access_token(READ)
    jobq.reap_lost(call.state)
    with call.state.lock:
        project = call.state.project(call.int_param("id"))
        found = [p for p in call.state.pipelines.values() if p.project_id == project.id]
        return 200, [
            pipelines.pipeline_entity(call.state, p) for p in sorted(found, key=lambda p: -p.id)
        ]


def pipeline_jobs(call: Call) -> Result:
    call.access_token(READ)
    jobq.reap_lost(call.state)
    scopes = call.query.get("scope[]", []) + call.query.get("scope", [])
    with call.state.lock:
        pipeline = pipelines.pipeline_of(call.state, call.int_param("id"), call.int_param("pid"))
        found = [call.state.jobs[j] for j in pipeline.job_ids]
        return 200, [
            jobq.job_entity(call.state, j) for j in found if not scopes or j.status in scopes
        ]


def append_trace(call: Call) -> Result:
    """``PATCH /jobs/:id/trace`` with the job token in ``JOB-TOKEN``: 202, as GitLab answers."""
    jobq.append_trace(call.state, call.int_param("id"), call.headers.get("job-token"))
    return 202, None
