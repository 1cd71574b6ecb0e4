"""Parallel evaluation gives the serial figures, in the order of the cases."""

from __future__ import annotations

from runnerfleet.sim.evaluate import Case, Evaluator, head
from runnerfleet.sim.families import Workload, public_workload
from runnerfleet.sim.synthetic import SynthParams, generate
from runnerfleet.sim.trace import make_trace

SMALL = Workload("matrix", 4, 1.0, SynthParams(days=1.0))


def test_parallel_results_equal_serial_results_in_case_order() -> None:
    cases = [
        Case(0, "queue", 180.0),
        Case(0, "seed", 30.0, label="baseline"),
        Case(0, "queue", 180.0, params=(("idle_count", 4),)),
        Case(0, "static", 180.0, fraction=0.5),
    ]
    with Evaluator([SMALL], workers=1) as serial:
        expected = serial.run(cases)
    seen: list[str] = []
    with Evaluator([SMALL], workers=2) as parallel:
        got = parallel.run(cases, done=lambda case, result: seen.append(result.policy))
    assert got == expected
    assert sorted(seen) == sorted(r.policy for r in expected if r is not None)
    assert [r.policy for r in got if r is not None] == ["queue", "baseline", "queue", "static"]
    assert got[2] is not None and got[2].params["idle_count"] == 4
    assert got[3] is not None and got[0] is not None and got[3].jobs < got[0].jobs


def test_unfinished_cases_are_none_after_the_timeout() -> None:
    with Evaluator([SMALL], workers=2) as evaluator:
        results = evaluator.run([Case(0, "queue", 180.0)] * 4, timeout_s=0.0)
    assert results == [None] * 4


def test_head_keeps_the_jobs_of_the_first_part_of_the_span() -> None:
    trace = make_trace([0, 10, 50, 100], [5, 5, 5, 5])
    assert head(trace, 1.0) is trace
    assert head(trace, 0.5).arrivals == (0, 10, 50)
    assert head(trace, 0.0).arrivals == (0,)


def test_a_given_trace_is_a_workload() -> None:
    trace = generate(SynthParams(days=0.5), seed=2)
    workload = public_workload(trace)
    assert workload.trace() is trace and workload.label == "public"
