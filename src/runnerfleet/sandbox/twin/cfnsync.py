"""Stacks -> groups: after every CloudFormation call that changes a stack, the stack's Auto
Scaling groups are adopted, updated or removed in the twin's model, as CloudFormation would.

- a new group is created from its resource's resolved properties (hooks from
  ``LifecycleHookSpecificationList``, tags, sizes, launch template, an AWS::AutoScaling::WarmPool
  that moto skips); with a ``CreationPolicy`` and an instance runtime that signals, the stack
  stays CREATE_IN_PROGRESS until ``Count`` SUCCESS signals arrive (``Timeout``: rolled back);
- an updated group gets its new settings; sizes only when the template changed them
  (``IgnoreUnmodifiedGroupSizeProperties``); a new launch template version, subnet list or
  mixed policy replaces the instances as ``AutoScalingRollingUpdate`` says (``rolling``), with
  the stack UPDATE_IN_PROGRESS until done [CFN aws-attribute-updatepolicy];
- a group whose stack is deleted scales to zero through its terminate hooks, then goes; the stack
  reads DELETE_IN_PROGRESS until then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.sandbox.twin import motoglue
from runnerfleet.sandbox.twin.asgapi import create_group
from runnerfleet.sandbox.twin.asghooks import delete_hook, put_hook
from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups
from runnerfleet.sandbox.twin.groupbuild import SETTINGS, current_config, template_spec
from runnerfleet.sandbox.twin.groupstate import Group
from runnerfleet.sandbox.twin.replace import matches
from runnerfleet.sandbox.twin.rolling import RollingUpdate, creation_wait

SIZES = ("MinSize", "MaxSize", "DesiredCapacity")
REPLACING = ("LaunchTemplate", "MixedInstancesPolicy", "VPCZoneIdentifier")


@dataclass
class StackSync:
    """The stack side of the twin: status overrides, resource signals, what each group was."""

    account: str
    region: str
    expects_signals: Callable[[], bool] = lambda: False  # instances that run cfn-signal?
    overrides: dict[str, str] = field(default_factory=dict)  # stack name -> reported status
    signals: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)  # group -> last properties

    @property
    def await_signals(self) -> bool:
        return self.expects_signals()

    def __call__(self, groups: AutoScalingGroups, stack_name: str) -> None:
        names = set(motoglue.stack_names(self.account, self.region))
        names |= {g.stack for g in groups.groups.values() if g.stack}
        if stack_name:
            names.add(stack_name)
        for name in sorted(n for n in names if n):
            self.sync_one(groups, name)

    def sync_one(self, groups: AutoScalingGroups, stack_name: str) -> None:
        view = motoglue.stack_view(self.account, self.region, stack_name)
        ours = {
            g.name: g for g in groups.groups.values() if g.stack in (stack_name, view and view.name)
        }
        if view is None or view.status in motoglue.GONE_STACK_STATES:
            for group in ours.values():
                self.begin_delete(groups, group, stack_name)
            return
        if not any(getattr(u, "stack", None) == view.name for u in groups.updaters):
            self.overrides.pop(view.name, None)  # nothing of the last operation still runs
        wanted = {sg.name: sg for sg in view.groups}
        for name, sg in wanted.items():
            if name in groups.groups and not groups.groups[name].deleting:
                self._update(groups, groups.groups[name], sg, view.name)
            else:
                self._adopt(groups, sg, view.name)
        for name, group in ours.items():
            if name not in wanted:
                self.begin_delete(groups, group, view.name)

    # ----- adopt ----------------------------------------------------------------------------

    def _adopt(self, groups: AutoScalingGroups, sg: motoglue.StackGroup, stack: str) -> None:
        now = groups.clock()
        params = api_params(sg.name, sg.properties)
        groups.groups.pop(sg.name, None)  # a deleted namesake that has not finished going
        create_group(groups, params, now, stack=stack)
        group = groups.groups[sg.name]
        group.cause = "a user request created an AutoScalingGroup."
        if sg.warm_pool is not None:
            self._put_warm_pool(group, sg.warm_pool, now)
        self._metrics(group, sg.properties)
        self.previous[sg.name] = dict(sg.properties)
        signal = (sg.creation_policy.get("ResourceSignal") or {}) if self.await_signals else {}
        if signal and int(signal.get("Count", 0)) > 0:
            self.overrides[stack] = "CREATE_IN_PROGRESS"
            groups.start(creation_wait(self, stack, sg, signal, now))

    # ----- update ---------------------------------------------------------------------------

    def _update(
        self, groups: AutoScalingGroups, group: Group, sg: motoglue.StackGroup, stack: str
    ) -> None:
        now = groups.clock()
        old = self.previous.get(group.name, {})
        new = sg.properties
        self.previous[group.name] = dict(new)
        if old == new and _same_pool(group, sg.warm_pool):
            return
        group.cause = "a user request updated the AutoScalingGroup (CloudFormation stack update)."
        self._sizes(group, old, new, sg.update_policy, now)
        self._hooks(groups, group, old, new, now)
        group.tags = {
            str(t["Key"]): (str(t.get("Value", "")), bool(t.get("PropagateAtLaunch")))
            for t in new.get("Tags") or []
        }
        self._settings(group, new, now)
        if not _same_pool(group, sg.warm_pool):
            self._put_warm_pool(group, sg.warm_pool, now)
        self._metrics(group, new)
        if any(old.get(k) != new.get(k) for k in REPLACING):
            self._replace(groups, group, sg, stack, now)

    def _sizes(
        self,
        group: Group,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        policy: Mapping[str, Any],
        now: float,
    ) -> None:
        ignore = (policy.get("AutoScalingScheduledAction") or {}).get(
            "IgnoreUnmodifiedGroupSizeProperties", False
        )
        changed = {
            k: int(new[k]) for k in SIZES if k in new and (not ignore or old.get(k) != new[k])
        }
        fleet = group.fleet
        lo, hi = changed.get("MinSize", fleet.min_size), changed.get("MaxSize", fleet.max_size)
        fleet.update_limits(now, min_size=lo, max_size=hi)
        if "DesiredCapacity" in changed:
            fleet.set_desired(changed["DesiredCapacity"], False, now)

    def _hooks(
        self,
        groups: AutoScalingGroups,
        group: Group,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        now: float,
    ) -> None:
        wanted = {
            str(h["LifecycleHookName"]): h for h in new.get("LifecycleHookSpecificationList") or []
        }
        if old.get("LifecycleHookSpecificationList") == new.get("LifecycleHookSpecificationList"):
            return
        for name in list(group.hooks):
            if name not in wanted:
                delete_hook(
                    groups, {"AutoScalingGroupName": group.name, "LifecycleHookName": name}, now
                )
        for raw in wanted.values():
            put_hook(groups, {**raw, "AutoScalingGroupName": group.name}, now)

    def _settings(self, group: Group, new: Mapping[str, Any], now: float) -> None:
        params = api_params(group.name, new)
        for key in SETTINGS:
            group.settings[key] = params.get(key, group.settings.get(key))
        config = current_config(group)
        group.fleet.reconfigure(
            now,
            default_cooldown_s=config.default_cooldown_s,
            new_instances_protected=config.new_instances_protected,
            termination_policy=config.termination_policy,
        )

    def _put_warm_pool(self, group: Group, props: Mapping[str, Any] | None, now: float) -> None:
        group.warm_pool = (
            None
            if props is None
            else {k: v for k, v in props.items() if k != "AutoScalingGroupName"}
        )
        group.fleet.reconfigure(now, warm_pool=current_config(group).warm_pool)

    @staticmethod
    def _metrics(group: Group, props: Mapping[str, Any]) -> None:
        group.settings["_metrics"] = [
            {"Metric": m, "Granularity": c.get("Granularity", "1Minute")}
            for c in props.get("MetricsCollection") or []
            for m in c.get("Metrics") or []
        ]

    def _replace(
        self,
        groups: AutoScalingGroups,
        group: Group,
        sg: motoglue.StackGroup,
        stack: str,
        now: float,
    ) -> None:
        launcher = groups.launcher
        assert launcher is not None
        previous = group.launch
        group.launch = launcher.resolve_spec(
            template_spec(sg.properties), sg.properties.get("MixedInstancesPolicy")
        )
        if sg.properties.get("VPCZoneIdentifier"):
            group.subnets = launcher.subnet_zones(list(sg.properties["VPCZoneIdentifier"]))
        policy = sg.update_policy.get("AutoScalingRollingUpdate")
        if policy is None or (matches(previous, group.launch) and not group.fleet.describe()):
            return  # without a rolling update policy, only new instances use the new template
        self.overrides[stack] = "UPDATE_IN_PROGRESS"
        groups.updaters = [
            u
            for u in groups.updaters
            if not (isinstance(u, RollingUpdate) and u.group_name == group.name)
        ]
        groups.start(
            RollingUpdate(
                group.name, stack, sg.logical_id, group.launch, previous, dict(policy), now, self
            )
        )

    # ----- delete ---------------------------------------------------------------------------

    def begin_delete(self, groups: AutoScalingGroups, group: Group, stack: str) -> None:
        if group.deleting:
            return
        now = groups.clock()
        group.cause = "a user request deleted the AutoScalingGroup (CloudFormation stack delete)."
        group.fleet.update_limits(now, min_size=0, max_size=0)
        group.deleting = True
        self.previous.pop(group.name, None)
        if group.fleet.describe():
            self.overrides[stack] = "DELETE_IN_PROGRESS"

    def status_of(self, stack: str) -> str | None:
        """The status the twin reports for ``stack`` instead of moto's, if any."""
        return self.overrides.get(stack)

    def signal(self, stack: str, logical_id: str, unique_id: str, status: str) -> None:
        self.signals.setdefault((stack, logical_id), {})[unique_id] = status


def _same_pool(group: Group, props: Mapping[str, Any] | None) -> bool:
    mine = group.warm_pool
    theirs = (
        None if props is None else {k: v for k, v in props.items() if k != "AutoScalingGroupName"}
    )
    return mine == theirs


def api_params(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """CreateAutoScalingGroup's parameters for an AWS::AutoScaling::AutoScalingGroup."""
    params: dict[str, Any] = {"AutoScalingGroupName": name}
    for key in ("LaunchTemplate", "MixedInstancesPolicy", "LifecycleHookSpecificationList",
                "TerminationPolicies", "HealthCheckType", "NewInstancesProtectedFromScaleIn",
                "CapacityRebalance", "Tags"):  # fmt: skip
        if key in props:
            params[key] = props[key]
    for key in ("MinSize", "MaxSize", "DesiredCapacity", "HealthCheckGracePeriod",
                "DefaultInstanceWarmup", "MaxInstanceLifetime"):  # fmt: skip
        if props.get(key) is not None:
            params[key] = int(props[key])
    if props.get("Cooldown") is not None:
        params["DefaultCooldown"] = int(props["Cooldown"])
    if props.get("VPCZoneIdentifier"):
        params["VPCZoneIdentifier"] = ",".join(props["VPCZoneIdentifier"])
    params["Tags"] = [
        {**t, "PropagateAtLaunch": str(t.get("PropagateAtLaunch", "false")).lower() == "true"}
        for t in props.get("Tags") or []
    ]
    return params
