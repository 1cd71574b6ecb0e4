"""The ``scaling:`` section: the autoscaler's policy, its schedule periods, its webhook."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    StrictFloat,
    StrictInt,
    field_validator,
    model_serializer,
)

from runnerfleet.envfile.base import SecretRef, Strict, refused_if
from runnerfleet.envfile.schedule import cron_problem, timezone_problem

DEFAULT_BOOT_S = 180.0  # idle_time_s: auto without boot_estimate_s (as scaling.settings)


class SchedulePeriod(Strict):
    cron: str = Field(..., description="Five-field cron, e.g. '* 8-18 * * mon-fri'.")
    timezone: str = "UTC"
    min: StrictInt | None = Field(None, ge=0)
    idle_count: StrictInt | None = Field(None, ge=0)
    idle_time_s: StrictInt | None = Field(None, ge=0)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        return refused_if(value, cron_problem(value))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return refused_if(value, timezone_problem(value))


class WebhookSection(Strict):
    secret: SecretRef = Field(..., description="X-Gitlab-Token secret, in SSM.")


class ScalingSection(Strict):
    policy: Literal["seed", "idle", "queue"] = "queue"
    interval: Literal["rate(1 minute)", "rate(2 minutes)", "rate(5 minutes)"] = "rate(1 minute)"
    cooldown_s: StrictInt = Field(300, ge=0, le=86400, description="Scale-in cooldown.")
    headroom_jobs: StrictInt = Field(2, ge=0, description="seed policy: spare job slots.")
    # Unset keys take the policy's default (POLICY_DEFAULTS below).
    idle_count: StrictInt | None = Field(None, ge=0, description="Idle job slots to keep.")
    idle_time_s: Annotated[StrictInt, Field(ge=0)] | Literal["auto"] | None = Field(
        None,
        description="An instance idle this long may go; 'auto': one boot time"
        " (boot_estimate_s), the break-even of idle cost against a relaunch.",
    )
    boot_estimate_s: StrictInt | None = Field(
        None, ge=1, le=3600, description="The group's boot time, for idle_time_s: auto."
    )
    scale_factor: StrictFloat | None = Field(
        None, ge=0.0, le=10.0, description="Extra idle slots as a fraction of busy ones."
    )
    scale_factor_limit: StrictInt = Field(0, ge=0)
    stale_after_s: StrictInt = Field(180, ge=30)
    schedule: tuple[SchedulePeriod, ...] = ()
    webhook: WebhookSection | None = None

    @field_validator("idle_time_s", mode="before")
    @classmethod
    def _idle_time(cls, value: object) -> object:
        seconds = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if not (value is None or value == "auto" or seconds):
            raise ValueError(f"{value!r} is neither seconds (a whole number such as 120) nor auto")
        return value

    @property
    def idle_slots(self) -> int:
        """``idle_count``, or the policy's default when it is not set."""
        return int(self._or_default("idle_count", self.idle_count))

    @property
    def idle_seconds(self) -> float:
        """``idle_time_s``, or the policy's default when it is not set; ``auto`` gives the
        boot estimate (the break-even)."""
        if isinstance(self.idle_time_s, str):  # auto
            return float(self.boot_estimate_s or DEFAULT_BOOT_S)
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
        if data.get("boot_estimate_s") is None:
            data.pop("boot_estimate_s", None)  # only for idle_time_s: auto
        return data


#: what an unset key of the idle and queue policies means; runnerfleet.scaling.settings and
#: the simulator's catalog hold the same values (a test keeps them in step). The queue
#: default was chosen with the simulator by its worst case over every workload family
#: (docs/benchmarks.md, "Policies" and "Policy candidates").
POLICY_DEFAULTS: dict[str, dict[str, float]] = {
    "idle": {"idle_count": 2, "idle_time_s": 120, "scale_factor": 0.25},
    "queue": {"idle_count": 2, "idle_time_s": 180, "scale_factor": 0},
}
