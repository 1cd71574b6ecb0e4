"""The ``instances:`` section: the AMI the group boots, its root volume, its instance types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from runnerfleet.envfile.base import SSM_PATH_RE, Strict
from runnerfleet.envfile.capacity import INSTANCE_TYPE_RE, SpotSection, checked_types


class ImageSection(Strict):
    """The AMI: a fixed id, or an SSM public parameter resolved at deploy time."""

    ami_id: Annotated[str | None, Field(pattern=r"^ami-[0-9a-f]{8,17}$")] = None
    ssm_parameter: Annotated[str | None, Field(pattern=SSM_PATH_RE)] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageSection:
        if (self.ami_id is None) == (self.ssm_parameter is None):
            raise ValueError(
                "give exactly one of ami_id or ssm_parameter; fix: keep one of the two"
            )
        return self


AL2023_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


class VolumeSection(Strict):
    size_gb: StrictInt = Field(100, ge=8, le=16384)
    type: Literal["gp3", "gp2", "io1", "io2"] = "gp3"
    iops: StrictInt | None = Field(None, ge=3000, le=64000)
    throughput: StrictInt | None = Field(None, ge=125, le=1000, description="MiB/s, gp3 only.")
    encrypted: bool = True
    kms_key_id: str | None = None


class InstancesSection(Strict):
    name: str = Field("gitlab-runner", description="Name tag of the instances.")
    image: ImageSection = ImageSection(ssm_parameter=AL2023_PARAMETER)
    types: tuple[Annotated[str, Field(pattern=INSTANCE_TYPE_RE)], ...] = Field(
        ("t3.medium",), description="First is the launch template default; more means mixed."
    )
    volume: VolumeSection = VolumeSection()
    spot: SpotSection | None = Field(None, description="Set to use spot capacity.")
    max_lifetime_s: StrictInt | None = Field(
        604800, description="Recycle instances after this many seconds (0 or null: never)."
    )
    jobs_use_instance_role: bool = Field(
        False,
        description="Let job containers reach IMDS (hop limit 2). Off: hop limit 1, "
        "containers cannot take the instance role's credentials.",
    )
    detailed_monitoring: bool = True

    @field_validator("types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return checked_types(value, "[t3.medium]")

    @field_validator("max_lifetime_s")
    @classmethod
    def _lifetime(cls, value: int | None) -> int | None:
        if value and not 86400 <= value <= 31536000:
            raise ValueError(
                "out of range; fix: use 0 (never), or 86400 (1 day) to 31536000 (365 days)"
            )
        return value or None
