"""The ``image:`` section: what EC2 Image Builder bakes into the runners' AMI.

A baked image carries the docker engine, the pinned gitlab-runner binary, the CloudWatch and
SSM agents, OS patches and pre-pulled job images, so that the bootstrap finds its install steps
done. ``instances.image`` stays the base: it is the parent the image is baked from, and the
fleet boots from the baked image's SSM parameter instead. Several environments share one image
by giving the same ``name`` (usually in the base file they all extend).

Cross-section rules (the runner pin, the root volume) need the whole FleetSpec; they are
collected by ``image_problems`` and reported with every other problem of the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from runnerfleet.envfile.models import FleetSpec

Problem = tuple[tuple[str | int, ...], str]  # (key path, message with its fix)

IMAGE_NAME_RE = r"^[a-z][a-z0-9-]{0,39}$"
VERSION_RE = r"^\d+\.\d+\.\d+$"
SHA256_RE = r"^[0-9a-f]{64}$"
# Image Builder's cron has six fields, like EventBridge: minutes hours day month weekday year.
SCHEDULE_RE = r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$"
MONTHLY = "cron(0 4 1 * ? *)"  # 04:00 UTC on the 1st: OS patches reach the fleet monthly
BUILD_INSTANCE_TYPE_RE = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def registry_of(reference: str) -> str | None:
    """The registry host of an image reference, or None when it relies on a default one.

    Docker's rule: the first path component is a registry when it holds a dot or a colon, or
    is ``localhost``; ``alpine:3.20`` and ``acme/job:1`` silently mean Docker Hub.
    """
    first, slash, _rest = reference.partition("/")
    if not slash:
        return None
    if "." in first or ":" in first or first == "localhost":
        return first
    return None


def _job_image(reference: str) -> str:
    if any(c.isspace() for c in reference) or not reference:
        raise ValueError("an image reference is one word, e.g. registry.example.com/ci/job:1.0")
    if registry_of(reference) is None:
        raise ValueError(
            f"{reference!r} names no registry, so the bake would pull it from Docker Hub "
            f"anonymously (rate-limited); fix: write the registry, e.g. "
            f"docker.io/library/{reference} or registry.gitlab.example.com/group/{reference}"
        )
    name = reference.split("/", 1)[1]
    if "@sha256:" not in name and ":" not in name:
        raise ValueError(
            f"{reference!r} has no tag or digest, so each bake pulls whatever 'latest' is; "
            "fix: pin it, e.g. ...:2026.11 or ...@sha256:<digest>"
        )
    return reference


JobImage = Annotated[str, AfterValidator(_job_image)]


class RunnerPin(_Strict):
    """The gitlab-runner binary baked into the image (linux-amd64 release)."""

    version: Annotated[str, Field(pattern=VERSION_RE)]
    sha256: Annotated[str | None, Field(pattern=SHA256_RE)] = Field(
        None, description="SHA-256 of gitlab-runner-linux-amd64 of that version."
    )

    @model_validator(mode="after")
    def _checksum(self) -> RunnerPin:
        if self.sha256 is None:
            raise ValueError(
                f"gitlab-runner {self.version} is pinned without its checksum, so nothing "
                "proves the baked binary is the released one; fix: add sha256: <the "
                f"release.sha256 entry of gitlab-runner-linux-amd64 {self.version}>"
            )
        return self


class BakedImageSection(_Strict):
    """What is baked; the image stack is ``runnerfleet-image-<name>``."""

    name: Annotated[str, Field(pattern=IMAGE_NAME_RE)] = Field(
        ..., description="Names the image stack and its SSM parameter; shared images share it."
    )
    runner: RunnerPin | None = Field(
        None, description="The baked gitlab-runner; default: runner.version and runner.sha256."
    )
    docker: bool = Field(True, description="Bake the docker engine (enabled at boot).")
    agents: tuple[Literal["cloudwatch", "ssm"], ...] = Field(
        ("cloudwatch", "ssm"), description="Agents to bake: CloudWatch agent, SSM agent."
    )
    pre_pull: tuple[JobImage, ...] = Field(
        (), description="Job images pulled into the image, with registry and tag or digest."
    )
    os_patches: bool = Field(True, description="Apply every OS update at each bake.")
    schedule: Annotated[str, Field(pattern=SCHEDULE_RE)] = Field(
        MONTHLY, description="Image Builder cron (six fields, UTC); default monthly."
    )
    build_instance_type: Annotated[str, Field(pattern=BUILD_INSTANCE_TYPE_RE)] = "t3.large"
    volume_size_gb: int = Field(30, ge=8, le=16384, description="Root volume of the image.")
    kms_key_id: str | None = Field(
        None, description="KMS key of the image's snapshots; default: the account's EBS key."
    )

    @property
    def stack(self) -> str:
        return f"runnerfleet-image-{self.name}"

    @property
    def parameter(self) -> str:
        """The SSM parameter that holds the newest AMI id (Image Builder writes it)."""
        return f"/runnerfleet/images/{self.name}/ami-id"


def image_problems(spec: FleetSpec) -> list[Problem]:
    """Rules between ``image:`` and the rest of the file; empty without an image section."""
    image = spec.image
    if image is None:
        return []
    return [*_runner_problems(spec, image), *_volume_problems(spec, image)]


def baked_runner(spec: FleetSpec, image: BakedImageSection) -> tuple[str, str | None]:
    """(version, sha256) of the binary the image bakes."""
    if image.runner is not None:
        return image.runner.version, image.runner.sha256
    return spec.runner.version, spec.runner.sha256


def _runner_problems(spec: FleetSpec, image: BakedImageSection) -> list[Problem]:
    version, digest = baked_runner(spec, image)
    if digest is None:
        return [
            (
                ("image",),
                f"the baked gitlab-runner {version} has no checksum; fix: set runner.sha256 "
                "(the image bakes runner.version by default) or give image.runner with "
                "version and sha256",
            )
        ]
    fleet = (spec.runner.version, spec.runner.sha256)
    if image.runner is None or fleet in ((version, digest), (version, None)):
        return []
    return [
        (
            ("image", "runner"),
            f"the image bakes gitlab-runner {version} but the fleet runs "
            f"{spec.runner.version}: every boot would download the fleet's binary and the "
            "baked one goes unused; fix: bake the fleet's version and checksum, or remove "
            "image.runner (it defaults to runner.version and runner.sha256)",
        )
    ]


def _volume_problems(spec: FleetSpec, image: BakedImageSection) -> list[Problem]:
    size = spec.instances.volume.size_gb
    if size >= image.volume_size_gb:
        return []
    return [
        (
            ("instances", "volume", "size_gb"),
            f"{size} GB is smaller than the baked image's root volume "
            f"({image.volume_size_gb} GB), so EC2 refuses to launch; fix: raise it to at "
            "least image.volume_size_gb, or lower image.volume_size_gb",
        )
    ]
