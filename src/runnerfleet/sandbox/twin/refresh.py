"""Instance refresh: StartInstanceRefresh / DescribeInstanceRefreshes / CancelInstanceRefresh.

Modelled from [BC-AS RefreshPreferences] and [UG:asg-instance-refresh]: one active refresh per
group; instances are terminated first, then replaced (MaxHealthyPercentage 100), at most
``100 - MinHealthyPercentage`` % of the desired capacity at a time (at least one); a batch is done
when its replacements are InService and past ``InstanceWarmup``; ``SkipMatching`` leaves
instances already on the desired configuration; ``ScaleInProtectedInstances`` Refresh / Ignore /
Wait (Wait fails the refresh after an hour); checkpoints pause for ``CheckpointDelay`` and emit
"Checkpoint Reached" (never for 100 %). Cancel stops it; replaced instances stay.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.asgmodel import FleetModelError
from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups, Updater
from runnerfleet.sandbox.twin.groupbuild import invalid
from runnerfleet.sandbox.twin.groupstate import Group, LaunchSpec
from runnerfleet.sandbox.twin.replace import Batch, in_group, matches, ready

Params = dict[str, Any]
WAIT_LIMIT_S = 3600.0  # "waits one hour and then fails the refresh"
ACTIVE = ("Pending", "InProgress", "Cancelling")


@dataclass
class Refresh(Updater):
    refresh_id: str
    group_name: str
    target: LaunchSpec
    prefs: Params
    started: float
    desired_configuration: Params | None = None
    status: str = "Pending"
    reason: str = ""
    ended: float | None = None
    to_update: int = 0
    total: int = 0
    done: list[str] = field(default_factory=list)
    batch: Batch | None = None
    paused_until: float = 0.0
    waiting_since: float | None = None
    checkpoints_hit: set[int] = field(default_factory=set)
    initial: frozenset[str] = frozenset()  # the instances present at the start

    # ----- progress -------------------------------------------------------------------------

    def step(self, groups: AutoScalingGroups, now: float) -> bool:
        group = groups.groups.get(self.group_name)
        if group is None or self.status not in ACTIVE:
            return False
        if self.status == "Cancelling":
            return self._end(group, now, "Cancelled", "the refresh was cancelled")
        self.status = "InProgress"
        if now < self.paused_until or (self.batch and not self._batch_done(group, now)):
            return True
        self.batch = None
        if self._checkpoint(group, now):
            return True
        return self._next_batch(group, now)

    def _batch_done(self, group: Group, now: float) -> bool:
        assert self.batch is not None
        warm = float(self.prefs.get("InstanceWarmup", 0) or 0)
        if not self.batch.gone(group):
            return False
        return len(ready(group, self.target, now, warm)) >= self.batch.expected_ready

    def _next_batch(self, group: Group, now: float) -> bool:
        todo, blocked = self._todo(group)
        if not todo and not blocked:
            group.launch = self.target
            group.launch_override = None
            return self._end(group, now, "Successful", "")
        if not todo:
            return self._wait_for_protected(group, now)
        size = self._batch_size(group)
        victims = [s.instance_id for s in todo[:size]]
        expected = len(ready(group, self.target, now, 0)) + len(victims)
        group.cause = (
            "an instance was taken out of service in response to an instance refresh "
            f"{self.refresh_id}."
        )
        for iid in victims:
            group.fleet.terminate_instance(iid, False, now)
        self.done.extend(victims)
        self.batch = Batch(victims, now, min(expected, group.fleet.desired))
        return True

    def _todo(self, group: Group) -> tuple[list[Any], list[Any]]:
        """(instances to replace now, protected ones the refresh waits for), oldest first."""
        policy = self.prefs.get("ScaleInProtectedInstances", "Wait")
        old = [
            s
            for s in in_group(group)
            if s.instance_id in self.initial and s.instance_id not in self.done
        ]
        if self.prefs.get("SkipMatching"):
            old = [s for s in old if not matches(group.launched.get(s.instance_id), self.target)]
        if policy == "Refresh":
            return old, []
        movable = [s for s in old if not s.protected]
        protected = [s for s in old if s.protected]
        return movable, [] if policy == "Ignore" else protected

    def _batch_size(self, group: Group) -> int:
        healthy = int(self.prefs.get("MinHealthyPercentage", 90))
        return max(1, math.floor(group.fleet.desired * (100 - healthy) / 100))

    def _wait_for_protected(self, group: Group, now: float) -> bool:
        self.waiting_since = self.waiting_since or now
        self.reason = "Waiting for instances protected from scale in to be refreshed or unprotected"
        if now - self.waiting_since >= WAIT_LIMIT_S:
            return self._end(
                group, now, "Failed", "protected instances kept the refresh waiting for an hour"
            )
        return True

    def _checkpoint(self, group: Group, now: float) -> bool:
        percent = self.percentage(group, now)
        for point in self.prefs.get("CheckpointPercentages") or []:
            if point < 100 and percent >= point and point not in self.checkpoints_hit:
                self.checkpoints_hit.add(point)
                delay = float(self.prefs.get("CheckpointDelay", 3600))
                self.paused_until = now + delay
                self.reason = f"Waiting for checkpoint delay at {point}%"
                group.notify(
                    "EC2 Auto Scaling Instance Refresh Checkpoint Reached",
                    {
                        "InstanceRefreshId": self.refresh_id,
                        "AutoScalingGroupName": group.name,
                        "CheckpointPercentage": str(point),
                        "CheckpointDelay": str(int(delay)),
                    },
                )
                return True
        self.reason = ""
        return False

    def _end(self, group: Group, now: float, status: str, reason: str) -> bool:
        self.status, self.reason, self.ended = status, reason, now
        group.launch_override = None
        word = {"Successful": "Succeeded"}.get(status, status)
        group.notify(
            f"EC2 Auto Scaling Instance Refresh {word}",
            {"InstanceRefreshId": self.refresh_id, "AutoScalingGroupName": group.name},
        )
        return False

    def replaced(self, group: Group, now: float) -> int:
        warm = float(self.prefs.get("InstanceWarmup", 0) or 0)
        return len([i for i in ready(group, self.target, now, warm) if i not in self.initial])

    def percentage(self, group: Group, now: float) -> int:
        if self.total == 0:
            return 100
        return min(100, math.floor(100 * self.replaced(group, now) / self.total))

    # ----- the API view ---------------------------------------------------------------------

    def view(self, group: Group, now: float) -> Params:
        percent = 100 if self.status == "Successful" else self.percentage(group, now)
        view: Params = {
            "InstanceRefreshId": self.refresh_id,
            "AutoScalingGroupName": self.group_name,
            "Status": self.status,
            "StartTime": self.started,
            "PercentageComplete": percent,
            "InstancesToUpdate": 0
            if percent == 100
            else max(0, self.total - self.replaced(group, now)),
            "Preferences": self.prefs,
            "Strategy": "Rolling",
        }
        if self.reason:
            view["StatusReason"] = self.reason
        if self.ended is not None:
            view["EndTime"] = self.ended
        if self.desired_configuration:
            view["DesiredConfiguration"] = self.desired_configuration
        return view


# ----- actions ----------------------------------------------------------------------------

DEFAULT_PREFS: Params = {
    "MinHealthyPercentage": 90,
    "MaxHealthyPercentage": 100,
    "SkipMatching": False,
    "AutoRollback": False,
    "ScaleInProtectedInstances": "Wait",
    "StandbyInstances": "Wait",
}


def start_refresh(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    if any(r.status in ACTIVE for r in _history(asg, group.name)):
        raise FleetModelError(
            "InstanceRefreshInProgressFault",
            "An Instance Refresh is already in progress and blocks the execution of this "
            "Instance Refresh.",
        )
    prefs = {**DEFAULT_PREFS, **(p.get("Preferences") or {})}
    _check(p, prefs)
    desired = p.get("DesiredConfiguration")
    target = group.launch
    if desired and desired.get("LaunchTemplate") and asg.launcher is not None:
        target = asg.launcher.resolve_spec(
            desired["LaunchTemplate"], group.settings.get("MixedInstancesPolicy")
        )
        group.launch_override = target
    refresh = Refresh(str(uuid.uuid4()), group.name, target, prefs, now, desired)
    live = [s.instance_id for s in group.fleet.describe() if not s.state.value.startswith("Warmed")]
    refresh.initial = frozenset(live)
    skip = bool(prefs.get("SkipMatching"))
    refresh.total = len([i for i in live if not (skip and matches(group.launched.get(i), target))])
    asg.start(refresh)
    group.notify(
        "EC2 Auto Scaling Instance Refresh Started",
        {"InstanceRefreshId": refresh.refresh_id, "AutoScalingGroupName": group.name},
    )
    return {"InstanceRefreshId": refresh.refresh_id}


def _check(p: Params, prefs: Params) -> None:
    if p.get("Strategy", "Rolling") != "Rolling":
        raise invalid("The sandbox twin models the Rolling instance refresh strategy only")
    if prefs.get("AutoRollback") and not p.get("DesiredConfiguration"):
        raise invalid(
            "The AutoRollback parameter cannot be set to true when the DesiredConfiguration "
            "parameter is empty."
        )
    low, high = int(prefs["MinHealthyPercentage"]), int(prefs["MaxHealthyPercentage"])
    if not 0 <= low <= 100 or not 100 <= high <= 200 or high - low > 100:
        raise invalid(
            f"MinHealthyPercentage {low} and MaxHealthyPercentage {high} are out of range"
        )
    if high > 100:
        raise invalid(
            "The sandbox twin models MaxHealthyPercentage 100 only (terminate, then launch)"
        )
    points = list(prefs.get("CheckpointPercentages") or [])
    if points != sorted(set(points)) or any(not 1 <= x <= 100 for x in points):
        raise invalid("CheckpointPercentages must be unique, ascending values between 1 and 100")


def describe_refreshes(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    wanted = set(p.get("InstanceRefreshIds") or [])
    rows = [
        r.view(group, now)
        for r in reversed(_history(asg, group.name))
        if not wanted or r.refresh_id in wanted
    ]
    return {"InstanceRefreshes": rows}


def _history(asg: AutoScalingGroups, name: str) -> list[Refresh]:
    return [u for u in asg.history if isinstance(u, Refresh) and u.group_name == name]


def cancel_refresh(asg: AutoScalingGroups, p: Params, now: float) -> Params:
    group = asg.group(p["AutoScalingGroupName"])
    active = [r for r in _history(asg, group.name) if r.status in ("Pending", "InProgress")]
    if not active:
        raise FleetModelError(
            "ActiveInstanceRefreshNotFoundFault",
            f"No in progress or pending Instance Refresh found for Auto Scaling group {group.name}",
        )
    active[-1].status = "Cancelling"
    return {"InstanceRefreshId": active[-1].refresh_id}
