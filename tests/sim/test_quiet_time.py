"""Skipping quiet time changes no result: full runs with and without it are identical."""

from __future__ import annotations

import dataclasses

import pytest

from runnerfleet.scaling import FleetSnapshot, InstanceView, LifecycleState, decide
from runnerfleet.scaling.policies import HeadroomPolicy, QueuePolicy
from runnerfleet.scaling.stable import demand, hold_band, stable_until
from runnerfleet.sim.catalog import build_policy
from runnerfleet.sim.engine import simulate
from runnerfleet.sim.families import FAMILIES
from runnerfleet.sim.model import BootProfile, SimConfig, SimRun
from runnerfleet.sim.report import peak_running
from runnerfleet.sim.synthetic import generate, scaled
from runnerfleet.sim.trace import Trace


def _trace(family: str, days: float, scale: float = 1.0, seed: int = 7) -> Trace:
    return generate(scaled(FAMILIES[family].params, days=days, scale=scale), seed=seed)


def _same(a: SimRun, b: SimRun) -> None:
    names = "waits killed unserved billed_s busy_s scale_out scale_in launches terminations"
    names += " hook_timeouts evaluations start end"
    for name in names.split():
        assert getattr(a, name) == getattr(b, name), name
    assert a.timeline is not None and b.timeline is not None
    for column in ("t", "running", "queued", "instances", "ready"):
        assert getattr(a.timeline, column) == getattr(b.timeline, column), column


CASES = [
    ("long-pipelines", 7.0, 1.0, {}),
    ("batch", 0.5, 0.5, {}),
    ("hpc", 3.0, 0.5, {"webhook_delay_s": 5.0}),
    ("weekly", 7.0, 0.25, {"warm_pool": 2}),
    ("year", 14.0, 0.25, {"boot": BootProfile(cold_s=30.0)}),
]


@pytest.mark.parametrize(("family", "days", "scale", "extra"), CASES)
@pytest.mark.parametrize("name", ["seed", "idle", "queue", "static"])
def test_skipping_quiet_time_gives_the_same_run(
    family: str, days: float, scale: float, extra: dict[str, object], name: str
) -> None:
    trace = _trace(family, days, scale)
    policy = build_policy(name, 4, peak_running=peak_running(trace))
    config = SimConfig(slots=4, record_timeline=True, **extra)  # type: ignore[arg-type]
    skipped = simulate(trace, policy, config)
    full = simulate(trace, policy, dataclasses.replace(config, skip_quiet=False))
    _same(skipped, full)


def _view(iid: str, running: int, idle_since: float | None) -> InstanceView:
    state = LifecycleState.IN_SERVICE
    return InstanceView(iid, state, 0.0, 4, running, idle_since=idle_since)


def test_stable_until_is_the_next_clock_threshold() -> None:
    snapshot = FleetSnapshot(
        now=1000.0,
        instances=(_view("a", 0, 900.0), _view("b", 2, None)),
        desired=2, min_size=0, max_size=4, pending_jobs=0,
        last_scale_in_at=None, last_scale_out_at=950.0,
    )  # fmt: skip
    queue = QueuePolicy(idle_time_s=300, cooldown_s=30, concurrent=4)
    assert stable_until(snapshot, queue) == 900.0 + 300  # a's idle time: the cooldown is over
    assert stable_until(snapshot, HeadroomPolicy(concurrent=4, headroom_jobs=2)) == 950.0 + 600
    later = dataclasses.replace(snapshot, now=1199.0)
    assert decide(later, queue) == decide(snapshot, queue)
    assert decide(dataclasses.replace(snapshot, now=1200.0), queue).action == "scale_in"
    empty = dataclasses.replace(snapshot, instances=(), desired=0, last_scale_out_at=None)
    assert stable_until(empty, queue) == float("inf")


def test_a_static_fleet_on_spot_is_interrupted_and_replaced() -> None:
    trace = _trace("batch", 0.5, 0.5)
    policy = build_policy("static", 4, peak_running=peak_running(trace))
    run = simulate(trace, policy, SimConfig(slots=4, spot_interruptions_per_hour=0.5))
    assert run.killed > 0 and run.unserved == 0 and run.launches > policy.static_size


def test_a_schedule_with_webhook_evaluations_gives_the_same_run() -> None:
    # evaluations between the minutes: a period's own idle and cooldown thresholds count too
    trace = _trace("matrix", 2.0, 1.0, seed=3)
    policy = build_policy("schedule", 4)
    config = SimConfig(slots=4, webhook_delay_s=5.0, record_timeline=True)
    skipped = simulate(trace, policy, config)
    _same(skipped, simulate(trace, policy, dataclasses.replace(config, skip_quiet=False)))


def _no_call(snapshot: FleetSnapshot, policy: QueuePolicy | HeadroomPolicy) -> bool:
    d = decide(snapshot, policy)
    return d.action == "hold" and not d.protect and not d.unprotect


@pytest.mark.parametrize(
    "policy",
    [
        QueuePolicy(idle_count=2, idle_time_s=180, cooldown_s=0, concurrent=4),
        HeadroomPolicy(concurrent=4, headroom_jobs=2, cooldown_s=0),
    ],
)
def test_hold_band_is_where_decide_makes_no_call(policy: QueuePolicy | HeadroomPolicy) -> None:
    # a busy instance (protected) and one idle past its idle time: the band's edges are where
    # a scale-out starts (above) and where the idle one finds room to go (below)
    busy = dataclasses.replace(_view("a", 3, None), protected=True)
    snapshot = FleetSnapshot(
        now=1000.0, instances=(busy, _view("b", 0, 500.0)), desired=2, min_size=0,
        max_size=8, pending_jobs=0,
    )  # fmt: skip
    band = hold_band(snapshot, policy)
    assert band is not None and band[2] == stable_until(snapshot, policy)
    low, high = band[0], band[1]
    inside = outside = 0
    for running in range(1, 5):
        for pending in range(0, 6):
            busier = dataclasses.replace(busy, running_jobs=running)
            seen = dataclasses.replace(snapshot, instances=(busier, snapshot.instances[1]),
                                       pending_jobs=pending)  # fmt: skip
            if isinstance(policy, HeadroomPolicy) and pending:
                continue  # the seed does not read the queue
            in_band = low <= demand(policy, running, pending) <= high
            assert _no_call(seen, policy) == in_band, (running, pending)
            inside, outside = inside + in_band, outside + (not in_band)
    assert inside and outside
    assert decide(snapshot, policy).action == "hold"
