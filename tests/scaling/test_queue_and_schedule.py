"""Queue-aware policy and schedules, hand-worked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from runnerfleet.scaling import (
    FleetSnapshot,
    IdlePolicy,
    InstanceView,
    LifecycleState,
    Period,
    QueuePolicy,
    ReasonCode,
    Schedule,
    decide,
    policy_from_mapping,
)
from runnerfleet.scaling.schedule import active_policy
from tests.scaling.helpers import inst, snap

QUEUE = QueuePolicy(idle_count=0, idle_time_s=300, concurrent=4)


def test_queue_sees_a_burst_before_the_runners_saturate() -> None:
    # 2 instances x 4 slots, 2 jobs running (6 idle slots), 14 pending: need 16 slots -> +2
    fleet = snap(inst(1, 1, slots=4), inst(2, 1, slots=4), pending=14)
    decision = decide(fleet, QUEUE)
    assert decision.action == "scale_out" and decision.desired == 4
    assert decision.codes[0] == ReasonCode.SCALE_OUT_QUEUE
    # the idle policy with the same numbers does nothing: it cannot see the queue
    assert decide(fleet, IdlePolicy(idle_count=0, concurrent=4)).action == "hold"


def test_pending_weight_scales_the_queue() -> None:
    policy = QueuePolicy(idle_count=0, concurrent=4, pending_weight=0.5)
    decision = decide(snap(inst(1, 4, slots=4), pending=8), policy)
    assert decision.desired == 2  # ceil(8 * 0.5) = 4 slots = 1 more instance


def test_pending_jobs_block_scale_in() -> None:
    fleet = snap(inst(1, 0, slots=4), inst(2, 0, slots=4), pending=5)
    assert decide(fleet, QUEUE).terminate == ()
    assert decide(snap(inst(1, 0, slots=4), inst(2, 0, slots=4), pending=0), QUEUE).desired == 0


def test_unknown_queue_falls_back_to_idle_and_says_so() -> None:
    decision = decide(snap(inst(1, 1, slots=4), pending=None), QUEUE)
    assert decision.action == "hold" and ReasonCode.QUEUE_UNKNOWN in decision.codes


def _at(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


OFFICE = Schedule(
    base=IdlePolicy(idle_count=0, idle_time_s=0, concurrent=2),
    periods=(
        Period("* 8-17 * * 1-5", "Europe/Berlin", {"idle_count": 6}, name="office"),
        Period("* 12 * * 1-5", "Europe/Berlin", {"idle_count": 10}, name="lunch-rush"),
    ),
)


@pytest.mark.parametrize(
    ("when", "label", "idle"),
    [
        ("2026-11-23T09:30:00", "schedule:office", 6),  # Monday 10:30 Berlin (UTC+1)
        ("2026-11-23T11:15:00", "schedule:lunch-rush", 10),  # last match wins
        ("2026-11-23T17:00:00", "schedule:base", 0),  # 18:00 Berlin: closed
        ("2026-11-22T09:30:00", "schedule:base", 0),  # Sunday
        ("2026-07-06T06:30:00", "schedule:office", 6),  # summer time: 08:30 Berlin (UTC+2)
    ],
)
def test_schedule_picks_the_period_by_local_time(when: str, label: str, idle: int) -> None:
    policy, got = active_policy(OFFICE, _at(when))
    assert got == label
    assert isinstance(policy, IdlePolicy) and policy.idle_count == idle


def test_schedule_decides_with_the_active_period_and_scales_to_zero_at_night() -> None:
    day = FleetSnapshot(
        now=_at("2026-11-23T09:30:00"), instances=(), desired=0, min_size=0, max_size=10
    )
    decision = decide(day, OFFICE)
    assert decision.desired == 3 and decision.policy == "schedule:office"
    late = _at("2026-11-23T22:00:00")
    idle = tuple(
        InstanceView(f"i-{n}", LifecycleState.IN_SERVICE, late - 7200, 2, 0, late - 5, late - 900)
        for n in (1, 2)
    )
    night = FleetSnapshot(now=late, instances=idle, desired=2, min_size=0, max_size=10)
    assert decide(night, OFFICE).desired == 0


def test_policy_from_mapping_builds_every_kind_and_rejects_typos() -> None:
    assert policy_from_mapping("seed", {"concurrent": 2, "headroom_jobs": 2}).cooldown_s == 600
    idle = policy_from_mapping("idle", {"idle_count": 2, "idle_time_s": "10m"})
    assert isinstance(idle, IdlePolicy) and idle.idle_time_s == 600
    sched = policy_from_mapping(
        "schedule",
        {
            "base": {"policy": "queue", "idle_count": 1},
            "periods": [{"cron": "* * * * 0,6", "timezone": "UTC", "overrides": {"idle_count": 0}}],
        },
    )
    assert isinstance(sched, Schedule) and isinstance(sched.base, QueuePolicy)
    with pytest.raises(ValueError, match="idle_cuont"):
        policy_from_mapping("idle", {"idle_cuont": 2})
    with pytest.raises(ValueError, match="cron"):
        policy_from_mapping("schedule", {"periods": [{"cron": "every day"}]})
    with pytest.raises(ValueError, match="time zone"):
        policy_from_mapping("schedule", {"periods": [{"cron": "* * * * *", "timezone": "Mars/X"}]})
    with pytest.raises(ValueError, match="unknown scaling policy"):
        policy_from_mapping("magic", {})


@pytest.mark.parametrize(
    "cron",
    [
        "* 8-18 * * mon-fri",
        "*/15 0 1,15 * 0",
        "* * * * 7",
        "0 12 L * *",
        "30 6 * jan-mar sun",
        "* * 13 * 5",
        "0 9 * * 1#2",
    ],
)
def test_fast_cron_matching_agrees_with_croniter(cron: str) -> None:
    from croniter import croniter

    from runnerfleet.scaling.schedule import matches

    period = Period(cron, "America/New_York")
    tz = ZoneInfo("America/New_York")
    fire = croniter(cron, datetime(2026, 1, 1, tzinfo=tz))
    for _ in range(40):  # the next 40 firings, and the minute after each
        hit = fire.get_next(datetime)
        assert matches(period, hit.timestamp()), (cron, hit)
        after = hit + timedelta(minutes=1)
        assert matches(period, after.timestamp()) == croniter.match(cron, after), (cron, after)
