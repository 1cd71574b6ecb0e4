"""Capacity: the group's bounds, its rolling update, its warm pool, and the spot overflow.

The warm on-demand group plus spot overflow pattern: AWS refuses a warm pool on a group with a
mixed instances policy, so warm capacity sits in an on-demand group of one instance type and
spot capacity in a second group (``capacity.overflow``) that the autoscaler grows only for what
the warm group cannot take (docs/image.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, field_validator, model_validator

from runnerfleet.envfile.base import Strict

INSTANCE_TYPE_RE = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"


def checked_types(value: tuple[str, ...], example: str) -> tuple[str, ...]:
    """A list of instance types: not empty, no repeat."""
    if not value:
        raise ValueError(f"list at least one instance type; fix: e.g. {example}")
    if len(set(value)) != len(value):
        raise ValueError("an instance type is listed twice; fix: remove the repeat")
    return value


class SpotSection(Strict):
    """The on-demand/spot mix of a mixed instances policy."""

    on_demand_base_capacity: StrictInt = Field(0, ge=0)
    on_demand_percentage_above_base: StrictInt = Field(100, ge=0, le=100)
    allocation_strategy: Literal[
        "price-capacity-optimized", "capacity-optimized", "lowest-price"
    ] = "price-capacity-optimized"
    capacity_rebalance: bool = True


class RollingUpdateSection(Strict):
    max_batch_size: StrictInt = Field(1, ge=1)
    min_in_service: StrictInt = Field(1, ge=0)
    pause_time: Annotated[str, Field(pattern=r"^PT(\d+H)?(\d+M)?(\d+S)?$")] = "PT10M"


class WarmPoolSection(Strict):
    min_size: StrictInt = Field(0, ge=0)
    max_prepared: StrictInt | None = Field(None, ge=0)
    state: Literal["Stopped", "Hibernated", "Running"] = "Stopped"


class OverflowSection(Strict):
    """A second group, spot (mixed instances), that takes what the warm group cannot."""

    max: StrictInt = Field(..., ge=1, le=1000, description="Most instances of the spot group.")
    types: tuple[Annotated[str, Field(pattern=INSTANCE_TYPE_RE)], ...] = Field(
        ..., description="Instance types to take spot capacity from; more types, fewer gaps."
    )
    spot: SpotSection = Field(
        SpotSection(on_demand_percentage_above_base=0),
        description="The group's on-demand/spot mix; default: all spot.",
    )

    @field_validator("types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return checked_types(value, "[m7i.large, m6i.large]")


class CapacitySection(Strict):
    min: StrictInt = Field(0, ge=0)
    max: StrictInt = Field(4, ge=0, le=1000)
    desired: StrictInt | None = Field(
        None, ge=0, description="Initial size; the autoscaler owns it."
    )
    rolling_update: RollingUpdateSection = RollingUpdateSection()
    warm_pool: WarmPoolSection | None = None
    overflow: OverflowSection | None = Field(
        None, description="A spot group behind the warm group (needs warm_pool)."
    )

    @model_validator(mode="after")
    def _bounds(self) -> CapacitySection:
        problems, fixes = [], []
        if self.min > self.max:
            problems.append(f"min ({self.min}) is greater than max ({self.max})")
            fixes.append("lower min or raise max")
        if self.desired is not None and not self.min <= self.desired <= self.max:
            problems.append(f"desired ({self.desired}) is outside [min, max]")
            fixes.append("set desired between min and max, or leave it out")
        if self.rolling_update.min_in_service >= max(self.max, 1):
            problems.append("rolling_update.min_in_service must be below max")
            fixes.append("lower rolling_update.min_in_service")
        if problems:
            raise ValueError(f"{', '.join(problems)}; fix: {'; '.join(fixes)}")
        return self

    @property
    def initial_desired(self) -> int:
        return self.min if self.desired is None else self.desired
