"""The seed formula, hand-worked, plus the safety rules layered on top of it."""

from __future__ import annotations

import pytest

from runnerfleet.scaling import HeadroomPolicy, ReasonCode, decide
from tests.scaling.helpers import inst, snap

SEED = HeadroomPolicy(concurrent=2, headroom_jobs=2, cooldown_s=600)


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [(0, 1), (1, 2), (2, 2), (3, 3), (4, 3)],  # seed-implementation §5: the worked example
)
def test_seed_formula_matches_the_original(jobs: int, expected: int) -> None:
    # start from an empty group so the result is a pure scale-out to the formula's value
    instances = [inst(1, running=min(jobs, 2), slots=2), inst(2, running=max(0, jobs - 2))]
    decision = decide(snap(*instances, desired=2, min_size=1), SEED)
    if expected > 2:
        assert decision.action == "scale_out" and decision.desired == expected
    elif expected == 2:
        assert decision.action == "hold" and decision.desired == 2
    else:
        assert decision.action == "scale_in" and decision.desired == 1


def test_seed_scale_in_removes_the_idle_instance_not_the_oldest_busy_one() -> None:
    busy_old = inst(1, running=1, age=9000)
    idle_new = inst(2, running=0, age=100)
    idle_mid = inst(3, running=0, age=500)
    decision = decide(snap(busy_old, idle_new, idle_mid), SEED)
    # ceil((1 + 2) / 2) = 2 instances: exactly one idle instance goes, never the busy one
    assert decision.action == "scale_in"
    assert decision.desired == 2
    assert len(decision.terminate) == 1 and decision.terminate[0] != "i-0001"
    assert "i-0001" in decision.protect


def test_seed_failed_scrape_is_not_zero_jobs() -> None:
    blind = inst(1, running=None, scraped_ago=None)
    blind2 = inst(2, running=None, scraped_ago=None)
    decision = decide(snap(blind, blind2, inst(3)), SEED)
    # the blind ones may be full: counted busy, the formula keeps 3 and the idle one stays
    assert decision.terminate == ()
    assert set(decision.protect) == {"i-0001", "i-0002"}
    known = decide(snap(blind, inst(2), inst(3)), SEED)
    # ceil((2 unknown slots + 2 headroom) / 2) = 2: one known-idle instance may go
    assert known.terminate == ("i-0002",)
    assert ReasonCode.METRICS_MISSING in decision.codes


def test_seed_scales_to_zero_with_zero_headroom() -> None:
    policy = HeadroomPolicy(concurrent=2, headroom_jobs=0)
    decision = decide(snap(inst(1), inst(2)), policy)
    assert decision.desired == 0 and len(decision.terminate) == 2


def test_seed_scale_out_ignores_cooldown_and_scale_in_honours_it() -> None:
    busy = snap(inst(1, running=2), last_out=10)
    assert decide(busy, SEED).action == "scale_out"
    idle = snap(inst(1), inst(2), inst(3), last_out=10)
    decision = decide(idle, SEED)
    assert decision.action == "hold" and decision.codes[0] == ReasonCode.HOLD_COOLDOWN
    assert decide(snap(inst(1), inst(2), inst(3), last_out=601), SEED).action == "scale_in"


def test_seed_respects_max_size() -> None:
    # ceil((2 + 2) / 2) = 2, one above max_size
    held = decide(snap(inst(1, running=2), max_size=1), SEED)
    assert held.action == "hold" and held.desired == 1 and held.codes[0] == ReasonCode.AT_MAX
    # ceil((6 + 2) / 2) = 4 instances wanted, max_size 3
    capped = decide(snap(inst(1, running=3), inst(2, running=3), max_size=3), SEED)
    assert capped.action == "scale_out" and capped.desired == 3
    assert ReasonCode.AT_MAX in capped.codes
