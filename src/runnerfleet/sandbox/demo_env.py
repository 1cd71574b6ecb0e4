"""The environment files the demo deploys: the user's file, extended for the demo's clock.

The twin runs the deployed autoscaler every ``schedule_factor``-th of a minute, but the Lambda's
own clock, the drain's heartbeats and the jobs stay real time. So the demo deploys a file that
``extends`` the user's (examples/dev.yaml by default) and only shortens what would otherwise
take minutes: the scale-in cooldown and idle time, the hook's heartbeat timeout, the rolling
update's pause; it scales from zero and drops the daytime schedule (the demo must not depend
on the hour it runs). Three files, deployed in turn: the base, one with the instance type
changed (the seed's "update the instance type"), one with a project added.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SandboxError

# what the demo changes, and why (printed when it starts)
TIMINGS: dict[str, Any] = {
    "scaling": {"cooldown_s": 15, "idle_count": 0, "idle_time_s": 10, "schedule": []},
    "drain": {"heartbeat_timeout_s": 30},
    "capacity": {"min": 0, "desired": 0, "rolling_update": {"pause_time": "PT30S"}},
}
TIMING_NOTE = (
    "scale-in cooldown 15 s, idle time 10 s, idle slots 0, no daytime schedule, from 0 "
    "instances, hook heartbeat 30 s, rolling-update pause 30 s"
)
NEW_PROJECT_ID = 4321
NEW_TAGS = ("docker", "web")
NEW_REGISTRATION = {
    "name": "demo-web",
    "type": "project",
    "project_id": NEW_PROJECT_ID,
    "tags": list(NEW_TAGS),
}


@dataclass(frozen=True)
class Project:
    """A project the fleet serves and the tags its jobs carry."""

    project_id: int
    tags: tuple[str, ...]


@dataclass(frozen=True)
class DemoFiles:
    base: Path
    bigger: Path  # the instance type changed
    with_project: Path  # and a project added
    stack: str
    old_type: str
    new_type: str
    project: Project  # the first project registration of the user's file
    new_project: Project


def write_files(envfile: Path, workdir: Path) -> DemoFiles:
    """Write the three files next to each other in ``workdir``; the user's file is validated
    (a bad file fails here, with every problem, before anything starts)."""
    spec = load_environment(envfile)
    old_type = spec.instances.types[0]
    new_type = "t3.large" if old_type != "t3.large" else "t3.xlarge"
    base = {"extends": str(envfile.resolve()), **TIMINGS}
    bigger = {**base, "instances": {"types": [new_type]}}
    with_project = {**bigger, "registrations": [NEW_REGISTRATION]}
    paths = []
    for name, doc in (("demo", base), ("demo-bigger", bigger), ("demo-project", with_project)):
        path = workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return DemoFiles(
        base=paths[0],
        bigger=paths[1],
        with_project=paths[2],
        stack=spec.stack,
        old_type=old_type,
        new_type=new_type,
        project=first_project(spec),
        new_project=Project(NEW_PROJECT_ID, NEW_TAGS),
    )


def first_project(spec: FleetSpec) -> Project:
    """Where the demo's pipelines run: the file's first project registration."""
    for registration in spec.registrations:
        if registration.type == "project" and registration.project_id is not None:
            return Project(registration.project_id, registration.tags)
    raise SandboxError(
        "the environment file registers no project runner: the demo has nowhere to run jobs",
        hint="add a registration of type project (as examples/dev.yaml does), or pass no --env",
    )
