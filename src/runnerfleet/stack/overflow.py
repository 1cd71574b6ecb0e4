"""The spot overflow group behind a warm on-demand group (``capacity.overflow``).

AWS refuses a warm pool on a mixed instances (spot) group, so warm capacity and spot capacity
live in two groups of one environment: the runners' group (on-demand, one type, warm pool) and
this one (mixed instances, spot). One autoscaler fills the warm group first and grows this one
for the rest (``runnerfleet.scaling.overflow``). Both groups share the instance role, the
security group, the lifecycle hooks and the drain; each has its own launch template because
the bootstrap completes its own group's launch hook and signals its own resource.
"""

from __future__ import annotations

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack.cfn import OVERFLOW_NAME, Json
from runnerfleet.stack.launch import (
    MIXED_TERMINATION,
    group_properties,
    group_resource,
    launch_template,
    mixed_policy,
)
from runnerfleet.stack.userdata import OVERFLOW_LOGICAL_ID, overflow_user_data

OVERFLOW_TEMPLATE = "OverflowLaunchTemplate"


def uses_spot(spec: FleetSpec) -> bool:
    """Whether any of the fleet's instances can be spot (the spot notice machinery)."""
    return spec.instances.spot is not None or spec.capacity.overflow is not None


def overflow_resources(spec: FleetSpec, depends_on: list[str]) -> dict[str, Json]:
    overflow = spec.capacity.overflow
    if overflow is None:
        return {}
    props = group_properties(spec, OVERFLOW_NAME, (0, overflow.max, 0))
    props["MixedInstancesPolicy"] = mixed_policy(overflow.types, overflow.spot, OVERFLOW_TEMPLATE)
    props["TerminationPolicies"] = MIXED_TERMINATION
    props["CapacityRebalance"] = overflow.spot.capacity_rebalance
    # spot capacity is replaced in batches without a floor: MinInstancesInService 0
    group = group_resource(spec, props, depends_on, 0)
    template = launch_template(spec, overflow_user_data(spec), "overflow", overflow.types[0])
    return {OVERFLOW_TEMPLATE: template, OVERFLOW_LOGICAL_ID: group}
