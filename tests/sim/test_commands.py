"""Policy catalog, parameter search, the generator's calibration, and the CLI commands."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.envfile.models import ScalingSection
from runnerfleet.errors import SpecError
from runnerfleet.scaling.policies import POLICY_DEFAULTS
from runnerfleet.scaling.settings import policy_from_scaling
from runnerfleet.sim.catalog import DEFAULT_POLICY, DEFAULTS, build_policy, parse_overrides
from runnerfleet.sim.convert import read_source
from runnerfleet.sim.evaluate import Case, Evaluator
from runnerfleet.sim.families import FAMILIES, Workload
from runnerfleet.sim.model import BootProfile, SimConfig
from runnerfleet.sim.report import PolicyResult
from runnerfleet.sim.synthetic import SynthParams, calibrate, generate, scaled
from runnerfleet.sim.tune import SEARCH_SPACE, candidates, env_snippet, score, tune
from tests.conftest import SHARED

SHARED_TRACE = SHARED / "traces" / "bitcoin-core-gha-2025-09.csv.gz"
RESULT = PolicyResult(
    "queue", 10, 1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 8.0, 1.25, 9.0, 1.1, 0.4, 0.5,
    1, 1, 1, 1, 0, 0, {},
)  # fmt: skip


def test_simulated_defaults_are_the_environment_file_and_the_lambdas_defaults() -> None:
    assert ScalingSection().policy == "queue"
    resolved = {"idle_count": "idle_slots", "idle_time_s": "idle_seconds", "scale_factor": "factor"}
    for name in ("idle", "queue"):
        section = ScalingSection(policy=name)
        for key, value in DEFAULTS[name].items():
            assert getattr(section, resolved.get(key, key)) == value, (name, key)
        dumped = {"scaling": section.model_dump(mode="json"), "concurrent": 4}
        assert policy_from_scaling(dumped) == build_policy(name, 4).policy, name
    assert DEFAULTS["seed"]["headroom_jobs"] == section.headroom_jobs


def test_the_template_states_the_policy_defaults() -> None:
    assert {k: ScalingSection().model_dump()[k] for k in POLICY_DEFAULTS["queue"]} == (
        POLICY_DEFAULTS["queue"]
    )
    assert ScalingSection(policy="seed").model_dump()["idle_time_s"] is None  # not its key


def test_the_default_waits_no_longer_than_the_seed_on_a_sparse_workload() -> None:
    """A few long pipelines a day: the seed's formula keeps an instance warm, so its jobs start
    within a runner poll; the default must not make them wait a boot instead."""
    sparse = Workload("long-pipelines", 1, 0.5, FAMILIES["long-pipelines"].params)
    with Evaluator([sparse], workers=1) as evaluator:
        seed, default = evaluator.run([Case(0, "seed", 180.0), Case(0, DEFAULT_POLICY, 180.0)])
    assert seed is not None and default is not None
    assert default.wait_p95_s <= max(seed.wait_p95_s, SimConfig().check_interval_s)
    assert default.instance_hours <= seed.instance_hours * 1.02


def test_overrides_and_unknown_names() -> None:
    assert parse_overrides(["queue.idle_count=4", "queue.scale_factor=0.5", "static.size=3"]) == {
        "queue": {"idle_count": 4, "scale_factor": 0.5},
        "static": {"size": 3},
    }
    with pytest.raises(SpecError, match=r"POLICY\.KEY=VALUE"):
        parse_overrides(["idle_count=4"])
    with pytest.raises(SpecError, match="unknown policy 'fifo'"):
        build_policy("fifo", 4)
    with pytest.raises(SpecError, match="unknown keys"):
        build_policy("queue", 4, {"idel_count": 1})
    assert build_policy("static", 4, peak_running=9).static_size == 3


def test_generator_is_deterministic_and_bursty() -> None:
    a = generate(SynthParams(days=3), seed=5)
    assert a == generate(SynthParams(days=3), seed=5)
    assert a != generate(SynthParams(days=3), seed=6)
    pipelines = set(a.pipeline_ids)
    assert len(a) / len(pipelines) > 10  # pipelines arrive as bursts of jobs


def test_calibration_recovers_the_generator_parameters() -> None:
    params = SynthParams(days=28)
    measured = calibrate(generate(params, seed=2))
    assert measured.pipelines_per_weekday == pytest.approx(params.pipelines_per_weekday, rel=0.1)
    assert measured.weekend_factor == pytest.approx(params.weekend_factor, abs=0.08)
    assert measured.diurnal_amplitude == pytest.approx(params.diurnal_amplitude, abs=0.1)
    assert measured.peak_hour_utc == pytest.approx(params.peak_hour_utc, abs=1.0)
    assert measured.full_size == params.full_size
    assert measured.long_median_s == pytest.approx(params.long_median_s, rel=0.1)


@pytest.mark.skipif(not SHARED_TRACE.exists(), reason="shared trace not present")
def test_defaults_are_the_calibration_of_the_shared_trace() -> None:
    measured = calibrate(read_source(SHARED_TRACE).trace)
    defaults = SynthParams()
    for name in ("pipelines_per_weekday", "weekend_factor", "diurnal_amplitude", "peak_hour_utc",
                 "full_fraction", "full_size", "late_fraction", "late_median_s",
                 "quick_fraction", "long_median_s", "long_sigma", "max_duration_s"):  # fmt: skip
        assert getattr(measured, name) == pytest.approx(getattr(defaults, name), rel=0.02), name


def test_tune_finds_the_cheapest_setting_that_meets_the_target_everywhere() -> None:
    day = Workload("matrix", 1, 1.0, SynthParams(days=1))
    batch = Workload("batch", 2, 0.2, scaled(FAMILIES["batch"].params, days=0.5))
    config = SimConfig(slots=4, boot=BootProfile(cold_s=60))
    outcome = tune([day, batch], "queue", config, 400.0, max_evals=9, workers=2)
    assert outcome.settings == 9
    assert [t.fraction for t in outcome.trials].count(1 / 9) == 9
    assert len(outcome.final) == 1  # 9 -> 3 -> 1
    assert outcome.met and all(r.wait_p95_s <= 400 for r in outcome.best)
    assert [r.jobs for r in outcome.best] == [len(day.trace()), len(batch.trace())]
    snippet = env_snippet("queue", outcome.params)
    assert snippet.startswith("scaling:\n  policy: queue\n")
    assert "idle_count:" in snippet
    serial = tune([day, batch], "queue", config, 400.0, max_evals=9, workers=1)
    assert serial.params == outcome.params and serial.best == outcome.best


def test_candidates_start_with_the_defaults_and_spread_over_the_grid() -> None:
    found = candidates("queue", 36)
    assert found[0] == {k: v for k, v in DEFAULTS["queue"].items() if k in SEARCH_SPACE["queue"]}
    assert len({tuple(sorted(c.items())) for c in found}) == 36
    for key, values in SEARCH_SPACE["queue"].items():
        assert {c[key] for c in found} == set(values), key  # every value tried
    assert len(candidates("seed", 1000)) == 8 * 5  # no more than the grid holds


def test_trials_are_ranked_by_their_worst_workload() -> None:
    def result(p95: float, ratio: float) -> PolicyResult:
        return dataclasses.replace(RESULT, wait_p95_s=p95, ratio_to_clairvoyant=ratio)

    assert score([result(100, 1.2), result(150, 1.1)], 200) == (0, 1.2, 0.75)
    assert score([result(100, 1.0), result(300, 1.0)], 200)[0] == 1  # one workload misses
    assert score([result(100, 1.0), result(300, 1.0)], 200) < score([result(500, 1.0)], 200)


def test_cli_synth_simulate_json_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "demo.csv.gz"
    assert main(["trace", "synth", str(trace), "--days", "1", "--seed", "4"]) == 0
    capsys.readouterr()
    argv = ["simulate", "--trace", str(trace), "--slots", "4", "--boot", "60",
            "--policy", "seed", "--policy", "queue", "--policy", "static", "--json",
            "--plots", str(tmp_path / "plots")]  # fmt: skip
    assert main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [r["policy"] for r in rows] == ["seed", "queue", "static"]
    for row in rows:
        for key in ("policy", "jobs", "wait_p50_s", "wait_p95_s", "wait_p99_s",
                    "instance_hours", "lower_bound_instance_hours", "jobs_killed",
                    "clairvoyant_instance_hours", "ratio_to_clairvoyant"):  # fmt: skip
            assert key in row
        assert row["instance_hours"] >= row["lower_bound_instance_hours"]
        assert row["clairvoyant_instance_hours"] > row["lower_bound_instance_hours"]
    assert (tmp_path / "plots" / "fleet-vs-demand.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "wait-vs-cost.png").stat().st_size > 1000


def test_cli_bad_trace_exit_code_and_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("arrival_ts,duration_s\n5,1\n4,1\n")
    assert main(["simulate", "--trace", str(bad)]) == 2
    assert "line 3, column 1 (arrival_ts)" in capsys.readouterr().err
