"""A group from CreateAutoScalingGroup's parameters (the API's, or a stack's resource), and the
model configuration its settings amount to.

The model knows one launch and one terminate hook, OldestInstance or NewestInstance
termination, one warm pool; what it does not model is refused here with a message that says
so, not accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from runnerfleet.asgmodel import FleetConfig, FleetModelError, HookConfig, WarmPoolConfig
from runnerfleet.asgmodel.group import Fleet
from runnerfleet.sandbox.twin.groupstate import LAUNCHING, TERMINATING, Group, HookSpec, LaunchSpec

#: describe fields stored as given (the model does not act on them)
STORED = {
    "HealthCheckType": "EC2",
    "HealthCheckGracePeriod": 0,
    "TerminationPolicies": ["Default"],
    "CapacityRebalance": False,
    "NewInstancesProtectedFromScaleIn": False,
    "DefaultInstanceWarmup": None,
    "MaxInstanceLifetime": None,
    "DefaultCooldown": 300,
}
#: what UpdateAutoScalingGroup (or a stack update) may change besides sizes and templates
SETTINGS = (*STORED, "MixedInstancesPolicy")
TRANSITIONS = (LAUNCHING, TERMINATING)


def invalid(message: str) -> FleetModelError:
    return FleetModelError("ValidationError", message)


def check_sizes(min_size: int, max_size: int, desired: int) -> None:
    if min_size > max_size:
        raise invalid(
            f"Max bound, {max_size}, must be greater than or equal to min bound, {min_size}"
        )
    if not min_size <= desired <= max_size:
        raise invalid(
            f"Desired capacity:{desired} must be between the specified min size:{min_size} "
            f"and max size:{max_size}"
        )


def hook_spec(group: str, raw: Mapping[str, Any]) -> HookSpec:
    """A LifecycleHookSpecification / PutLifecycleHook's parameters, checked like AWS."""
    transition = str(raw.get("LifecycleTransition", ""))
    if transition not in TRANSITIONS:
        raise invalid(
            f"Invalid Lifecycle Transition: {transition or '(none)'}; use "
            f"{LAUNCHING} or {TERMINATING}"
        )
    timeout = int(raw.get("HeartbeatTimeout", 3600))
    if not 30 <= timeout <= 7200:
        raise invalid(f"Heartbeat timeout {timeout} must be between 30 and 7200 seconds")
    result = str(raw.get("DefaultResult", "ABANDON"))
    if result not in ("CONTINUE", "ABANDON"):
        raise invalid(f"Invalid DefaultResult {result}; use CONTINUE or ABANDON")
    return HookSpec(
        name=str(raw["LifecycleHookName"]),
        transition=transition,
        heartbeat_timeout=timeout,
        default_result=result,
        metadata=raw.get("NotificationMetadata"),
        role_arn=raw.get("RoleARN"),
        target_arn=raw.get("NotificationTargetARN"),
    )


def one_per_transition(hooks: Mapping[str, HookSpec], new: HookSpec) -> None:
    for hook in hooks.values():
        if hook.transition == new.transition and hook.name != new.name:
            raise invalid(
                f"The sandbox twin models one lifecycle hook per transition: {hook.name} "
                f"already handles {new.transition}; delete it first (DeleteLifecycleHook)"
            )


def hook_configs(hooks: Mapping[str, HookSpec]) -> dict[str, HookConfig | None]:
    by_transition = {h.transition: h for h in hooks.values()}
    return {
        "launch_hook": _config(by_transition.get(LAUNCHING)),
        "terminate_hook": _config(by_transition.get(TERMINATING)),
    }


def _config(hook: HookSpec | None) -> HookConfig | None:
    return None if hook is None else HookConfig(float(hook.heartbeat_timeout), hook.default_result)


def warm_config(pool: Mapping[str, Any] | None) -> WarmPoolConfig | None:
    if pool is None:
        return None
    cap = pool.get("MaxGroupPreparedCapacity")
    reuse = (pool.get("InstanceReusePolicy") or {}).get("ReuseOnScaleIn", False)
    state = str(pool.get("PoolState", "Stopped"))
    return WarmPoolConfig(
        min_size=int(pool.get("MinSize", 0)),
        max_group_prepared_capacity=None if cap in (None, -1) else int(cap),
        pool_state="Running" if state == "Running" else "Stopped",
        reuse_on_scale_in=bool(reuse),
    )


def termination_policy(policies: list[str]) -> str:
    """The model's OldestInstance / NewestInstance; the other policies order like the oldest
    first (documented: the twin does not model OldestLaunchTemplate or AllocationStrategy)."""
    return "NewestInstance" if policies and policies[0] == "NewestInstance" else "OldestInstance"


def uses_spot(mixed: Mapping[str, Any] | None) -> bool:
    if not mixed:
        return False
    dist = mixed.get("InstancesDistribution") or {}
    return int(dist.get("OnDemandPercentageAboveBaseCapacity", 100)) < 100


def model_config(
    settings: Mapping[str, Any],
    hooks: Mapping[str, HookSpec],
    warm_pool: Mapping[str, Any] | None,
    sizes: tuple[int, int, int],
) -> FleetConfig:
    """The model's configuration for a group's settings; ``sizes`` is (min, max, desired)."""
    min_size, max_size, desired = sizes
    return FleetConfig(
        min_size=min_size,
        max_size=max_size,
        desired=desired,
        default_cooldown_s=float(settings.get("DefaultCooldown") or 300),
        pending_s=settings["_pending_s"],
        terminating_s=settings["_terminating_s"],
        new_instances_protected=bool(settings.get("NewInstancesProtectedFromScaleIn")),
        warm_pool=warm_config(warm_pool),
        spot=uses_spot(settings.get("MixedInstancesPolicy")),
        capacity_rebalance=bool(settings.get("CapacityRebalance")),
        termination_policy=termination_policy(list(settings.get("TerminationPolicies") or [])),
        **hook_configs(hooks),
    )


def current_config(group: Group, **sizes: int) -> FleetConfig:
    """The group's model configuration after a settings change, at its current sizes."""
    fleet = group.fleet
    size = (
        sizes.get("min_size", fleet.min_size),
        sizes.get("max_size", fleet.max_size),
        sizes.get("desired", fleet.desired),
    )
    return model_config(group.settings, group.hooks, group.warm_pool, size)


def template_spec(params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The LaunchTemplateSpecification of a group: its own, or its mixed policy's."""
    if params.get("LaunchTemplate"):
        return dict(params["LaunchTemplate"])
    mixed = params.get("MixedInstancesPolicy") or {}
    spec = (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")
    if not spec:
        raise invalid(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, "
            "InstanceId or MixedInstancesPolicy parameter."
        )
    return dict(spec)


def build_group(
    params: Mapping[str, Any],
    *,
    arn: str,
    now: float,
    launch: Callable[[Mapping[str, Any]], LaunchSpec],
    subnets: Callable[[list[str]], dict[str, str]],
    timing: tuple[float, float],
    new_id: Callable[[], str],
) -> Group:
    """A new group, its instances not launched yet (the first ``pump`` launches them)."""
    name = str(params["AutoScalingGroupName"])
    min_size, max_size = int(params["MinSize"]), int(params["MaxSize"])
    desired = int(params.get("DesiredCapacity", min_size))
    check_sizes(min_size, max_size, desired)
    hooks: dict[str, HookSpec] = {}
    for raw in params.get("LifecycleHookSpecificationList") or []:
        spec = hook_spec(name, raw)
        one_per_transition(hooks, spec)
        hooks[spec.name] = spec
    settings = {key: params.get(key, default) for key, default in STORED.items()}
    settings.update(
        MixedInstancesPolicy=params.get("MixedInstancesPolicy"),
        _pending_s=timing[0],
        _terminating_s=timing[1],
    )
    subnet_ids = [s for s in str(params.get("VPCZoneIdentifier") or "").split(",") if s]
    config = model_config(settings, hooks, None, (min_size, max_size, desired))
    return Group(
        name=name,
        arn=arn,
        fleet=Fleet(config, now, in_service=0, new_id=new_id),  # launches the first instances
        launch=launch(template_spec(params)),
        subnets=subnets(subnet_ids),
        settings=settings,
        created=now,
        hooks=hooks,
        tags={
            str(t["Key"]): (str(t.get("Value", "")), bool(t.get("PropagateAtLaunch", False)))
            for t in params.get("Tags") or []
        },
    )
