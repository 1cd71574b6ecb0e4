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
    SerializerFunctionWrapHandler,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from runnerfleet.envfile.base import Strict
from runnerfleet.envfile.capacity import (
    INSTANCE_TYPE_RE,
    CapacitySection,
    SpotSection,
    checked_types,
)
from runnerfleet.envfile.image import BakedImageSection, image_problems
from runnerfleet.envfile.organisation import OrganisationSection
from runnerfleet.envfile.regions import region_problem
from runnerfleet.envfile.schedule import cron_problem, timezone_problem
from runnerfleet.envfile.warm import warm_problems

STACK_NAME_RE = r"^[A-Za-z][A-Za-z0-9-]{0,39}$"
SSM_PATH_RE = r"^/[A-Za-z0-9_.\-/]{1,1000}$"


def _refused_if(value: str, problem: str | None) -> str:
    """``value``, or the ValueError pydantic reports when a checker found a problem."""
    if problem:
        raise ValueError(problem)
    return value


class SecretRef(Strict):
    """Where a secret lives. The value itself is never in the environment file."""

    ssm_parameter: Annotated[str | None, Field(pattern=SSM_PATH_RE)] = Field(
        None, description="Name of an SSM SecureString parameter holding the secret."
    )
    env: Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        None, description="Name of an environment variable holding the secret (operator side)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.ssm_parameter is None) == (self.env is None):
            raise ValueError("give exactly one of ssm_parameter or env; fix: keep one of the two")
        return self


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
        return _refused_if(value, region_problem(value))


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


class SchedulePeriod(Strict):
    cron: str = Field(..., description="Five-field cron, e.g. '* 8-18 * * mon-fri'.")
    timezone: str = "UTC"
    min: StrictInt | None = Field(None, ge=0)
    idle_count: StrictInt | None = Field(None, ge=0)
    idle_time_s: StrictInt | None = Field(None, ge=0)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _refused_if(value, cron_problem(value))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _refused_if(value, timezone_problem(value))


class WebhookSection(Strict):
    secret: SecretRef = Field(..., description="X-Gitlab-Token secret, in SSM.")


class ScalingSection(Strict):
    policy: Literal["seed", "idle", "queue"] = "queue"
    interval: Literal["rate(1 minute)", "rate(2 minutes)", "rate(5 minutes)"] = "rate(1 minute)"
    cooldown_s: StrictInt = Field(300, ge=0, le=86400, description="Scale-in cooldown.")
    headroom_jobs: StrictInt = Field(2, ge=0, description="seed policy: spare job slots.")
    # Unset keys take the policy's default (POLICY_DEFAULTS below).
    idle_count: StrictInt | None = Field(None, ge=0, description="Idle job slots to keep.")
    idle_time_s: StrictInt | None = Field(
        None, ge=0, description="An instance idle this long may go."
    )
    scale_factor: StrictFloat | None = Field(
        None, ge=0.0, le=10.0, description="Extra idle slots as a fraction of busy ones."
    )
    scale_factor_limit: StrictInt = Field(0, ge=0)
    stale_after_s: StrictInt = Field(180, ge=30)
    schedule: tuple[SchedulePeriod, ...] = ()
    webhook: WebhookSection | None = None

    @property
    def idle_slots(self) -> int:
        """``idle_count``, or the policy's default when it is not set."""
        return int(self._or_default("idle_count", self.idle_count))

    @property
    def idle_seconds(self) -> float:
        """``idle_time_s``, or the policy's default when it is not set."""
        return float(self._or_default("idle_time_s", self.idle_time_s))

    @property
    def factor(self) -> float:
        """``scale_factor``, or the policy's default when it is not set."""
        return float(self._or_default("scale_factor", self.scale_factor))

    def _or_default(self, key: str, value: float | None) -> float:
        return POLICY_DEFAULTS.get(self.policy, {}).get(key, 0) if value is None else value

    @model_serializer(mode="wrap")
    def _resolved(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Dumped with the policy's defaults filled in: the template shows the values the
        autoscaler will use."""
        data: dict[str, Any] = handler(self)
        for key, value in POLICY_DEFAULTS.get(self.policy, {}).items():
            if key in data and data[key] is None:
                data[key] = value
        return data


#: what an unset key of the idle and queue policies means; runnerfleet.scaling.settings and
#: the simulator's catalog hold the same values (a test keeps them in step). The queue
#: default was chosen with the simulator by its worst case over every workload family
#: (docs/benchmarks.md, "Policies" and "Policy candidates").
POLICY_DEFAULTS: dict[str, dict[str, float]] = {
    "idle": {"idle_count": 2, "idle_time_s": 120, "scale_factor": 0.25},
    "queue": {"idle_count": 2, "idle_time_s": 180, "scale_factor": 0},
}


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
