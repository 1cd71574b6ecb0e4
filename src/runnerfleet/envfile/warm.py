"""Warm capacity rules: what AWS allows a warm pool to sit on, and what the overflow needs.

"You cannot add a warm pool to Auto Scaling groups that have a mixed instances policy or that
launch Spot Instances" (EC2 Auto Scaling user guide, warm pools). Our group gets a mixed
instances policy as soon as it has spot or several instance types, so either of those next to
``capacity.warm_pool`` is refused here, with the key and line, before any template exists.
Spot capacity beside a warm pool goes into ``capacity.overflow``: a second group the
autoscaler grows only for what the warm group cannot take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runnerfleet.envfile.capacity import CapacitySection
    from runnerfleet.envfile.instances import InstancesSection

Problem = tuple[tuple[str | int, ...], str]


def warm_problems(instances: InstancesSection, capacity: CapacitySection) -> list[Problem]:
    """The rules over the two sections; the loader also applies them when another section's
    error stopped the model before its own check (every problem is reported at once)."""
    return [*_mixed_warm_pool(instances, capacity), *_overflow_without_warm_pool(capacity)]


def _mixed_warm_pool(instances: InstancesSection, capacity: CapacitySection) -> list[Problem]:
    if capacity.warm_pool is None:
        return []
    reasons = []
    if instances.spot is not None:
        reasons.append("instances.spot is set")
    if len(instances.types) > 1:
        reasons.append(f"instances.types lists {len(instances.types)} types")
    if not reasons:
        return []
    return [
        (
            ("capacity", "warm_pool"),
            f"AWS refuses a warm pool on a group with a mixed instances policy, and "
            f"{' and '.join(reasons)}; fix: keep the warm pool on an on-demand group of one "
            "instance type (remove instances.spot, keep one entry in instances.types) and put "
            "spot capacity in capacity.overflow, or remove capacity.warm_pool",
        )
    ]


def _overflow_without_warm_pool(capacity: CapacitySection) -> list[Problem]:
    if capacity.overflow is None or capacity.warm_pool is not None:
        return []
    return [
        (
            ("capacity", "overflow"),
            "an overflow group stands behind a warm pool, and capacity.warm_pool is not set; "
            "fix: add capacity.warm_pool (e.g. {min_size: 2}), or remove capacity.overflow and "
            "use instances.spot with on_demand_base_capacity for one mixed group",
        )
    ]
