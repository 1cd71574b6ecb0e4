"""The engine: lower bound, determinism, the no-idle-slot invariant, hand-worked policies."""

from __future__ import annotations

import calendar

import pytest

from runnerfleet.sim.catalog import build_policy
from runnerfleet.sim.engine import Simulation, simulate
from runnerfleet.sim.model import BootProfile, SimConfig
from runnerfleet.sim.report import bounds, lower_bound_seconds, peak_running, percentile, summarize
from runnerfleet.sim.synthetic import SynthParams, generate
from runnerfleet.sim.trace import make_trace

EXACT = {"boot": BootProfile(cold_s=120, jitter=0), "check_interval_s": 0.0}


def test_lower_bound_hand_computed() -> None:
    # slots 2: [0,100) one job, [50,100) two, [100,150) three -> 2 instances, [150,200) one
    trace = make_trace([0, 50, 100, 100], [100, 100, 50, 100])
    # running: 0-50:1, 50-100:2, 100-150:3, 150-200:1
    assert lower_bound_seconds(trace, 2) == 50 * 1 + 50 * 1 + 50 * 2 + 50 * 1
    assert lower_bound_seconds(trace, 1) == 50 * 1 + 50 * 2 + 50 * 3 + 50 * 1
    assert peak_running(trace) == 3
    # zero-length jobs need no capacity; gaps cost nothing
    assert lower_bound_seconds(make_trace([0, 10, 1000], [0, 5, 5]), 4) == 10


def test_percentile_interpolates() -> None:
    assert percentile([0, 10], 50) == 5
    assert percentile([1, 2, 3, 4], 100) == 4
    assert percentile([], 95) == 0


def test_static_hand_worked() -> None:
    trace = make_trace([0, 0, 10], [100, 100, 50])
    policy = build_policy("static", 2, peak_running=1)  # one instance of two slots
    run = simulate(trace, policy, SimConfig(slots=2, **EXACT))  # type: ignore[arg-type]
    assert sorted(run.waits) == [0, 0, 90]  # the third job waits for a slot at t=100
    assert run.end == 150 and run.billed_s == 150
    assert run.killed == 0 and run.scale_out == 0


def test_seed_hand_worked() -> None:
    # min 1 instance (A). t=0: A takes two jobs; ceil((2 running + 2 headroom) / 2) = 2 -> B
    # boots for 120 s. t=120: B takes the other two; ceil((4 + 2) / 2) = 3 -> C launches, is
    # never used. t=1000: A's jobs end; the tick at 1020 wants ceil((2 + 2) / 2) = 2 and the
    # 600 s cooldown since the scale-out at 120 has passed: C (idle since its launch at 120,
    # longer than A) is terminated. B's jobs end at 1120 and the run ends.
    trace = make_trace([0, 0, 0, 0], [1000] * 4)
    run = simulate(trace, build_policy("seed", 2), SimConfig(slots=2, **EXACT))  # type: ignore[arg-type]
    assert sorted(run.waits) == [0, 0, 120, 120]
    assert run.end == 1120
    assert run.billed_s == 1120 + 1120 + (1020 - 120)
    assert (run.scale_out, run.scale_in, run.launches, run.terminations) == (2, 1, 2, 1)


def test_queue_hand_worked() -> None:
    # empty fleet; tick at t=10 sees 3 pending jobs: ceil(3 / 2) = 2 instances, ready at 130
    trace = make_trace([10, 10, 10], [100, 100, 100])
    policy = build_policy("queue", 2, {"idle_count": 0, "idle_time_s": 0, "cooldown_s": 0})
    run = simulate(trace, policy, SimConfig(slots=2, **EXACT))  # type: ignore[arg-type]
    assert list(run.waits) == [120, 120, 120]
    assert run.end == 230 and run.billed_s == 2 * 220


def test_idle_hand_worked() -> None:
    # idle target 2 slots. t=10: no capacity -> A launches (2 slots), ready at 130 and full at
    # once, so the tick at 130 launches B (ready at 250). A's jobs end at 230 and A, not B,
    # takes the third job: it waited 220 s and ends at 330. B is never used; the ticks at 250
    # and 310 keep it, since 1 running + 2 idle slots leave no instance spare.
    trace = make_trace([10, 10, 10], [100, 100, 100])
    policy = build_policy("idle", 2, {"idle_count": 2, "idle_time_s": 0, "cooldown_s": 0})
    run = simulate(trace, policy, SimConfig(slots=2, **EXACT))  # type: ignore[arg-type]
    assert list(run.waits) == [120, 120, 220]
    assert run.end == 330 and run.billed_s == (330 - 10) + (330 - 130)
    assert run.launches == 2 and run.terminations == 0


def test_schedule_hand_worked() -> None:
    # inside office hours (Monday 10:00 UTC) the period asks for 4 idle slots on top of the
    # 3 pending jobs: ceil(7 / 2) = 4 instances; at night the base (idle 0) launches 2
    monday = calendar.timegm((2025, 9, 8, 10, 0, 0))
    night = calendar.timegm((2025, 9, 8, 23, 0, 0))
    params = {"idle_time_s": 0, "cooldown_s": 0}
    for start, instances in ((monday, 4), (night, 2)):
        trace = make_trace([start] * 3, [100] * 3)
        run = simulate(trace, build_policy("schedule", 2, params), SimConfig(slots=2, **EXACT))  # type: ignore[arg-type]
        assert list(run.waits) == [120, 120, 120]
        assert run.launches == instances


def test_webhook_evaluation_scales_out_before_the_tick() -> None:
    trace = make_trace([10, 30, 30, 30], [1000] * 4)
    policy = build_policy("queue", 2, {"idle_count": 0, "idle_time_s": 0})
    tick_only = simulate(trace, policy, SimConfig(slots=2, **EXACT))  # type: ignore[arg-type]
    hooked = simulate(
        trace, policy, SimConfig(slots=2, webhook_delay_s=2, webhook_min_gap_s=5, **EXACT)
    )  # type: ignore[arg-type]
    # the jobs at t=30 wait for the tick at 70 without the webhook, for 32 with it
    assert max(tick_only.waits) == 70 + 120 - 30
    assert max(hooked.waits) == 32 + 120 - 30
    assert hooked.evaluations > tick_only.evaluations


@pytest.fixture(scope="module")
def synth() -> object:
    return generate(SynthParams(days=1.0), seed=3)


@pytest.mark.parametrize("name", ["seed", "idle", "queue", "schedule", "static"])
def test_no_job_waits_while_a_ready_slot_is_free(synth: object, name: str) -> None:
    policy = build_policy(name, 4, peak_running=peak_running(synth))  # type: ignore[arg-type]
    for check_interval in (0.0, 3.0):
        config = SimConfig(slots=4, check_interval_s=check_interval, check_invariants=True)
        run = simulate(synth, policy, config)  # type: ignore[arg-type]
        assert run.unserved == 0 and len(run.waits) == run.jobs


def test_deterministic_for_a_seed(synth: object) -> None:
    policy = build_policy("queue", 4)
    config = SimConfig(slots=4, spot_interruptions_per_hour=0.2, seed=11)
    a = simulate(synth, policy, config)  # type: ignore[arg-type]
    b = simulate(synth, policy, config)  # type: ignore[arg-type]
    assert a.waits == b.waits and a.billed_s == b.billed_s and a.killed == b.killed
    c = simulate(synth, policy, SimConfig(slots=4, spot_interruptions_per_hour=0.2, seed=12))  # type: ignore[arg-type]
    assert c.waits != a.waits


def test_spot_interruptions_kill_and_retry_jobs(synth: object) -> None:
    policy = build_policy("queue", 4)
    run = simulate(synth, policy, SimConfig(slots=4, spot_interruptions_per_hour=0.5))  # type: ignore[arg-type]
    assert run.killed > 0
    assert run.unserved == 0  # every killed job was retried and finished
    none = simulate(
        synth, policy, SimConfig(slots=4, spot_interruptions_per_hour=0.5, retry_lost_jobs=False)
    )  # type: ignore[arg-type]
    assert none.killed > 0 and none.unserved == 0


def test_scale_in_never_kills_jobs_and_bills_above_the_bound(synth: object) -> None:
    limits = bounds(synth, 4, SimConfig().boot.cold_s)  # type: ignore[arg-type]
    for name in ("seed", "idle", "queue"):
        run = simulate(synth, build_policy(name, 4), SimConfig(slots=4))  # type: ignore[arg-type]
        result = summarize(run, limits)
        assert result.jobs_killed == 0
        assert result.ratio_to_clairvoyant > 1.0
        assert result.ratio_to_lower_bound > result.ratio_to_clairvoyant
        assert 0 < result.utilisation < 1


def test_warm_pool_shortens_waits(synth: object) -> None:
    policy = build_policy("queue", 4, {"idle_count": 0})
    cold = simulate(synth, policy, SimConfig(slots=4, boot=BootProfile(cold_s=300)))  # type: ignore[arg-type]
    warm = simulate(synth, policy, SimConfig(slots=4, boot=BootProfile(cold_s=300), warm_pool=3))  # type: ignore[arg-type]
    assert percentile(sorted(warm.waits), 95) < percentile(sorted(cold.waits), 95)


def _terminate_busy_at(sim: Simulation, when: float) -> None:
    """Wrap the autoscaler: at ``when`` terminate the busy instance, as `runnerfleet terminate`."""
    evaluate = sim._evaluate

    def patched() -> None:
        evaluate()
        if sim.now == when:
            (busy,) = [n for n in sim.nodes.values() if n.running]
            sim.fleet.terminate_instance(busy.instance_id, False, sim.now)
            sim._pump()

    sim._evaluate = patched  # type: ignore[method-assign]


@pytest.mark.parametrize(("max_drain_s", "killed"), [(10_000.0, 0), (600.0, 1)])
def test_drain_heartbeats_past_the_hook_timeout_up_to_max_drain(
    max_drain_s: float, killed: int
) -> None:
    # a 3000 s job (started at 120, after the boot) on an instance terminated at 180: the hook
    # times out after 300 s unless the drain records heartbeats, which it does up to max_drain_s;
    # then, as the drain script does, it aborts the job and completes the action itself
    trace = make_trace([0], [3000])
    policy = build_policy("queue", 2, {"idle_count": 0})
    config = SimConfig(slots=2, heartbeat_timeout_s=300, max_drain_s=max_drain_s, **EXACT)  # type: ignore[arg-type]
    sim = Simulation(trace, policy, config)
    _terminate_busy_at(sim, 180.0)
    run = sim.run()
    assert run.killed == killed
    assert run.hook_timeouts == 0  # heartbeats, then CONTINUE: the hook never times out
    if killed:
        assert run.end == 180 + max_drain_s  # aborted once the drain budget was spent
    else:
        assert run.end == 3120  # drained: the job finished on the terminating instance
    assert run.launches == 2  # no decrement: the group launched a replacement


def test_drain_is_the_step_function_heartbeats_every_third_of_the_timeout() -> None:
    # the same 3000 s job, terminated at 180 with a 300 s hook: the drain script heartbeats every
    # 100 s (runnerfleet.drain.drain_step), and so must the simulated drain
    trace = make_trace([0], [3000])
    policy = build_policy("queue", 2, {"idle_count": 0})
    config = SimConfig(slots=2, heartbeat_timeout_s=300, max_drain_s=600, **EXACT)  # type: ignore[arg-type]
    sim = Simulation(trace, policy, config)
    _terminate_busy_at(sim, 180.0)
    beats: list[float] = []
    record_heartbeat = sim.fleet.record_heartbeat

    def spy(instance_id: str, now: float) -> None:
        beats.append(now)
        record_heartbeat(instance_id, now)

    sim.fleet.record_heartbeat = spy  # type: ignore[method-assign]
    sim.run()
    assert beats == [280.0, 380.0, 480.0, 580.0, 680.0]  # until the budget ends at 780
