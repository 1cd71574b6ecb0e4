"""Feeding a workload into the GitLab stand-in at the jobs' arrival times (simulated)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from runnerfleet.sandbox.clock import SimClock
from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.sim.synthetic import SynthParams, generate
from runnerfleet.sim.trace import Trace, load_trace


@dataclass(frozen=True)
class Job:
    at: float  # seconds after the start of the workload
    duration: float


def demo_jobs(trace_file: Path | None, window_s: float, max_job_s: float, seed: int) -> list[Job]:
    """The first ``window_s`` of a trace (ours or synthetic), durations capped for the demo."""
    trace: Trace = (
        load_trace(trace_file) if trace_file else generate(SynthParams(days=2), seed=seed)
    )
    start = _busy_start(trace, window_s) if trace_file is None else trace.start
    jobs = [
        Job(at=a - start, duration=min(d, max_job_s))
        for a, d in zip(trace.arrivals, trace.durations, strict=True)
        if start <= a < start + window_s
    ]
    return sorted(jobs, key=lambda j: j.at)


def _busy_start(trace: Trace, window_s: float) -> float:
    """The synthetic trace starts at night; begin the demo at its busiest window instead."""
    arrivals = trace.arrivals
    best, best_count, j = arrivals[0], 0, 0
    for i, start in enumerate(arrivals):
        while j < len(arrivals) and arrivals[j] < start + window_s:
            j += 1
        if j - i > best_count:
            best, best_count = start, j - i
    return best


class Feeder:
    """Enqueues each job into ``project_id`` when its time comes."""

    def __init__(
        self,
        jobs: list[Job],
        standin: GitLabStandIn,
        clock: SimClock,
        project_id: int,
        tags: tuple[str, ...],
    ) -> None:
        self.jobs = jobs
        self.standin = standin
        self.clock = clock
        self.project_id = project_id
        self.tags = tags
        self.started_at = clock.now()
        self.fed = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="workload")

    def start(self) -> None:
        self._thread.start()

    @property
    def done(self) -> bool:
        return self.fed == len(self.jobs)

    def _run(self) -> None:
        for job in self.jobs:
            wait = self.started_at + job.at - self.clock.now()
            if wait > 0 and not self.clock.sleep(wait):
                return
            self.standin.enqueue_job(
                self.project_id, tags=list(self.tags), duration=job.duration, name="demo-job"
            )
            self.fed += 1
