"""The idle policy, hand-worked: a target of idle job slots, idle time, scale factor."""

from __future__ import annotations

from runnerfleet.scaling import (
    HeadroomPolicy,
    IdlePolicy,
    LifecycleState,
    ReasonCode,
    decide,
    idle_target,
)
from tests.scaling.helpers import inst, snap

IDLE = IdlePolicy(idle_count=4, idle_time_s=600, cooldown_s=300, concurrent=4)


def test_idle_target_with_scale_factor_and_limit() -> None:
    policy = IdlePolicy(idle_count=2, scale_factor=0.5, scale_factor_limit=10)
    assert idle_target(policy, 0) == 2  # idle_count is the floor
    assert idle_target(policy, 9) == 5  # ceil(4.5)
    assert idle_target(policy, 100) == 10  # capped by the limit
    assert idle_target(IdlePolicy(scale_factor=0.3), 10) == 3  # no float surprise (3.0000001)


def test_scale_out_to_keep_idle_slots() -> None:
    # 2 instances x 4 slots, 7 jobs running: 1 idle slot, target 4 -> need 11 slots -> +1
    decision = decide(snap(inst(1, 4, slots=4), inst(2, 3, slots=4)), IDLE)
    assert decision.action == "scale_out" and decision.desired == 3
    assert decision.codes[0] == ReasonCode.SCALE_OUT_DEMAND


def test_booting_instances_count_as_capacity_on_the_way() -> None:
    booting = inst(3, None, slots=0, state=LifecycleState.PENDING, scraped_ago=None)
    decision = decide(snap(inst(1, 4, slots=4), inst(2, 3, slots=4), booting), IDLE)
    assert decision.action == "hold" and decision.desired == 3


def test_launches_not_started_count_as_capacity() -> None:
    # desired 3 but only two instances exist yet: the third is on its way
    decision = decide(snap(inst(1, 4, slots=4), inst(2, 3, slots=4), desired=3), IDLE)
    assert decision.action == "hold"


def test_scale_in_only_past_idle_time_and_keeps_idle_target() -> None:
    fleet = [
        inst(1, 2, slots=4),
        inst(2, 0, slots=4, idle_for=1000),
        inst(3, 0, slots=4, idle_for=700),
        inst(4, 0, slots=4, idle_for=100),  # idle, but not for 600 s yet
    ]
    decision = decide(snap(*fleet), IDLE)
    # need 2 + 4 = 6 slots of 16: removing 2 and 3 leaves 8 >= 6; 4 is too fresh
    assert decision.action == "scale_in"
    assert decision.terminate == ("i-0002", "i-0003")
    assert decision.desired == 2


def test_scale_to_zero_when_nothing_runs() -> None:
    policy = IdlePolicy(idle_count=0, idle_time_s=300)
    decision = decide(snap(inst(1, slots=4), inst(2, slots=4)), policy)
    assert decision.desired == 0 and set(decision.terminate) == {"i-0001", "i-0002"}


def test_min_size_floor_on_scale_in() -> None:
    policy = IdlePolicy(idle_count=0, idle_time_s=0)
    decision = decide(snap(inst(1), inst(2), inst(3), min_size=2), policy)
    assert decision.desired == 2 and len(decision.terminate) == 1


def test_missing_metrics_neither_removed_nor_cause_runaway() -> None:
    policy = IdlePolicy(idle_count=2, idle_time_s=0, concurrent=2)
    blind = [inst(n, None, scraped_ago=None) for n in range(1, 4)]
    decision = decide(snap(*blind), policy)
    assert decision.action == "hold" and decision.terminate == ()
    assert set(decision.protect) == {"i-0001", "i-0002", "i-0003"}


def test_stale_metrics_count_as_busy() -> None:
    policy = IdlePolicy(idle_count=0, idle_time_s=0, stale_after_s=120)
    decision = decide(snap(inst(1, 0, scraped_ago=500), inst(2, 0)), policy)
    assert decision.terminate == ("i-0002",)
    assert decision.protect == ("i-0001",)


def test_idle_instances_lose_protection_busy_ones_gain_it() -> None:
    policy = IdlePolicy(idle_count=2, idle_time_s=600, concurrent=2)
    decision = decide(snap(inst(1, 0, protected=True, idle_for=10), inst(2, 1)), policy)
    assert decision.unprotect == ("i-0001",) and decision.protect == ("i-0002",)


def test_refresh_in_progress_changes_nothing() -> None:
    decision = decide(snap(inst(1, 2), inst(2, 2), refresh=True), IDLE)
    assert decision.action == "hold" and decision.codes == (ReasonCode.HOLD_REFRESH,)
    assert decision.protect == () and decision.terminate == ()


def test_warm_instances_are_not_capacity_and_never_terminated() -> None:
    warm = [inst(n, None, state=LifecycleState.WARMED_STOPPED, scraped_ago=None) for n in (8, 9)]
    decision = decide(snap(inst(1, 4, slots=4), *warm, desired=1), IDLE)
    assert decision.action == "scale_out" and decision.desired == 2
    assert ReasonCode.WARM_POOL in decision.codes
    assert not set(decision.terminate) & {"i-0008", "i-0009"}


def test_min_instances_is_a_floor_for_scale_in_and_a_reason_to_scale_out() -> None:
    policy = IdlePolicy(idle_count=0, idle_time_s=0, min_instances=2)
    shrink = decide(snap(inst(1), inst(2), inst(3)), policy)
    assert shrink.desired == 2 and len(shrink.terminate) == 1
    grow = decide(snap(), policy)
    assert grow.action == "scale_out" and grow.desired == 2
    assert grow.codes[0] == ReasonCode.SCALE_OUT_MIN
    assert decide(snap(max_size=1), policy).desired == 1  # never above max_size


def test_unknown_instances_count_as_busy_for_scale_in() -> None:
    # 2 instances without metrics + 1 idle one, idle target 2 slots: the unknown ones may be
    # full, so removing the idle instance could leave no free slot at all; it stays
    policy = IdlePolicy(idle_count=2, idle_time_s=0, cooldown_s=0, concurrent=4)
    fleet = snap(inst(1, None, slots=4), inst(2, None, slots=4), inst(3, 0, slots=4))
    decision = decide(fleet, policy)
    assert decision.terminate == () and decision.desired == 3
    assert ReasonCode.METRICS_MISSING in decision.codes


def test_unknown_instances_count_as_busy_for_the_headroom_formula() -> None:
    policy = HeadroomPolicy(concurrent=4, headroom_jobs=2, cooldown_s=0)
    fleet = snap(inst(1, None, slots=4), inst(2, None, slots=4), inst(3, 0, slots=4))
    assert decide(fleet, policy).terminate == ()
