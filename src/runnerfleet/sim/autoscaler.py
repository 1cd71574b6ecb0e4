"""The simulator's ports for the autoscaler's one evaluation path (``scaling.evaluation``).

``SimGroup`` answers what DescribeAutoScalingGroups, DescribeWarmPool and DescribeInstances
would say about the simulated group and carries out the decision's calls on the Auto Scaling
model, keeping tags the way AWS keeps them (group tags, instance tags that vanish with the
instance). ``SimRunners`` answers what a scrape of every InService runner and GitLab's queue
would say at that instant. Everything else (idle clocks, cooldown stamps, the order of the
calls) is the Lambda's own code.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from runnerfleet.asgmodel import Fleet, FleetModelError
from runnerfleet.scaling.apply import TAG_IDLE_SINCE, TAG_LAST_IN, TAG_LAST_OUT, CallFailed
from runnerfleet.scaling.evaluation import RunnerObservation
from runnerfleet.scaling.observe import GroupState, Member, RunnerReading, scrapeable

RunningJobs = Callable[[str], int]  # instance id -> jobs its runner runs right now


class SimGroup:
    """``scaling.evaluation.GroupObserver`` over the Auto Scaling model, at ``self.now``."""

    def __init__(self, fleet: Fleet, name: str) -> None:
        self.fleet = fleet
        self.name = name
        self.now = 0.0
        self.group_tags: dict[str, str] = {}
        self.instance_tags: dict[str, dict[str, str]] = {}

    def forget(self, instance_id: str) -> None:
        """A terminated instance's tags go with it."""
        self.instance_tags.pop(instance_id, None)

    def observe(self, group_name: str) -> GroupState:
        fleet, tags = self.fleet, self.instance_tags
        members = tuple(
            Member(
                instance_id=s.instance_id,
                state=s.state,
                protected=s.protected,
                launched_at=s.launched_at,
                host=s.instance_id,
                idle_since=_number(tags.get(s.instance_id, {}).get(TAG_IDLE_SINCE)),
            )
            for s in fleet.describe()
        )
        return GroupState(
            name=group_name,
            desired=fleet.desired,
            min_size=fleet.min_size,
            max_size=fleet.max_size,
            members=members,
            refresh_in_progress=False,
            last_scale_in_at=_number(self.group_tags.get(TAG_LAST_IN)),
            last_scale_out_at=_number(self.group_tags.get(TAG_LAST_OUT)),
        )

    def set_protection(self, group: str, instance_ids: Sequence[str], protected: bool) -> None:
        self._model(
            lambda: self.fleet.set_instance_protection(tuple(instance_ids), protected, self.now)
        )

    def terminate(self, instance_id: str) -> None:
        self._model(lambda: self.fleet.terminate_instance(instance_id, True, self.now))

    def set_desired(self, group: str, desired: int) -> None:
        self._model(lambda: self.fleet.set_desired(desired, False, self.now))

    def tag_group(self, group: str, key: str, value: str) -> None:
        self.group_tags[key] = value

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        for iid in instance_ids:
            if value is None:
                self.instance_tags.get(iid, {}).pop(key, None)
            else:
                self.instance_tags.setdefault(iid, {})[key] = value

    @staticmethod
    def _model(call: Callable[[], None]) -> None:
        try:
            call()
        except FleetModelError as exc:
            raise CallFailed(exc.message) from exc


class SimRunners:
    """``scaling.evaluation.RunnerObserver``: exact running counts, GitLab's queue length, and
    scrape failures at ``failure_rate`` (each InService runner, each evaluation)."""

    def __init__(
        self,
        running: RunningJobs,
        slots: int,
        queued: Callable[[], int],
        failure_rate: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._running, self._slots, self._queued = running, slots, queued
        self._failure_rate = failure_rate
        self._rng = rng or random.Random(0)  # noqa: S311 (a simulation, not crypto)

    def observe(self, group: GroupState) -> RunnerObservation:
        readings: Mapping[str, RunnerReading] = {
            m.instance_id: self._reading(m.instance_id) for m in group.members if scrapeable(m)
        }
        return RunnerObservation(readings, self._queued())

    def _reading(self, instance_id: str) -> RunnerReading:
        if self._failure_rate and self._rng.random() < self._failure_rate:
            return RunnerReading(None)
        return RunnerReading(self._running(instance_id), self._slots)


def _number(value: str | None) -> float | None:
    return float(value) if value else None
