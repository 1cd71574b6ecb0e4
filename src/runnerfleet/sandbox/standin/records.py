"""The stand-in's records: access tokens, projects, groups, runners, managers, jobs, pipelines.

Plain data; ``model.StandInState`` owns them under one lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AccessToken:
    value: str = field(repr=False)  # secrets stay out of reprs, logs and tracebacks
    username: str
    scopes: frozenset[str]
    admin: bool = False
    user_id: int = 1
    id: int = 1


@dataclass
class Project:
    id: int
    path: str
    group_id: int | None = None


@dataclass
class Group:
    id: int
    path: str


@dataclass
class Runner:
    id: int
    token: str = field(repr=False)
    runner_type: str
    scope_id: int | None
    description: str = ""
    tag_list: list[str] = field(default_factory=list)
    run_untagged: bool = True
    locked: bool = False
    access_level: str = "not_protected"
    maximum_timeout: int | None = None
    paused: bool = False
    maintenance_note: str = ""
    created_at: float = 0.0
    legacy: bool = False


@dataclass
class Manager:
    id: int
    runner_id: int
    system_id: str
    created_at: float
    contacted_at: float | None = None
    version: str | None = None
    revision: str | None = None
    platform: str | None = None
    architecture: str | None = None
    ip_address: str = ""


@dataclass
class Job:
    id: int
    project_id: int
    name: str
    stage: str
    tag_list: list[str]
    created_at: float
    token: str = field(repr=False)
    ref: str = "main"
    duration: float = 0.0
    status: str = "pending"
    runner_id: int | None = None
    system_id: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    failure_reason: str | None = None
    pipeline_id: int | None = None
    updated_at: float | None = None  # the runner's last update or trace of this job


@dataclass
class Pipeline:
    id: int
    iid: int
    project_id: int
    ref: str
    created_at: float
    variables: dict[str, str] = field(default_factory=dict)
    job_ids: list[int] = field(default_factory=list)
