"""The environment file, as frozen typed models.

One file describes one environment (account, region, network, instances, runner settings,
GitLab registrations, scaling) and becomes one CloudFormation stack. Unknown keys are errors;
cross-field rules live in the smallest model that holds both fields, so that pydantic reports
them together with every other problem in one pass.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from runnerfleet.envfile.base import SSM_PATH_RE, SecretRef, Strict, refused_if
from runnerfleet.envfile.capacity import CapacitySection, SpotSection
from runnerfleet.envfile.image import BakedImageSection, image_problems
from runnerfleet.envfile.instances import (
    AL2023_PARAMETER,
    ImageSection,
    InstancesSection,
    VolumeSection,
)
from runnerfleet.envfile.organisation import OrganisationSection
from runnerfleet.envfile.regions import region_problem
from runnerfleet.envfile.runner import DockerSection, RegistrationSection, RunnerSection
from runnerfleet.envfile.scaling import (
    POLICY_DEFAULTS,
    ScalingSection,
    SchedulePeriod,
    WebhookSection,
)
from runnerfleet.envfile.warm import warm_problems

# The sections live in their own modules; their names stay importable from here.
__all__ = [
    "AL2023_PARAMETER",
    "POLICY_DEFAULTS",
    "SSM_PATH_RE",
    "STACK_NAME_RE",
    "ArtifactsSection",
    "AwsSection",
    "CapacitySection",
    "DockerSection",
    "DrainSection",
    "FleetSpec",
    "ImageSection",
    "InstancesSection",
    "LogsSection",
    "NetworkSection",
    "RegistrationSection",
    "RunnerSection",
    "ScalingSection",
    "SchedulePeriod",
    "SecretRef",
    "SpotSection",
    "VolumeSection",
    "WebhookSection",
    "cross_section_error",
]

STACK_NAME_RE = r"^[A-Za-z][A-Za-z0-9-]{0,39}$"


class AwsSection(Strict):
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")] = Field(
        ..., description="The 12-digit account this environment lives in; deploy checks it."
    )
    region: str = Field(..., description="AWS region, e.g. eu-west-1.")
    role_arn: Annotated[str | None, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")] = Field(
        None, description="Role to assume for this environment (cross-account deploys)."
    )
    profile: str | None = Field(None, description="Named AWS CLI profile to start from.")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return refused_if(value, region_problem(value))


class NetworkSection(Strict):
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    subnet_ids: tuple[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")], ...] = Field(
        ..., description="Private subnets with NAT egress, ideally one per AZ."
    )

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one private subnet id; fix: add subnet-... ids")
        if len(set(value)) != len(value):
            raise ValueError("a subnet id is listed twice; fix: remove the repeat")
        return value


class DrainSection(Strict):
    heartbeat_timeout_s: StrictInt = Field(600, ge=30, le=7200)
    max_drain_s: StrictInt = Field(10800, ge=60, le=172800, description="Longest job to wait for.")
    retry_lost_jobs: bool = Field(True, description="Retry jobs killed by spot interruptions.")

    @model_validator(mode="after")
    def _order(self) -> DrainSection:
        if self.max_drain_s < self.heartbeat_timeout_s:
            raise ValueError("max_drain_s is below heartbeat_timeout_s; fix: raise max_drain_s")
        return self


class LogsSection(Strict):
    retention_days: Literal[
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    ] = 30
    kms_key_arn: str | None = None

    @field_validator("retention_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML true would otherwise pass as 1
            raise ValueError(
                f"{str(value).lower()} is a yes/no value, not a number; "
                "fix: use a number of days: 1, 3, 5, 7, 14, 30, 60, 90, 365, ..."
            )
        return value


class ArtifactsSection(Strict):
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    prefix: str = "runnerfleet/"


def cross_section_error(problems: list[tuple[tuple[str | int, ...], str]]) -> ValidationError:
    """Rules between sections as one ValidationError, each at its own key."""
    return ValidationError.from_exception_data(
        "FleetSpec",
        [
            InitErrorDetails(type=PydanticCustomError("value_error", text), loc=loc, input=None)
            for loc, text in problems
        ],
    )


class FleetSpec(Strict):
    """A validated environment file."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")] = Field(
        ..., description="Environment name, e.g. dev, qa, prod."
    )
    stack_name: Annotated[str | None, Field(pattern=STACK_NAME_RE)] = Field(
        None, description="Defaults to runnerfleet-<name>."
    )
    production: bool = False
    aws: AwsSection
    network: NetworkSection
    instances: InstancesSection = InstancesSection()
    image: BakedImageSection | None = Field(
        None, description="Bake the runners' AMI with EC2 Image Builder (docs/image.md)."
    )
    capacity: CapacitySection = CapacitySection()
    runner: RunnerSection
    registrations: tuple[RegistrationSection, ...] = ()
    scaling: ScalingSection = ScalingSection()
    drain: DrainSection = DrainSection()
    logs: LogsSection = LogsSection()
    artifacts: ArtifactsSection
    kms_key_id: str | None = Field(None, description="KMS key for the runner tokens in SSM.")
    alarm_topic_arn: Annotated[
        str | None, Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
    ] = Field(None, description="SNS topic the stack's alarms notify (alarm and back to OK).")
    access: dict[str, Any] | None = Field(
        None,
        description="Operator VPN (Client VPN with SAML SSO). Checked against the service's "
        "limits by `runnerfleet access ...` (docs/access.md), not by the fleet commands.",
    )
    tags: dict[Annotated[str, Field(min_length=1, max_length=128)], str] = Field(
        default_factory=dict, description="Tags on every resource (CostCenter, AppId, ...)."
    )
    organisation: OrganisationSection | None = Field(
        None, description="Deploy to many accounts and regions through a StackSet (deploy.md)."
    )

    @field_validator("registrations")
    @classmethod
    def _unique_names(
        cls, value: tuple[RegistrationSection, ...]
    ) -> tuple[RegistrationSection, ...]:
        names = [r.name for r in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"registration names must be unique, repeated: {', '.join(dupes)}; "
                "fix: rename one of each"
            )
        return value

    @field_validator("stack_name")
    @classmethod
    def _stack_name(cls, value: str | None) -> str | None:
        if value and value.lower().startswith(("aws", "amazon")):
            raise ValueError(
                "must not start with aws or amazon (SSM refuses such document names); "
                "fix: choose another prefix"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = [k for k in value if k.lower().startswith("aws:")]
        if reserved:
            raise ValueError(
                f"tag keys starting with aws: are reserved ({', '.join(reserved)}); "
                "fix: rename them"
            )
        return value

    @model_validator(mode="after")
    def _across_sections(self) -> FleetSpec:
        """Rules between sections, each reported at its own key (and so its own line)."""
        problems = [*image_problems(self), *warm_problems(self.instances, self.capacity)]
        if problems:
            raise cross_section_error(problems)
        return self

    @property
    def stack(self) -> str:
        return self.stack_name or f"runnerfleet-{self.name}"

    @property
    def ssm_path(self) -> str:
        """The stack's SSM namespace; the instance role may read only below it."""
        return f"/runnerfleet/{self.stack}"

    def token_parameter(self, registration: RegistrationSection) -> str:
        ref = registration.token
        if ref is not None and ref.ssm_parameter:
            return ref.ssm_parameter
        return f"{self.ssm_path}/runners/{registration.name}"
