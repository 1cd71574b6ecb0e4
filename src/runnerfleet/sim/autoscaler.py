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
from runnerfleet.scaling.types import LifecycleState

RunningJobs = Callable[[str], int]  # instance id -> jobs its runner runs right now


class SimGroup:
    """``scaling.evaluation.GroupObserver`` over the Auto Scaling model, at ``self.now``."""

    def __init__(self, fleet: Fleet, name: str) -> None:
        self.fleet = fleet
        self.name = name
        self.now = 0.0
        self.group_tags: dict[str, str] = {}
        self.instance_tags: dict[str, dict[str, str]] = {}
        self._members: dict[str, tuple[tuple[LifecycleState, bool, str | None], Member]] = {}
        self._tags_version = 0  # bumped by every tag change
        self._last: tuple[object, GroupState] | None = None  # the last observation, and its key

    def forget(self, instance_id: str) -> None:
        """A terminated instance's tags go with it."""
        self.instance_tags.pop(instance_id, None)
        self._members.pop(instance_id, None)
        self._tags_version += 1

    def observe(self, group_name: str) -> GroupState:
        """The group as described now; the same object again while nothing it says changed
        (it is immutable, and this runs every simulated minute)."""
        fleet = self.fleet
        seen = fleet.members()
        key = (group_name, seen, self._tags_version, fleet.desired, fleet.min_size, fleet.max_size)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        members = tuple(self._member(*m) for m in seen)
        state = GroupState(
            name=group_name,
            desired=fleet.desired,
            min_size=fleet.min_size,
            max_size=fleet.max_size,
            members=members,
            refresh_in_progress=False,
            last_scale_in_at=_number(self.group_tags.get(TAG_LAST_IN)),
            last_scale_out_at=_number(self.group_tags.get(TAG_LAST_OUT)),
        )
        self._last = (key, state)
        return state

    def _member(
        self, instance_id: str, state: LifecycleState, protected: bool, launched_at: float
    ) -> Member:
        """The instance's Member, built again only when what it says changed (this runs
        for every instance every simulated minute)."""
        tag = self.instance_tags.get(instance_id, {}).get(TAG_IDLE_SINCE)
        cached = self._members.get(instance_id)
        if cached is not None and cached[0] == (state, protected, tag):
            return cached[1]
        member = Member(
            instance_id=instance_id,
            state=state,
            protected=protected,
            launched_at=launched_at,
            host=instance_id,
            idle_since=_number(tag),
        )
        self._members[instance_id] = ((state, protected, tag), member)
        return member

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
        self._tags_version += 1

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        self._tags_version += 1
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
        self._readings: dict[int, RunnerReading] = {}

    def observe(self, group: GroupState) -> RunnerObservation:
        reading = self._reading
        readings: Mapping[str, RunnerReading] = {
            m.instance_id: reading(m.instance_id) for m in group.members if scrapeable(m)
        }
        return RunnerObservation(readings, self._queued())

    def _reading(self, instance_id: str) -> RunnerReading:
        if self._failure_rate and self._rng.random() < self._failure_rate:
            return RunnerReading(None)
        running = self._running(instance_id)
        reading = self._readings.get(running)
        if reading is None:  # readings are values: one per running count will do
            reading = self._readings[running] = RunnerReading(running, self._slots)
        return reading


def _number(value: str | None) -> float | None:
    return float(value) if value else None
