"""Workload families: each preset has the shape its name promises, variants differ."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.errors import SpecError
from runnerfleet.sim.families import FAMILIES, family, synth_base, workloads
from runnerfleet.sim.synthetic import SynthParams, generate, scaled
from runnerfleet.sim.trace import Trace, load_trace


@cache
def _first(name: str) -> Trace:
    return next(workloads((name,))).trace()


def _weekdays(trace: Trace) -> Counter[int]:
    return Counter(datetime.fromtimestamp(a, UTC).weekday() for a in trace.arrivals)


def test_every_family_has_distinct_deterministic_variants() -> None:
    for name in FAMILIES:
        variants = list(workloads((name,)))
        assert len(variants) >= 2, name
        assert len({(w.seed, w.scale) for w in variants}) == len(variants)
        first = variants[0]
        if name != "year":  # the longest to draw; its shape is tested below
            assert first.trace() == first.trace()
            assert len(variants[-1].trace()) > len(first.trace())  # the larger scale


def test_long_pipelines_run_for_hours() -> None:
    trace = _first("long-pipelines")
    assert min(trace.durations) >= 5400 and max(trace.durations) <= 21_600
    per_day = len(set(trace.pipeline_ids)) / FAMILIES["long-pipelines"].params.days
    assert 1 <= per_day <= 6  # a few a day


def test_batch_is_a_steady_stream_of_single_short_jobs() -> None:
    trace = _first("batch")
    assert len(set(trace.pipeline_ids)) == len(trace)
    assert max(trace.durations) <= 1800
    hours = Counter(datetime.fromtimestamp(a, UTC).hour for a in trace.arrivals)
    assert max(hours.values()) < 1.25 * min(hours.values())  # no time of day stands out


def test_hpc_durations_vary_widely_around_the_clock() -> None:
    trace = _first("hpc")
    ordered = sorted(trace.durations)
    assert ordered[len(ordered) // 10] < 300 and ordered[-len(ordered) // 20] > 6 * 3600
    nights = sum(1 for a in trace.arrivals if datetime.fromtimestamp(a, UTC).hour < 6)
    assert nights > 0.15 * len(trace)


def test_the_year_has_busy_months_and_quiet_weeks() -> None:
    trace = _first("year")
    assert trace.arrivals[-1] - trace.arrivals[0] > 360 * 86_400
    months = Counter(datetime.fromtimestamp(a, UTC).month for a in trace.arrivals)
    assert months[10] > 2.5 * months[8]  # October is busy, August is not
    weeks = Counter(datetime.fromtimestamp(a, UTC).isocalendar().week for a in trace.arrivals)
    assert weeks[33] < 0.3 * weeks[40]  # a quiet week in August against one in October


def test_weekly_work_stops_at_weekends() -> None:
    days = _weekdays(_first("weekly"))
    assert days[5] + days[6] < 0.05 * sum(days.values())


def test_unknown_family_and_mixed_options_are_refused() -> None:
    with pytest.raises(SpecError, match="unknown workload family 'nope'"):
        family("nope")
    with pytest.raises(SpecError, match="either a workload family or a trace"):
        synth_base("batch", SynthParams())
    assert synth_base(None, None).days == 14.0


def test_oversized_synthetic_workloads_are_refused_before_drawing() -> None:
    with pytest.raises(SpecError, match="days must be at most 732"):
        scaled(SynthParams(), days=1e15)
    with pytest.raises(SpecError, match="more than the limit of 2,000,000"):
        scaled(SynthParams(), scale=1e9)
    with pytest.raises(ValueError, match="monthly_factors"):
        SynthParams(monthly_factors=(1.0, 2.0))


def test_durations_are_clipped_to_the_minimum() -> None:
    params = dataclasses.replace(SynthParams(days=2), min_duration_s=600.0)
    assert min(generate(params, seed=1).durations) >= 600


def test_cli_synth_writes_a_family(tmp_path: Path) -> None:
    out = tmp_path / "batch.csv"
    argv = ["trace", "synth", str(out), "--family", "batch", "--days", "1", "--seed", "2"]
    assert main(argv) == 0
    trace = load_trace(out)
    assert len(set(trace.pipeline_ids)) == len(trace) > 1000
    assert main(["trace", "synth", str(out), "--family", "nope"]) == 2
