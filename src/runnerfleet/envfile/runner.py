"""The ``runner:`` section (gitlab-runner and its docker executor) and ``registrations:``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, model_validator

from runnerfleet.envfile.base import SecretRef, Strict


class DockerSection(Strict):
    image: str = Field(..., min_length=1, description="Default job image.")
    privileged: bool = False
    volumes: tuple[str, ...] = ("/cache",)
    pull_policy: tuple[Literal["always", "if-not-present", "never"], ...] = ("if-not-present",)
    allowed_images: tuple[str, ...] = ()
    memory: str | None = Field(None, pattern=r"^\d+[kmg]?$")
    cpus: str | None = Field(None, pattern=r"^\d+(\.\d+)?$")

    @property
    def mounts_docker_socket(self) -> bool:
        return any(v.split(":", 1)[0] == "/var/run/docker.sock" for v in self.volumes)


class RunnerSection(Strict):
    gitlab_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/[^\s]*)?$")]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = "17.11.1"
    sha256: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        None, description="SHA-256 of the gitlab-runner linux-amd64 binary of that version."
    )
    download_url: Annotated[str | None, Field(pattern=r"^(https?|file)://\S+$")] = Field(
        None,
        description="Where instances download gitlab-runner ({version} and {arch} are filled "
        "in); default: GitLab's release bucket. The SHA-256 check applies to any URL.",
    )
    concurrent: StrictInt = Field(4, ge=1, le=1000, description="Job slots per instance.")
    check_interval: StrictInt = Field(3, ge=1, le=3600, description="Seconds between job polls.")
    shutdown_timeout: StrictInt = Field(30, ge=0)
    docker: DockerSection
    gitlab_token: SecretRef | None = Field(
        None, description="Access token for the GitLab API (create/list/delete runners)."
    )


class RegistrationSection(Strict):
    """One GitLab runner: where it is registered and what it accepts."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    type: Literal["project", "group", "instance"] = "project"
    project_id: StrictInt | None = Field(None, ge=1)
    group_id: StrictInt | None = Field(None, ge=1)
    tags: tuple[str, ...] = ()
    run_untagged: bool = False
    locked: bool = True
    access_level: Literal["not_protected", "ref_protected"] = "not_protected"
    maximum_timeout: StrictInt | None = Field(None, ge=600)
    token: SecretRef | None = Field(
        None,
        description="Where the glrt- token is stored; default /runnerfleet/<stack>/runners/<name>.",
    )

    @model_validator(mode="after")
    def _target(self) -> RegistrationSection:
        wants = {"project": "project_id", "group": "group_id"}.get(self.type)
        given = [k for k in ("project_id", "group_id") if getattr(self, k) is not None]
        if wants and given != [wants]:
            raise ValueError(
                f"a {self.type} runner needs {wants} (and nothing else); fix: set {wants} only"
            )
        if not wants and given:
            raise ValueError("an instance runner takes no project_id or group_id; fix: remove them")
        if not self.tags and not self.run_untagged:
            raise ValueError(
                "this runner would never get a job; fix: give tags, or set run_untagged: true"
            )
        return self
