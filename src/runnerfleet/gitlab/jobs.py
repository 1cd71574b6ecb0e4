"""One CI job as GitLab tells it (``GET /projects/:id/jobs/:job_id``), and what an operator
types to name it: the job's number, or its URL ``<gitlab>/<project path>/-/jobs/<id>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gitlab

from runnerfleet.errors import SpecError
from runnerfleet.gitlab.client import gitlab_call

JOB_ID_RE = re.compile(r"^[0-9]{1,18}$")
JOB_PATH_RE = re.compile(r"^(?P<project>[^?#]+?)/-/jobs/(?P<id>[0-9]{1,18})(?:[/?#].*)?$")
EXAMPLE = "1234 or https://gitlab.example.com/group/project/-/jobs/1234"


@dataclass(frozen=True, slots=True)
class JobRef:
    job_id: int
    project_path: str | None  # None: a bare number, the project is looked for


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    project_id: int
    project_path: str
    name: str
    status: str
    tags: tuple[str, ...]
    created_at: float
    started_at: float | None
    finished_at: float | None
    system_id: str | None  # the runner manager that picked it
    runner: str | None  # the runner's description
    failure_reason: str | None


def parse_job_ref(text: str, gitlab_url: str) -> JobRef:
    """A job number or a job URL on ``gitlab_url``; anything else is refused with the fix."""
    value = text.strip()
    if JOB_ID_RE.match(value):
        return JobRef(int(value), None)
    base = gitlab_url.rstrip("/")
    if not re.match(r"^https?://", value):
        raise SpecError(
            f"{text!r} is neither a job number nor a job URL", hint=f"pass the job as {EXAMPLE}"
        )
    if not value.startswith(base + "/"):
        raise SpecError(
            f"{text!r} is not a job of {base} (runner.gitlab_url of this environment)",
            hint="pass a job of this environment's GitLab, or the environment file of the "
            "fleet that serves it",
        )
    match = JOB_PATH_RE.match(value[len(base) + 1 :])
    if match is None:
        raise SpecError(f"{text!r} is not a job URL", hint=f"pass the job as {EXAMPLE}")
    return JobRef(int(match["id"]), match["project"])


def project_path(gl: gitlab.Gitlab, project_id: int) -> str | None:
    """The project's path with namespace; None when GitLab does not know it."""
    raw = _get_or_none(gl, f"/projects/{project_id}", f"read project {project_id}")
    return str(raw["path_with_namespace"]) if isinstance(raw, dict) else None


def fetch_job(gl: gitlab.Gitlab, project_id: int, path: str, job_id: int) -> Job | None:
    """The job, or None when it is not a job of this project."""
    raw = _get_or_none(gl, f"/projects/{project_id}/jobs/{job_id}", f"read job {job_id} of {path}")
    return job_from_api(raw, project_id, path) if isinstance(raw, dict) else None


def _get_or_none(gl: gitlab.Gitlab, path: str, what: str) -> Any:
    with gitlab_call(what, gl.url):
        try:
            return gl.http_get(path)
        except gitlab.exceptions.GitlabHttpError as exc:
            if exc.response_code == 404:
                return None
            raise


def job_from_api(raw: dict[str, Any], project_id: int, path: str) -> Job:
    manager = raw.get("runner_manager") or {}
    runner = raw.get("runner") or {}
    return Job(
        id=int(raw["id"]),
        project_id=project_id,
        project_path=path,
        name=str(raw.get("name", "")),
        status=str(raw.get("status", "")),
        tags=tuple(str(t) for t in raw.get("tag_list") or ()),
        created_at=_epoch(raw.get("created_at")) or 0.0,
        started_at=_epoch(raw.get("started_at")),
        finished_at=_epoch(raw.get("finished_at")),
        system_id=manager.get("system_id") if isinstance(manager, dict) else None,
        runner=runner.get("description") if isinstance(runner, dict) else None,
        failure_reason=raw.get("failure_reason"),
    )


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
