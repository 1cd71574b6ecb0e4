"""CloudFormation's AutoScalingRollingUpdate, and a CreationPolicy's wait for signals.

From [CFN aws-attribute-updatepolicy]: instances that do not match the new launch configuration
are replaced ``MaxBatchSize`` at a time (default 1) while at least ``MinInstancesInService``
(default 0) stay in service: when taking a batch out would go below it, the batch's replacements
are launched first (desired, and MaxSize if needed, raised for the batch, as CloudFormation
does), otherwise the batch is terminated first and replaced. Instances leave through the
terminate hook (the drain). With ``WaitOnResourceSignals`` a batch is done once
``MinSuccessfulInstancesPercent`` (default 100) of its replacements sent SUCCESS (cfn-signal)
within ``PauseTime`` (default PT5M with signals); otherwise after ``PauseTime`` (default PT0S)
once they are InService. A failed batch rolls the group back to the previous launch template
the same way (UPDATE_ROLLBACK_IN_PROGRESS, then UPDATE_ROLLBACK_COMPLETE).
Without an instance runtime that signals, InService stands for SUCCESS (documented).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups, Updater
from runnerfleet.sandbox.twin.groupstate import Group, LaunchSpec
from runnerfleet.sandbox.twin.replace import Batch, outdated, ready

if TYPE_CHECKING:
    from runnerfleet.sandbox.twin.cfnsync import StackSync
    from runnerfleet.sandbox.twin.motoglue import StackGroup

_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def duration_s(text: str | None, default: float) -> float:
    """An ISO 8601 duration of CloudFormation (PT1H, PT5M30S) in seconds."""
    match = _DURATION.match(str(text or ""))
    if not text or match is None:
        return default
    hours, minutes, seconds = (int(x or 0) for x in match.groups())
    return float(3600 * hours + 60 * minutes + seconds)


@dataclass
class RollingUpdate(Updater):
    group_name: str
    stack: str
    logical_id: str
    target: LaunchSpec
    previous: LaunchSpec
    policy: dict[str, Any]
    started: float
    sync: StackSync
    rolling_back: bool = False
    batch: Batch | None = None
    saved_max: int | None = None

    @property
    def signals_required(self) -> bool:
        return bool(self.policy.get("WaitOnResourceSignals")) and self.sync.await_signals

    @property
    def pause_s(self) -> float:
        default = 300.0 if self.policy.get("WaitOnResourceSignals") else 0.0
        return duration_s(self.policy.get("PauseTime"), default)

    def step(self, groups: AutoScalingGroups, now: float) -> bool:
        group = groups.groups.get(self.group_name)
        if group is None or group.deleting:
            return False
        if self.batch is not None:
            state = self._batch_state(group, now)
            if state == "wait":
                return True
            if state == "failed":
                return self._fail(groups, group, now)
            self.batch = None
        todo = outdated(group, self.target)
        if not todo:
            return self._finish(group, now)
        self._start_batch(group, [s.instance_id for s in todo], now)
        return True

    def _start_batch(self, group: Group, todo: list[str], now: float) -> None:
        fleet = group.fleet
        victims = todo[: max(1, int(self.policy.get("MaxBatchSize", 1)))]
        keep = int(self.policy.get("MinInstancesInService", 0))
        batch = Batch(victims, now, len(victims))
        batch.signals_from = set(ready(group, self.target, now, 0))  # ready before the batch
        group.cause = "a user request started a CloudFormation rolling update of the group."
        if fleet.desired - len(victims) >= keep:
            for iid in victims:
                fleet.terminate_instance(iid, False, now)
            batch.terminated = True
        else:
            self._grow(group, len(victims), now)
            batch.launched_first = True
        self.batch = batch

    def _grow(self, group: Group, extra: int, now: float) -> None:
        fleet = group.fleet
        if fleet.desired + extra > fleet.max_size:
            self.saved_max = self.saved_max if self.saved_max is not None else fleet.max_size
            fleet.update_limits(now, max_size=fleet.desired + extra)
        fleet.set_desired(fleet.desired + extra, False, now)

    def _batch_state(self, group: Group, now: float) -> str:
        batch = self.batch
        assert batch is not None
        fresh = [i for i in ready(group, self.target, now, 0) if i not in batch.signals_from]
        good, failed = self._signalled(fresh)
        if failed:
            return "failed"
        enough = len(good) >= math.ceil(
            batch.expected_ready * int(self.policy.get("MinSuccessfulInstancesPercent", 100)) / 100
        )
        late = now - batch.started > self.pause_s
        if not enough:
            return "failed" if late and self.signals_required else "wait"
        if not batch.terminated:
            group.cause = "a user request completed a rolling update batch of the group."
            for iid in batch.victims:
                group.fleet.terminate_instance(iid, True, now)
            batch.terminated = True
            return "wait"
        if not batch.gone(group):
            return "wait"
        # PauseTime is a pause only when the template waits on no signals
        waits_on_signals = bool(self.policy.get("WaitOnResourceSignals"))
        return "done" if waits_on_signals or late or self.pause_s == 0 else "wait"

    def _signalled(self, instance_ids: list[str]) -> tuple[list[str], list[str]]:
        if not self.signals_required:
            return instance_ids, []
        got = self.sync.signals.get((self.stack, self.logical_id), {})
        good = [i for i in instance_ids if got.get(i) == "SUCCESS"]
        failed = [i for i in got if got[i] == "FAILURE"]
        return good, failed

    def _restore(self, group: Group, now: float) -> None:
        if self.saved_max is not None:
            fleet = group.fleet
            fleet.update_limits(now, max_size=max(self.saved_max, fleet.min_size))
            self.saved_max = None

    def _finish(self, group: Group, now: float) -> bool:
        self._restore(group, now)
        if self.rolling_back:
            self.sync.overrides[self.stack] = "UPDATE_ROLLBACK_COMPLETE"
        else:
            self.sync.overrides.pop(self.stack, None)
        return False

    def _fail(self, groups: AutoScalingGroups, group: Group, now: float) -> bool:
        self._restore(group, now)
        if self.rolling_back:
            self.sync.overrides[self.stack] = "UPDATE_ROLLBACK_FAILED"
            return False
        self.sync.overrides[self.stack] = "UPDATE_ROLLBACK_IN_PROGRESS"
        group.launch = self.previous
        back = RollingUpdate(
            self.group_name, self.stack, self.logical_id, self.previous, self.target,
            self.policy, now, self.sync, rolling_back=True,
        )  # fmt: skip
        groups.start(back)
        return False


@dataclass
class CreationWait(Updater):
    """A new group's CreationPolicy: the stack is created once ``count`` SUCCESS signals came.

    A FAILURE signal or the timeout rolls the creation back: ROLLBACK_IN_PROGRESS while the
    group's instances leave (through the terminate hook), then ROLLBACK_COMPLETE."""

    group_name: str
    stack: str
    logical_id: str
    count: int
    deadline: float
    sync: StackSync

    def step(self, groups: AutoScalingGroups, now: float) -> bool:
        group = groups.groups.get(self.group_name)
        if self.sync.overrides.get(self.stack) == "ROLLBACK_IN_PROGRESS":
            # the rollback deletes the group: complete once its instances are gone
            if group is not None and group.fleet.describe():
                return True
            self.sync.overrides[self.stack] = "ROLLBACK_COMPLETE"
            return False
        got = self.sync.signals.get((self.stack, self.logical_id), {})
        if sum(1 for v in got.values() if v == "SUCCESS") >= self.count:
            self.sync.overrides.pop(self.stack, None)
            return False
        if "FAILURE" in got.values() or now > self.deadline:
            self.sync.overrides[self.stack] = "ROLLBACK_IN_PROGRESS"
            if group is not None:
                group.cause = "a user request deleted the AutoScalingGroup (stack rollback)."
                group.fleet.update_limits(now, min_size=0, max_size=0)
                group.deleting = True
        return True


def creation_wait(
    sync: StackSync, stack: str, sg: StackGroup, signal: dict[str, Any], now: float
) -> CreationWait:
    timeout = duration_s(signal.get("Timeout"), 300.0)
    return CreationWait(
        sg.name, stack, sg.logical_id, int(signal.get("Count", 1)), now + timeout, sync
    )
