"""The warm group first, the spot overflow for the rest: one evaluation over two groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnerfleet.scaling import IdlePolicy, LifecycleState, QueuePolicy
from runnerfleet.scaling.apply import TAG_LAST_OUT, CallFailed
from runnerfleet.scaling.evaluation import RunnerObservation, evaluate_group
from runnerfleet.scaling.observe import GroupState, Member, RunnerReading
from runnerfleet.scaling.overflow import Sizes, WarmFirst, split_desired

NOW = 1_800_000_000.0
WARM, SPOT = "fleet-asg", "fleet-overflow"


@dataclass
class FakeGroup:
    desired: int
    max_size: int
    members: list[str] = field(default_factory=list)
    protected: set[str] = field(default_factory=set)
    tags: dict[str, str] = field(default_factory=dict)


class TwoGroups:
    """What the Auto Scaling adapter does, for two groups held in memory."""

    def __init__(self, warm: FakeGroup, spot: FakeGroup, fail_on: str | None = None) -> None:
        self.groups = {WARM: warm, SPOT: spot}
        self.calls: list[str] = []
        self.fail_on = fail_on

    def observe(self, group_name: str) -> GroupState:
        g = self.groups[group_name]
        members = tuple(
            Member(iid, LifecycleState.IN_SERVICE, iid in g.protected, NOW - 3600, iid, None)
            for iid in g.members
        )
        return GroupState(group_name, g.desired, 0, g.max_size, members, False, None, None)

    def set_protection(self, group: str, instance_ids: Sequence[str], protected: bool) -> None:
        self.calls.append(f"protect {group} {sorted(instance_ids)} {protected}")
        assert set(instance_ids) <= set(self.groups[group].members)

    def terminate(self, instance_id: str) -> None:
        self.calls.append(f"terminate {instance_id}")
        for g in self.groups.values():
            if instance_id in g.members:
                g.members.remove(instance_id)
                g.desired -= 1

    def set_desired(self, group: str, desired: int) -> None:
        if group == self.fail_on:
            raise CallFailed("ScalingActivityInProgress: try again")
        self.calls.append(f"desired {group} {desired}")
        self.groups[group].desired = desired

    def tag_group(self, group: str, key: str, value: str) -> None:
        self.groups[group].tags[key] = value

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        pass


class Runners:
    def __init__(self, running: dict[str, int], pending: int) -> None:
        self.running, self.pending = running, pending

    def observe(self, group: GroupState) -> RunnerObservation:
        running = self.running
        readings = {
            m.instance_id: RunnerReading(running.get(m.instance_id, 0), 2) for m in group.members
        }
        return RunnerObservation(readings, self.pending)


def test_a_burst_fills_the_warm_group_first_and_the_spot_group_takes_the_rest() -> None:
    port = TwoGroups(FakeGroup(0, 4), FakeGroup(0, 16))
    policy = QueuePolicy(idle_count=0, cooldown_s=0, concurrent=2)
    fleet = WarmFirst(port, WARM, SPOT)
    cycle = evaluate_group(fleet, Runners({}, pending=20), WARM, policy, NOW)
    assert cycle.decision.action == "scale_out" and cycle.decision.desired == 10
    assert port.calls == [f"desired {WARM} 4", f"desired {SPOT} 6"]
    assert TAG_LAST_OUT in port.groups[WARM].tags and not port.groups[SPOT].tags


def test_scale_in_names_idle_instances_in_their_own_group_and_shrinks_spot_first() -> None:
    warm = FakeGroup(2, 4, ["i-w1", "i-w2"])
    spot = FakeGroup(3, 16, ["i-s1", "i-s2", "i-s3"])
    port = TwoGroups(warm, spot)
    policy = IdlePolicy(idle_count=0, idle_time_s=0, cooldown_s=0)
    busy = {"i-w1": 2, "i-w2": 1, "i-s1": 1}
    cycle = evaluate_group(WarmFirst(port, WARM, SPOT), Runners(busy, 0), WARM, policy, NOW)
    assert sorted(cycle.decision.terminate) == ["i-s2", "i-s3"]
    assert (warm.desired, spot.desired) == (2, 1)
    assert f"protect {WARM} ['i-w1', 'i-w2'] True" in port.calls
    assert f"protect {SPOT} ['i-s1'] True" in port.calls
    assert not any(c.startswith("desired") for c in port.calls)


def test_one_group_failing_to_resize_is_reported_and_the_other_still_resizes() -> None:
    port = TwoGroups(FakeGroup(0, 1), FakeGroup(0, 8), fail_on=SPOT)
    policy = QueuePolicy(idle_count=0, cooldown_s=0, concurrent=2)
    cycle = evaluate_group(WarmFirst(port, WARM, SPOT), Runners({}, 6), WARM, policy, NOW)
    assert port.groups[WARM].desired == 1
    assert cycle.report is not None
    (error,) = cycle.report.errors
    assert f"{SPOT}: ScalingActivityInProgress" in error


@pytest.mark.parametrize(
    ("total", "warm", "spot", "expected"),
    [
        (7, Sizes(1, 0, 4), Sizes(0, 0, 16), (4, 3)),  # out: warm up to its max, then spot
        (2, Sizes(1, 0, 4), Sizes(0, 0, 16), (2, 0)),
        (3, Sizes(4, 0, 4), Sizes(3, 0, 16), (3, 0)),  # in: spot first, then warm
        (0, Sizes(4, 1, 4), Sizes(3, 0, 16), (1, 0)),  # never below a group's minimum
        (30, Sizes(4, 0, 4), Sizes(3, 0, 16), (4, 16)),  # never above its maximum
    ],
)
def test_split_desired(total: int, warm: Sizes, spot: Sizes, expected: tuple[int, int]) -> None:
    assert split_desired(total, warm, spot) == expected


sizes = st.builds(
    lambda lo, d, hi: Sizes(lo + d, lo, lo + d + hi),  # min <= desired <= max
    st.integers(0, 5),
    st.integers(0, 10),
    st.integers(0, 10),
)


@given(total=st.integers(0, 60), warm=sizes, spot=sizes)
def test_the_split_keeps_each_group_in_bounds_and_moves_one_way(
    total: int, warm: Sizes, spot: Sizes
) -> None:
    w, s = split_desired(total, warm, spot)
    assert warm.min_size <= w <= warm.max_size and spot.min_size <= s <= spot.max_size
    if total >= warm.desired + spot.desired:
        assert w >= warm.desired and s >= spot.desired
        assert s == spot.desired or w == warm.max_size  # spot grows only once warm is full
    else:
        assert w <= warm.desired and s <= spot.desired
        assert w == warm.desired or s == spot.min_size  # warm shrinks only once spot is down
    bounded = min(max(total, warm.min_size + spot.min_size), warm.max_size + spot.max_size)
    assert w + s == bounded
