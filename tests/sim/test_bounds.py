"""The two bounds: hand-computed cases of the clairvoyant bound and its properties."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from runnerfleet.sim.report import bounds, clairvoyant_seconds, lower_bound_seconds, peak_running
from runnerfleet.sim.trace import Trace, make_trace


def test_first_interval_of_a_level_costs_one_boot() -> None:
    trace = make_trace([0], [100])
    assert clairvoyant_seconds(trace, 1, 30) == 100 + 30


def test_a_gap_costs_the_smaller_of_the_gap_and_the_boot() -> None:
    trace = make_trace([0, 150], [100, 100])  # level 1 on [0, 100) and [150, 250): gap 50
    assert clairvoyant_seconds(trace, 1, 30) == 200 + 30 + 30  # relaunched 30 s early
    assert clairvoyant_seconds(trace, 1, 80) == 200 + 80 + 50  # kept idle across the gap


def test_every_level_pays_its_own_boot_and_gaps() -> None:
    # slots 2. running: [0,100) 2, [100,200) 4, [200,250) 2, [250,260) 3, [260,300) 2
    # level 1: [0, 300); level 2: [100, 200) and [250, 260), a gap of 50
    trace = make_trace([0, 0, 100, 100, 250], [300, 300, 100, 100, 10])
    integral = 300 + 100 + 10
    assert lower_bound_seconds(trace, 2) == integral
    assert clairvoyant_seconds(trace, 2, 60) == integral + 60 + 60 + 50
    assert clairvoyant_seconds(trace, 2, 40) == integral + 40 + 40 + 40


def test_levels_that_come_and_go_together() -> None:
    # slots 1: two jobs [0, 10), one [30, 40): level 1 twice (gap 20), level 2 once
    trace = make_trace([0, 0, 30], [10, 10, 10])
    assert clairvoyant_seconds(trace, 1, 100) == 30 + 100 + 20 + 100


def test_zero_length_jobs_need_nothing() -> None:
    trace = make_trace([0, 50], [0, 0])
    assert bounds(trace, 4, 180).clairvoyant_s == 0


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    gaps = draw(st.lists(st.integers(0, 500), min_size=1, max_size=40))
    durations = draw(st.lists(st.integers(0, 2000), min_size=len(gaps), max_size=len(gaps)))
    arrivals = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    return make_trace(arrivals, durations)


@settings(max_examples=200, deadline=None)
@given(traces(), st.integers(1, 4), st.integers(0, 600))
def test_between_the_lower_bound_and_a_static_fleet(trace: Trace, slots: int, boot: int) -> None:
    limits = bounds(trace, slots, boot)
    peak = math.ceil(peak_running(trace) / slots)
    # a static fleet for the peak, booted before the first arrival, kept to the last job's end
    static = peak * (trace.end - trace.start + boot)
    assert limits.lower_s <= limits.clairvoyant_s <= static + 1e-6
    assert clairvoyant_seconds(trace, slots, 0) == limits.lower_s
    assert clairvoyant_seconds(trace, slots, boot + 60) >= limits.clairvoyant_s
