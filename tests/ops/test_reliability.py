"""A short run of the reliability benchmark: the drain keeps every job and cleans every runner,
and the same run with the seed's drain does not (so this test can fail)."""

from __future__ import annotations

from benchmarks.bench_reliability import run, waiting


def test_drain_reliability_in_the_fleet_model() -> None:
    ours = run(24, seed=3)
    t = ours.tally
    assert sum(t.terminations.values()) >= 24
    assert set(t.terminations) == {"scale-in", "relaunch", "terminate", "spot"}
    assert sum(t.killed.values()) == 0
    assert t.stale_runners == 0 and waiting(ours) == 0 and t.hook_timeouts == 0
    assert t.double_drains == 0 and t.spot_lost == t.spot_retried
    assert t.long_jobs_done > 0  # jobs longer than the hook timeout survived their drain
    seed_style = run(24, seed=3, seed_style=True)
    assert sum(seed_style.tally.killed.values()) > 0 and seed_style.tally.hook_timeouts > 0
