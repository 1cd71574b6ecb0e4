"""The GitLab stand-in's state: access tokens, projects, groups, runners, managers, jobs.

One lock guards everything, so the HTTP threads and a test's Python calls see one consistent
model. Timings follow GitLab's ``Ci::Runner`` (online for 2 hours after the last contact,
stale after 7 days). The clock is injectable so tests can age runners without sleeping.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from runnerfleet.sandbox.standin.records import (
    AccessToken,
    Group,
    Job,
    Manager,
    Pipeline,
    Project,
    Runner,
)

ONLINE_CONTACT_TIMEOUT = 2 * 3600.0
STALE_TIMEOUT = 7 * 24 * 3600.0
RUNNER_TYPES = ("instance_type", "group_type", "project_type")
ACCESS_LEVELS = ("not_protected", "ref_protected")


class ApiError(Exception):
    """An API refusal: the HTTP status and the JSON body GitLab would send."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def not_found(what: str) -> ApiError:
    return ApiError(404, {"message": f"404 {what} Not Found"})


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"message": f"400 Bad request - {message}"})


def forbidden(message: str = "403 Forbidden") -> ApiError:
    return ApiError(403, {"message": message})


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StandInState:
    """The whole model. Every public method takes the lock; helpers prefixed ``_`` assume it."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        auto_targets: bool = False,
        lost_after_s: float | None = None,
    ):
        self.lock = threading.RLock()
        self.lost_after_s = lost_after_s  # a running job's runner silent this long is gone
        self.auto_targets = auto_targets  # sandbox: any project or group id exists on first use
        self.clock = clock
        self.tokens: dict[str, AccessToken] = {}
        self.projects: dict[int, Project] = {}
        self.groups: dict[int, Group] = {}
        self.runners: dict[int, Runner] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.managers: dict[int, Manager] = {}
        self.jobs: dict[int, Job] = {}
        self.allow_registration_tokens = False
        self.registration_tokens: dict[str, tuple[str, int | None]] = {}
        self.fail_next: dict[str, int] = {}
        self._ids: dict[str, int] = {}

    # ---- seeding (tests and the sandbox) ----

    def next_id(self, kind: str, start: int = 1) -> int:
        with self.lock:
            self._ids[kind] = self._ids.get(kind, start - 1) + 1
            return self._ids[kind]

    def add_access_token(
        self,
        value: str,
        *,
        scopes: tuple[str, ...] = ("api",),
        username: str = "root",
        admin: bool = False,
    ) -> AccessToken:
        with self.lock:
            tok = AccessToken(value, username, frozenset(scopes), admin, id=self.next_id("pat"))
            self.tokens[value] = tok
            return tok

    def add_group(self, group_id: int, path: str) -> Group:
        with self.lock:
            self.groups[group_id] = Group(group_id, path)
            return self.groups[group_id]

    def add_project(self, project_id: int, path: str, group_id: int | None = None) -> Project:
        with self.lock:
            self.projects[project_id] = Project(project_id, path, group_id)
            return self.projects[project_id]

    def add_registration_token(
        self, value: str, runner_type: str, scope_id: int | None = None
    ) -> None:
        """A legacy registration token for a project, a group or the instance."""
        with self.lock:
            self.registration_tokens[value] = (runner_type, scope_id)

    def fail_after(self, operation: str, successes: int) -> None:
        """Let ``operation`` (e.g. ``create_runner``) succeed ``successes`` times, then 500."""
        with self.lock:
            self.fail_next[operation] = successes

    def _maybe_fail(self, operation: str) -> None:
        left = self.fail_next.get(operation)
        if left is None:
            return
        if left <= 0:
            raise ApiError(500, {"message": "500 Internal Server Error"})
        self.fail_next[operation] = left - 1

    # ---- lookups ----

    def project(self, project_id: int) -> Project:
        with self.lock:
            if project_id not in self.projects:
                if not self.auto_targets:
                    raise not_found("Project")
                self.add_project(project_id, f"sandbox/project-{project_id}")
            return self.projects[project_id]

    def group(self, group_id: int) -> Group:
        with self.lock:
            if group_id not in self.groups:
                if not self.auto_targets:
                    raise not_found("Group")
                self.add_group(group_id, f"sandbox-group-{group_id}")
            return self.groups[group_id]

    def runner(self, runner_id: int) -> Runner:
        with self.lock:
            if runner_id not in self.runners:
                raise not_found("Runner")
            return self.runners[runner_id]

    def runner_by_token(self, token: str | None) -> Runner:
        with self.lock:
            for runner in self.runners.values():
                if token and secrets.compare_digest(runner.token, token):
                    return runner
            raise forbidden()

    def managers_of(self, runner_id: int) -> list[Manager]:
        with self.lock:
            return [m for m in self.managers.values() if m.runner_id == runner_id]

    def contacted_at(self, runner: Runner) -> float | None:
        with self.lock:
            seen = [m.contacted_at for m in self.managers_of(runner.id) if m.contacted_at]
            return max(seen) if seen else None

    def status(self, runner: Runner) -> str:
        """online | offline | stale | never_contacted, as GitLab computes it."""
        now = self.clock()
        contacted = self.contacted_at(runner)
        if contacted is None:
            return "stale" if now - runner.created_at > STALE_TIMEOUT else "never_contacted"
        if now - contacted <= ONLINE_CONTACT_TIMEOUT:
            return "online"
        return "stale" if now - contacted > STALE_TIMEOUT else "offline"

    def runners_for_project(self, project_id: int) -> list[Runner]:
        """Project runners of the project plus its group's and instance runners."""
        with self.lock:
            project = self.project(project_id)
            return [r for r in self.runners.values() if _serves(r, project)]

    def runners_for_group(self, group_id: int) -> list[Runner]:
        with self.lock:
            self.group(group_id)
            return [
                r
                for r in self.runners.values()
                if r.runner_type == "group_type" and r.scope_id == group_id
            ]

    # ---- runner lifecycle ----

    def create_runner(self, params: dict[str, Any], *, legacy: bool = False) -> Runner:
        with self.lock:
            self._maybe_fail("create_runner")
            runner_type, scope_id = self._scope_of(params)
            prefix = "" if legacy else "glrt-"
            runner = Runner(
                id=self.next_id("runner", 9000),
                token=prefix + secrets.token_urlsafe(15),
                runner_type=runner_type,
                scope_id=scope_id,
                created_at=self.clock(),
                legacy=legacy,
            )
            update_runner_fields(runner, params)
            self.runners[runner.id] = runner
            return runner

    def _scope_of(self, params: dict[str, Any]) -> tuple[str, int | None]:
        runner_type = params.get("runner_type")
        if runner_type not in RUNNER_TYPES:
            raise bad_request("runner_type does not have a valid value")
        if runner_type == "project_type":
            pid = _int_or_none(params.get("project_id"))
            if pid is None or not self._exists(self.project, pid):
                raise bad_request("Missing/invalid project ID")
            return runner_type, pid
        if runner_type == "group_type":
            gid = _int_or_none(params.get("group_id"))
            if gid is None or not self._exists(self.group, gid):
                raise bad_request("Missing/invalid group ID")
            return runner_type, gid
        return runner_type, None

    @staticmethod
    def _exists(lookup: Callable[[int], object], key: int) -> bool:
        try:
            lookup(key)
        except ApiError:
            return False
        return True

    def delete_runner(self, runner_id: int) -> None:
        with self.lock:
            self.runner(runner_id)
            del self.runners[runner_id]
            for mid in [m.id for m in self.managers_of(runner_id)]:
                del self.managers[mid]

    def touch_manager(
        self,
        runner: Runner,
        system_id: str | None,
        info: dict[str, Any] | None = None,
        ip: str = "",
    ) -> Manager | None:
        """Create the manager on first contact, then refresh contacted_at and its info."""
        if not system_id:
            return None
        with self.lock:
            now = self.clock()
            found = [m for m in self.managers_of(runner.id) if m.system_id == system_id]
            manager = (
                found[0]
                if found
                else Manager(self.next_id("manager"), runner.id, system_id, created_at=now)
            )
            self.managers[manager.id] = manager
            manager.contacted_at = now
            manager.ip_address = ip
            for key in ("version", "revision", "platform", "architecture"):
                if info and info.get(key):
                    setattr(manager, key, str(info[key]))
            return manager

    def delete_manager(self, runner: Runner, system_id: str) -> None:
        with self.lock:
            found = [m for m in self.managers_of(runner.id) if m.system_id == system_id]
            if not found:
                raise not_found("Runner manager")
            del self.managers[found[0].id]


def update_runner_fields(runner: Runner, params: dict[str, Any]) -> None:
    """Apply the optional runner attributes GitLab accepts on create and update."""
    if "description" in params:
        runner.description = str(params["description"] or "")
    if "tag_list" in params:
        runner.tag_list = split_tags(params["tag_list"])
    for key in ("run_untagged", "locked", "paused"):
        if key in params:
            setattr(runner, key, to_bool(params[key]))
    if "access_level" in params:
        if params["access_level"] not in ACCESS_LEVELS:
            raise bad_request("access_level does not have a valid value")
        runner.access_level = params["access_level"]
    if "maximum_timeout" in params:
        runner.maximum_timeout = _int_or_none(params["maximum_timeout"])
    if "maintenance_note" in params:
        runner.maintenance_note = str(params["maintenance_note"] or "")


def _serves(runner: Runner, project: Project) -> bool:
    if runner.runner_type == "instance_type":
        return True
    if runner.runner_type == "group_type":
        return project.group_id is not None and runner.scope_id == project.group_id
    return runner.scope_id == project.id


def runner_serves(state: StandInState, runner: Runner, project_id: int) -> bool:
    project = state.projects.get(project_id)
    return project is not None and _serves(runner, project)


def split_tags(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(t).strip() for t in items if str(t).strip()]


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


__all__ = [
    "AccessToken",
    "ApiError",
    "Group",
    "Job",
    "Manager",
    "Pipeline",
    "Project",
    "Runner",
    "StandInState",
    "bad_request",
    "forbidden",
    "iso",
    "not_found",
    "runner_serves",
    "split_tags",
    "to_bool",
    "update_runner_fields",
]
