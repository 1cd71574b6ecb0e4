"""Route handlers of the stand-in: GitLab REST API v4 paths, field names and status codes.

Each handler takes a ``Call`` and returns ``(status, body)``; ``body`` None means no content.
Refusals raise ``ApiError`` with the JSON GitLab sends (``{"message": "404 Project Not Found"}``,
``{"error": "insufficient_scope", ...}``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runnerfleet.sandbox.standin import jobs as jobq
from runnerfleet.sandbox.standin.model import (
    AccessToken,
    ApiError,
    Manager,
    Runner,
    StandInState,
    bad_request,
    forbidden,
    iso,
    split_tags,
    to_bool,
    update_runner_fields,
)

READ = frozenset({"api", "read_api"})
RUNNER_READ = frozenset({"api", "read_api", "manage_runner"})
RUNNER_WRITE = frozenset({"api", "manage_runner"})
CREATE_RUNNER = frozenset({"api", "create_runner"})
ANY: frozenset[str] = frozenset()  # any valid token
STANDIN_VERSION = "17.11.0-standin"


@dataclass
class Call:
    state: StandInState
    params: dict[str, str]
    query: dict[str, list[str]]
    body: dict[str, Any]
    headers: dict[str, str]
    client_ip: str = ""

    def access_token(self, allowed: frozenset[str]) -> AccessToken:
        """PRIVATE-TOKEN (or Bearer) check: 401 unknown token, 403 token without a scope."""
        value = self.headers.get("private-token") or _bearer(self.headers.get("authorization"))
        token = _find_token(self.state, value)
        if token is None:
            raise ApiError(401, {"message": "401 Unauthorized"})
        if allowed and not token.scopes & allowed:
            raise ApiError(
                403,
                {
                    "error": "insufficient_scope",
                    "error_description": "The request requires higher privileges than provided "
                    "by the access token.",
                    "scope": " ".join(sorted(allowed)),
                },
            )
        return token

    def int_param(self, name: str) -> int:
        return int(self.params[name])


Result = tuple[int, Any]
Handler = Callable[[Call], Result]


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


def _find_token(state: StandInState, value: str | None) -> AccessToken | None:
    if not value:
        return None
    with state.lock:
        for known, token in state.tokens.items():
            if secrets.compare_digest(known, value):
                return token
    return None


# ---- entities ----


def runner_item(state: StandInState, r: Runner) -> dict[str, Any]:
    status = state.status(r)
    return {
        "id": r.id,
        "description": r.description,
        "ip_address": "",
        "active": not r.paused,
        "paused": r.paused,
        "is_shared": r.runner_type == "instance_type",
        "runner_type": r.runner_type,
        "name": "gitlab-runner",
        "online": status == "online",
        "status": status,
    }


def runner_detail(state: StandInState, r: Runner) -> dict[str, Any]:
    item = runner_item(state, r)
    projects = (
        [state.projects[r.scope_id]]
        if r.runner_type == "project_type" and r.scope_id in state.projects
        else []
    )
    groups = (
        [state.groups[r.scope_id]]
        if r.runner_type == "group_type" and r.scope_id in state.groups
        else []
    )
    item.update(
        {
            "contacted_at": iso(state.contacted_at(r)),
            "maintenance_note": r.maintenance_note,
            "tag_list": list(r.tag_list),
            "access_level": r.access_level,
            "maximum_timeout": r.maximum_timeout,
            "run_untagged": r.run_untagged,
            "locked": r.locked,
            "version": None,
            "revision": None,
            "platform": None,
            "architecture": None,
            "projects": [
                {"id": p.id, "path_with_namespace": p.path, "name": p.path.rsplit("/")[-1]}
                for p in projects
            ],
            "groups": [{"id": g.id, "name": g.path.rsplit("/")[-1], "web_url": ""} for g in groups],
        }
    )
    return item


def manager_item(state: StandInState, m: Manager) -> dict[str, Any]:
    now = state.clock()
    online = m.contacted_at is not None and now - m.contacted_at <= 7200
    status = "online" if online else ("never_contacted" if m.contacted_at is None else "offline")
    return {
        "id": m.id,
        "system_id": m.system_id,
        "version": m.version,
        "revision": m.revision,
        "platform": m.platform,
        "architecture": m.architecture,
        "created_at": iso(m.created_at),
        "contacted_at": iso(m.contacted_at),
        "ip_address": m.ip_address,
        "status": status,
    }


def _filter_runners(call: Call, runners: list[Runner]) -> list[dict[str, Any]]:
    q = {k: v[-1] for k, v in call.query.items() if v}
    items = []
    for r in sorted(runners, key=lambda r: r.id):
        item = runner_item(call.state, r)
        if "type" in q and r.runner_type != q["type"]:
            continue
        if (
            "status" in q
            and item["status"] != q["status"]
            and not (q["status"] == "offline" and item["status"] == "stale")
        ):
            continue
        if "paused" in q and r.paused != to_bool(q["paused"]):
            continue
        if "tag_list" in q and not set(split_tags(q["tag_list"])) <= set(r.tag_list):
            continue
        items.append(item)
    return items


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
    return 200, _filter_runners(call, call.state.runners_for_project(call.int_param("id")))


def group_runners(call: Call) -> Result:
    call.access_token(RUNNER_READ)
    return 200, _filter_runners(call, call.state.runners_for_group(call.int_param("id")))


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
    ]
]
