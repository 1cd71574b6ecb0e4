"""The simulator's two-group model: the warm on-demand group first, spot overflow for the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.cli.main import main
from runnerfleet.errors import SpecError
from runnerfleet.scaling.evaluation import Cycle
from runnerfleet.scaling.overflow import Sizes, split_desired
from runnerfleet.sim import plots
from runnerfleet.sim.catalog import build_policy
from runnerfleet.sim.engine import simulate
from runnerfleet.sim.model import BootProfile, SimConfig
from runnerfleet.sim.synthetic import SynthParams, generate
from runnerfleet.sim.trace import Trace, make_trace
from runnerfleet.sim.twogroups import (
    EBS_PER_HOUR,
    Overflow,
    TwoGroupSimulation,
    is_spot,
    simulate_two_groups,
)

WARM = BootProfile(cold_s=60, warm_s=30, jitter=0)
SPOT_BAKED = BootProfile(cold_s=90, jitter=0)
EAGER = {"idle_count": 0, "idle_time_s": 0, "cooldown_s": 0}


def _config(**kw: object) -> SimConfig:
    base: dict[str, object] = {"slots": 2, "boot": WARM, "check_interval_s": 0.0}
    return SimConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_hand_worked_warm_start_first_then_spot() -> None:
    # warm group: max 1, pool 1; the pool's instance boots (60 s) and stops at t=60. The job
    # at t=0 finds the pool still booting: a fresh warm instance, 60 s. At t=1020 six jobs
    # wait: ceil(6 / 2) = 3 instances; the warm group takes 1 (its max), started out of the
    # pool in 30 s, and the spot group the other 2, fresh baked boots of 90 s.
    trace = make_trace([0] + [1000] * 6, [1] + [1000] * 6)
    policy = build_policy("queue", 2, EAGER)
    two = simulate_two_groups(
        trace, policy, _config(max_size=1, warm_pool=1), Overflow(max_size=4, boot=SPOT_BAKED)
    )
    assert list(two.run.waits) == [60, 50, 50, 110, 110, 110, 110]
    t = two.tally
    assert t.spot_launches == 2
    # the pool's stopped time: i-1 from 60 to 1020, its refill from 1080 to the end (2110)
    assert two.run.end == 2110 and t.stopped_s == (1020 - 60) + (2110 - 1080)
    assert t.warm_billed_s + t.spot_billed_s == two.run.billed_s
    assert t.spot_billed_s == 2 * (2110 - 1020)
    expected = (
        t.warm_billed_s * 0.0416
        + t.spot_billed_s * two.overflow.price_per_hour
        + t.stopped_s * EBS_PER_HOUR
    ) / 3600
    assert two.cost == pytest.approx(expected)
    assert two.overflow.price_per_hour < 0.0416


@pytest.fixture(scope="module")
def day() -> Trace:
    return generate(SynthParams(days=1.0), seed=3)


def test_spot_takes_only_what_the_warm_group_cannot(day: Trace) -> None:
    policy = build_policy("queue", 4)
    config = SimConfig(slots=4, max_size=2, warm_pool=2)
    sim = TwoGroupSimulation(day, policy, config, Overflow(max_size=20))
    grown: list[tuple[int, int]] = []  # (warm desired, warm max) whenever spot grew
    evaluate = sim.evaluator

    def watched(now: float) -> Cycle:
        before = sim.spot_group.fleet.desired
        cycle = evaluate(now)
        if sim.spot_group.fleet.desired > before:
            grown.append((sim.fleet.desired, sim.fleet.max_size))
        return cycle

    sim.evaluator = watched
    run = sim.run()
    assert run.unserved == 0 and sim.tally.spot_launches > 0
    assert grown and all(warm == top for warm, top in grown)  # the warm group is full first


def test_a_scale_in_lowers_the_spot_group_first() -> None:
    # the split the Lambda uses, read by the simulator through WarmFirst
    assert split_desired(3, Sizes(2, 0, 2), Sizes(3, 0, 10)) == (2, 1)
    assert split_desired(7, Sizes(1, 0, 2), Sizes(0, 0, 10)) == (2, 5)


def test_interruptions_hit_spot_only_and_lost_jobs_are_retried_and_counted(day: Trace) -> None:
    policy = build_policy("queue", 4)
    config = SimConfig(slots=4, max_size=2, warm_pool=2)
    spot = Overflow(max_size=20, interruptions_per_hour=1.0)
    sim = TwoGroupSimulation(day, policy, config, spot)
    warned: list[str] = []
    interrupt = sim.fleet.interrupt_spot

    def recorded(instance_id: str, now: float) -> None:
        warned.append(instance_id)
        interrupt(instance_id, now)

    sim.fleet.interrupt_spot = recorded  # type: ignore[method-assign]
    run = sim.run()
    assert warned and all(is_spot(iid) for iid in warned)
    assert sim.tally.interruptions > 0 and sim.tally.jobs_retried > 0
    assert sim.tally.jobs_lost == 0 and run.unserved == 0
    lost = simulate_two_groups(day, policy, SimConfig(slots=4, max_size=2, warm_pool=2,
                               retry_lost_jobs=False), spot)  # fmt: skip
    assert lost.tally.jobs_lost > 0 and lost.tally.jobs_retried == 0


def test_deterministic_and_cheaper_than_all_on_demand(day: Trace) -> None:
    policy = build_policy("queue", 4)
    config = SimConfig(slots=4, max_size=2, warm_pool=2, seed=5)
    spot = Overflow(max_size=20, interruptions_per_hour=0.2)
    a, b = (simulate_two_groups(day, policy, config, spot) for _ in range(2))
    assert a.run.waits == b.run.waits and a.tally == b.tally
    on_demand = simulate(day, policy, SimConfig(slots=4, seed=5))
    assert a.cost < on_demand.billed_s / 3600 * 0.0416


@pytest.mark.parametrize(
    ("policy", "config", "overflow", "says"),
    [
        ("static", _config(), Overflow(max_size=2), "needs an autoscaler"),
        ("queue", _config(spot_interruptions_per_hour=1.0), Overflow(max_size=2), "on-demand"),
    ],
)
def test_refused_settings_say_why(
    policy: str, config: SimConfig, overflow: Overflow, says: str
) -> None:
    trace = make_trace([0], [10])
    with pytest.raises(SpecError, match=says):
        simulate_two_groups(trace, build_policy(policy, 2, peak_running=1), config, overflow)


def test_a_bad_overflow_group_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        Overflow(max_size=-1, price_per_hour=float("nan"))
    assert len(caught.value.problems) == 2


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def day_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "day.csv.gz"
    assert main(["trace", "synth", str(path), "--days", "1", "--seed", "4"]) == 0
    return path


def test_cli_env_runs_the_environments_two_groups(
    day_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["simulate", "--trace", str(day_file), "--env", str(EXAMPLES / "warm-spot.yaml"),
            "--spot-rate", "0.5", "--json"]  # fmt: skip
    assert main(argv) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert row["policy"] == "warm-spot (queue)"
    assert row["spot_instance_hours"] > 0 and row["warm_instance_hours"] > 0
    assert row["stopped_instance_hours"] > 0  # the pool of two, stopped between bursts
    assert row["spot_interruptions"] > 0 and row["jobs_retried"] > 0 and row["jobs_lost"] == 0
    assert row["jobs_unserved"] == 0


def test_cli_overflow_flags_and_the_table(
    day_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["simulate", "--trace", str(day_file), "--boot-profile", "baked", "--max-size", "2",
            "--warm-pool", "1", "--overflow-max", "8"]  # fmt: skip
    assert main(argv) == 0
    shown = capsys.readouterr().out
    assert "the two groups" in shown and "spot inst-h" in shown
    assert "seed" in shown and "queue" in shown and "static" not in shown


def test_cli_env_refuses_flags_the_file_sets(
    day_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["simulate", "--trace", str(day_file), "--env", str(EXAMPLES / "warm-spot.yaml"),
            "--slots", "8", "--warm-pool", "3"]  # fmt: skip
    assert main(argv) == 2
    said = capsys.readouterr().err
    assert "--slots (the file's runner.concurrent)" in said
    assert "--warm-pool (the file's capacity.warm_pool)" in said
    assert "Traceback" not in said


def test_the_timeline_counts_each_group_apart() -> None:
    # the hand-worked run above: 2 spot instances from t=1020 to the end, none before
    trace = make_trace([0] + [1000] * 6, [1] + [1000] * 6)
    config = _config(max_size=1, warm_pool=1, record_timeline=True)
    policy = build_policy("queue", 2, EAGER)
    two = simulate_two_groups(trace, policy, config, Overflow(max_size=4, boot=SPOT_BAKED))
    tl, spot = two.run.timeline, two.spot_instances
    assert tl is not None and spot is not None and len(spot) == len(tl.t) > 10
    by_time = dict(zip(tl.t, spot, strict=True))
    assert {by_time[t] for t in tl.t if t < 1000} == {0}
    assert {by_time[t] for t in tl.t if 1100 <= t < 2000} == {2}
    assert all(0 <= total - s <= 2 for total, s in zip(tl.instances, spot, strict=True))
    assert simulate_two_groups(trace, policy, _config(max_size=1, warm_pool=1),
                               Overflow(max_size=4)).spot_instances is None  # fmt: skip


def test_cli_plots_draw_both_groups(
    day_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    drawn: list[str] = []
    step = plots._step

    def recorded(*args: Any, **style: Any) -> None:
        drawn.append(style["label"])
        step(*args, **style)

    monkeypatch.setattr(plots, "_step", recorded)
    argv = ["simulate", "--trace", str(day_file), "--env", str(EXAMPLES / "warm-spot.yaml"),
            "--plots", str(tmp_path / "plots")]  # fmt: skip
    assert main(argv) == 0
    assert "draws one group" not in capsys.readouterr().err
    assert drawn == [
        "warm-spot (queue): warm group (on-demand)",
        "warm-spot (queue): spot overflow group",
    ]
    for name in ("fleet-vs-demand.png", "wait-vs-cost.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 1000
