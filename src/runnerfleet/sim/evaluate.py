"""Run many simulations in parallel processes: one ``Case`` is one policy on one workload.

Workers get the workloads once, when they start, and keep each trace and its bounds for as
long as they live, so a case travels as a few numbers and names. Results come back in the
order of the cases, whatever order the workers finish them in, so a parallel run gives the
same figures as a serial one.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

from runnerfleet.sim.catalog import build_policy
from runnerfleet.sim.engine import simulate
from runnerfleet.sim.families import Workload
from runnerfleet.sim.model import BootProfile, SimConfig
from runnerfleet.sim.report import Bounds, PolicyResult, bounds, peak_running, summarize
from runnerfleet.sim.trace import Trace, make_trace


@dataclass(frozen=True, slots=True)
class Case:
    """One simulation: ``policy`` with ``params`` on workload number ``workload``.

    ``fraction`` < 1 replays only the first part of the trace (by time), for cheap early
    rounds of a search; ``label`` names the result (default: the policy's own label).
    """

    workload: int
    policy: str
    boot_s: float
    params: tuple[tuple[str, Any], ...] = ()
    fraction: float = 1.0
    label: str | None = None


@dataclass(slots=True)
class _Worker:
    workloads: Sequence[Workload]
    config: SimConfig
    traces: dict[tuple[int, float], Trace] = field(default_factory=dict)
    limits: dict[tuple[int, float, float], Bounds] = field(default_factory=dict)

    def trace(self, index: int, fraction: float) -> Trace:
        key = (index, fraction)
        if key not in self.traces:
            whole = self.traces.get((index, 1.0)) or self.workloads[index].trace()
            self.traces[(index, 1.0)] = whole
            self.traces[key] = head(whole, fraction)
        return self.traces[key]

    def run(self, case: Case) -> PolicyResult:
        trace = self.trace(case.workload, case.fraction)
        key = (case.workload, case.fraction, case.boot_s)
        if key not in self.limits:
            self.limits[key] = bounds(trace, self.config.slots, case.boot_s)
        policy = build_policy(
            case.policy, self.config.slots, dict(case.params),
            peak_running=peak_running(trace), label=case.label,
        )  # fmt: skip
        boot = replace(self.config.boot, cold_s=case.boot_s)
        run = simulate(trace, policy, replace(self.config, boot=boot))
        return summarize(run, self.limits[key])


def head(trace: Trace, fraction: float) -> Trace:
    """The jobs that arrive in the first ``fraction`` of the trace's span."""
    if fraction >= 1.0:
        return trace
    until = trace.start + fraction * (trace.arrivals[-1] - trace.start)
    n = max(1, bisect.bisect_right(trace.arrivals, until))
    return make_trace(
        trace.arrivals[:n],
        trace.durations[:n],
        pipeline_ids=trace.pipeline_ids[:n],
        job_names=trace.job_names[:n],
        statuses=trace.statuses[:n],
        source=f"{trace.source} (first {fraction:.0%})",
    )


_STATE: _Worker | None = None


def _start(workloads: Sequence[Workload], config: SimConfig) -> None:
    global _STATE  # noqa: PLW0603  (one per worker process)
    _STATE = _Worker(workloads, config)


def _run(case: Case) -> PolicyResult:
    assert _STATE is not None, "worker not started"
    return _STATE.run(case)


class Evaluator:
    """Runs cases on ``workers`` processes (1: in this process, for tests and debugging)."""

    def __init__(
        self, workloads: Sequence[Workload], config: SimConfig | None = None, workers: int = 2
    ) -> None:
        self.workloads = tuple(workloads)
        self.config = config or SimConfig(boot=BootProfile())
        self.workers = max(1, min(workers, os.cpu_count() or 1))
        self._local = _Worker(self.workloads, self.config)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Evaluator:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                self.workers, initializer=_start, initargs=(self.workloads, self.config)
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def run(
        self,
        cases: Iterable[Case],
        *,
        timeout_s: float | None = None,
        done: Callable[[Case, PolicyResult], None] | None = None,
    ) -> list[PolicyResult | None]:
        """Results in the order of ``cases``; None for a case not finished in ``timeout_s``
        (in parallel runs; a serial run always finishes)."""
        todo = list(cases)
        if self._pool is None:
            return [self._serial(case, done) for case in todo]
        futures: Mapping[Future[PolicyResult], int] = {
            self._pool.submit(_run, case): i for i, case in enumerate(todo)
        }
        results: list[PolicyResult | None] = [None] * len(todo)
        try:
            for future in as_completed(futures, timeout=timeout_s):
                i = futures[future]
                results[i] = future.result()
                if done is not None:
                    done(todo[i], future.result())
        except TimeoutError:
            for future in futures:
                future.cancel()  # the ones running finish; their results are dropped
        return results

    def _serial(
        self, case: Case, done: Callable[[Case, PolicyResult], None] | None
    ) -> PolicyResult:
        result = self._local.run(case)
        if done is not None:
            done(case, result)
        return result
