"""Route handlers of the stand-in: GitLab REST API v4 paths, field names and status codes.

Each handler takes a ``Call`` and returns ``(status, body)``; ``body`` None means no content.
Refusals raise ``ApiError`` with the JSON GitLab sends (``{"message": "404 Project Not Found"}``,
``{"error": "insufficient_scope", ...}``).
"""

from __future__ import annotations

import re

from runnerfleet.sandbox.standin import jobs as jobq
from runnerfleet.sandbox.standin import routes_ci as ci
from runnerfleet.sandbox.standin.calls import (
    ANY,
    CREATE_RUNNER,
    READ,
    RUNNER_READ,
    RUNNER_WRITE,
    STANDIN_VERSION,
    Call,
    Handler,
    Result,
)
from runnerfleet.sandbox.standin.model import (
    ApiError,
    bad_request,
    forbidden,
    not_found,
    update_runner_fields,
)
from runnerfleet.sandbox.standin.present import filter_runners, manager_item, runner_detail

# ---- user API (PRIVATE-TOKEN) ----


def get_user(call: Call) -> Result:
    tok = call.access_token(READ | {"read_user"})
    return 200, {
        "id": tok.user_id,
        "username": tok.username,
        "name": tok.username,
        "state": "active",
        "is_admin": tok.admin,
    }


def get_version(call: Call) -> Result:
    call.access_token(ANY)
    return 200, {"version": STANDIN_VERSION, "revision": "standin", "enterprise": False}


def get_pat_self(call: Call) -> Result:
    tok = call.access_token(ANY)
    return 200, {
        "id": tok.id,
        "name": "runnerfleet",
        "revoked": False,
        "active": True,
        "scopes": sorted(tok.scopes),
        "user_id": tok.user_id,
        "expires_at": None,
    }


def create_user_runner(call: Call) -> Result:
    tok = call.access_token(CREATE_RUNNER)
    if call.body.get("runner_type") == "instance_type" and not tok.admin:
        raise forbidden("403 Forbidden - Insufficient permissions")
    runner = call.state.create_runner(call.body)
    return 201, {"id": runner.id, "token": runner.token, "token_expires_at": None}


def get_project(call: Call) -> Result:
    call.access_token(READ)
    p = call.state.project(call.int_param("id"))
    name = p.path.rsplit("/", 1)[-1]
    return 200, {
        "id": p.id,
        "name": name,
        "path": name,
        "path_with_namespace": p.path,
        "namespace": {"id": p.group_id, "kind": "group" if p.group_id else "user"},
    }


def get_group(call: Call) -> Result:
    call.access_token(READ)
    g = call.state.group(call.int_param("id"))
    return 200, {"id": g.id, "name": g.path.rsplit("/", 1)[-1], "full_path": g.path}


def project_runners(call: Call) -> Result:
    call.access_token(RUNNER_READ)
    return 200, filter_runners(call, call.state.runners_for_project(call.int_param("id")))


def group_runners(call: Call) -> Result:
    call.access_token(RUNNER_READ)
    return 200, filter_runners(call, call.state.runners_for_group(call.int_param("id")))


def get_runner(call: Call) -> Result:
    call.access_token(RUNNER_READ)
    with call.state.lock:
        return 200, runner_detail(call.state, call.state.runner(call.int_param("id")))


def update_runner(call: Call) -> Result:
    call.access_token(RUNNER_WRITE)
    with call.state.lock:
        runner = call.state.runner(call.int_param("id"))
        update_runner_fields(runner, call.body)
        return 200, runner_detail(call.state, runner)


def delete_runner(call: Call) -> Result:
    call.access_token(RUNNER_WRITE)
    call.state.delete_runner(call.int_param("id"))
    return 204, None


def runner_managers(call: Call) -> Result:
    call.access_token(RUNNER_READ)
    with call.state.lock:
        runner = call.state.runner(call.int_param("id"))
        managers = sorted(call.state.managers_of(runner.id), key=lambda m: m.id)
        return 200, [manager_item(call.state, m) for m in managers]


def project_jobs(call: Call) -> Result:
    call.access_token(READ)
    scopes = call.query.get("scope[]", []) + call.query.get("scope", [])
    with call.state.lock:
        found = jobq.project_jobs(call.state, call.int_param("id"), scopes)
        return 200, [jobq.job_entity(call.state, j) for j in found]


def project_job(call: Call) -> Result:
    """``GET /projects/:id/jobs/:job_id``: one job; 404 when it is not this project's."""
    call.access_token(READ)
    with call.state.lock:
        call.state.project(call.int_param("id"))
        job = call.state.jobs.get(call.int_param("jid"))
        if job is None or job.project_id != call.int_param("id"):
            raise not_found("Job")
        return 200, jobq.job_entity(call.state, job)


# ---- runner API (runner token in the body) ----


def legacy_register(call: Call) -> Result:
    """``POST /runners`` with a registration token: 410 when disabled, 403 when unknown."""
    state = call.state
    with state.lock:
        if not state.allow_registration_tokens:
            raise ApiError(410, {"message": "410 Gone - runner registration disallowed"})
        scope = state.registration_tokens.get(str(call.body.get("token") or ""))
        if scope is None:
            raise forbidden()
        runner_type, scope_id = scope
        params = dict(call.body, runner_type=runner_type)
        params["project_id" if runner_type == "project_type" else "group_id"] = scope_id
        runner = state.create_runner(params, legacy=True)
        return 201, {"id": runner.id, "token": runner.token, "token_expires_at": None}


def verify_runner(call: Call) -> Result:
    with call.state.lock:
        runner = call.state.runner_by_token(call.body.get("token"))
        info = call.body.get("info") if isinstance(call.body.get("info"), dict) else None
        call.state.touch_manager(runner, call.body.get("system_id"), info, call.client_ip)
        return 200, {"id": runner.id, "token": runner.token, "token_expires_at": None}


def delete_manager(call: Call) -> Result:
    system_id = call.body.get("system_id")
    with call.state.lock:
        runner = call.state.runner_by_token(call.body.get("token"))
        if not system_id:
            raise bad_request("system_id is missing")
        call.state.delete_manager(runner, str(system_id))
    return 204, None


def delete_runner_by_token(call: Call) -> Result:
    with call.state.lock:
        runner = call.state.runner_by_token(call.body.get("token"))
        call.state.delete_runner(runner.id)
    return 204, None


def request_job(call: Call) -> Result:
    payload = jobq.request_job(call.state, call.body, call.client_ip)
    return (201, payload) if payload is not None else (204, None)


def update_job(call: Call) -> Result:
    return 200, {"status": jobq.update_job(call.state, call.int_param("id"), call.body)}


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile("^/api/v4" + path + "$"), handler)
    for method, path, handler in [
        ("GET", r"/user", get_user),
        ("GET", r"/version", get_version),
        ("GET", r"/personal_access_tokens/self", get_pat_self),
        ("POST", r"/user/runners", create_user_runner),
        ("GET", r"/projects/(?P<id>\d+)", get_project),
        ("GET", r"/groups/(?P<id>\d+)", get_group),
        ("GET", r"/projects/(?P<id>\d+)/runners", project_runners),
        ("GET", r"/groups/(?P<id>\d+)/runners", group_runners),
        ("GET", r"/projects/(?P<id>\d+)/jobs", project_jobs),
        ("GET", r"/projects/(?P<id>\d+)/jobs/(?P<jid>\d+)", project_job),
        ("POST", r"/projects/(?P<id>\d+)/pipeline", ci.create_pipeline),
        ("GET", r"/projects/(?P<id>\d+)/pipelines", ci.list_pipelines),
        ("GET", r"/projects/(?P<id>\d+)/pipelines/(?P<pid>\d+)", ci.get_pipeline),
        ("GET", r"/projects/(?P<id>\d+)/pipelines/(?P<pid>\d+)/jobs", ci.pipeline_jobs),
        ("GET", r"/runners/all", ci.all_runners),
        ("POST", r"/runners/verify", verify_runner),
        ("DELETE", r"/runners/managers", delete_manager),
        ("GET", r"/runners/(?P<id>\d+)", get_runner),
        ("PUT", r"/runners/(?P<id>\d+)", update_runner),
        ("DELETE", r"/runners/(?P<id>\d+)", delete_runner),
        ("GET", r"/runners/(?P<id>\d+)/managers", runner_managers),
        ("POST", r"/runners", legacy_register),
        ("DELETE", r"/runners", delete_runner_by_token),
        ("POST", r"/jobs/request", request_job),
        ("PUT", r"/jobs/(?P<id>\d+)", update_job),
        ("PATCH", r"/jobs/(?P<id>\d+)/trace", ci.append_trace),
    ]
]
