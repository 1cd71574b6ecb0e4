"""Inputs and raw outputs of the simulation engine: configuration, boot times, one run's tally."""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field

from runnerfleet.drain import DrainState
from runnerfleet.errors import SpecError
from runnerfleet.scaling.evaluation import Cycle
from runnerfleet.sim.catalog import SimPolicy

#: boot presets (median seconds from launch to a registered runner taking jobs)
BOOT_PRESETS = {"cold": 180.0, "baked": 60.0, "warm": 30.0}


@dataclass(frozen=True, slots=True)
class BootProfile:
    """Boot time as a distribution: lognormal around a median, clipped to [0.5x, 2x].

    ``cold_s``: a fresh instance (package install and registration, or a baked AMI when small);
    ``warm_s``: an instance leaving a stopped warm pool (already bootstrapped, only starts).
    """

    cold_s: float = BOOT_PRESETS["cold"]
    warm_s: float = BOOT_PRESETS["warm"]
    jitter: float = 0.15

    def sample(self, rng: random.Random, *, warm: bool) -> float:
        median = self.warm_s if warm else self.cold_s
        if self.jitter <= 0:
            return median
        factor = math.exp(rng.gauss(0.0, self.jitter))
        return median * min(2.0, max(0.5, factor))


@dataclass(frozen=True, slots=True)
class SimConfig:
    """How the simulated fleet and runner behave. Defaults follow the environment file's."""

    slots: int = 4  # job slots per instance (runner `concurrent`)
    boot: BootProfile = BootProfile()
    check_interval_s: float = 3.0  # runner job polling (gitlab-runner default 3 s)
    tick_s: float = 60.0  # autoscaler schedule, rate(1 minute)
    webhook_delay_s: float | None = None  # evaluate this long after a job is queued
    webhook_min_gap_s: float = 10.0  # at most one webhook evaluation per gap
    max_size: int | None = None  # None: twice the static size, at least 4
    warm_pool: int = 0  # instances kept stopped in a warm pool
    heartbeat_timeout_s: float = 600.0  # terminate hook (drain) heartbeat timeout
    max_drain_s: float = 10_800.0  # longest job the drain waits for
    spot_interruptions_per_hour: float = 0.0  # per instance-hour in service
    retry_lost_jobs: bool = True  # spot-killed jobs go back to the queue
    price_per_hour: float = 0.0416  # on-demand t3.medium, us-east-1
    seed: int = 0
    horizon_s: float = 7 * 86_400.0  # give up this long after the trace's last job
    scrape_failure_rate: float = 0.0  # each InService runner, each evaluation
    record_timeline: bool = False
    record_decisions: bool = False
    check_invariants: bool = False
    skip_quiet: bool = True  # pass over ticks that would change nothing (same results)

    def __post_init__(self) -> None:
        problems = []
        if self.slots < 1:
            problems.append("--slots must be at least 1")
        if self.tick_s <= 0:
            problems.append("the autoscaler tick must be more than 0 s")
        if self.check_interval_s < 0 or self.boot.cold_s < 0 or self.boot.warm_s < 0:
            problems.append("times cannot be negative")
        if not 0 <= self.scrape_failure_rate <= 1:
            problems.append("the scrape failure rate must be within 0..1")
        if self.warm_pool < 0 or self.spot_interruptions_per_hour < 0:
            problems.append("--warm-pool and spot rates cannot be negative")
        if self.warm_pool and self.spot_interruptions_per_hour:
            problems.append("AWS does not allow a warm pool on a group that launches spot")
        if problems:
            raise SpecError(
                "invalid simulation settings",
                problems=problems,
                hint="see `runnerfleet simulate --help`",
            )


@dataclass(slots=True)
class Node:
    """The engine's side of one instance: its runner, its slots and its jobs. Its lifecycle
    state, protection and tags live in the Auto Scaling model and the group port, once."""

    instance_id: str
    launched_at: float
    ready: bool = False  # runner up and taking jobs
    running: int = 0
    jobs: dict[int, float] = field(default_factory=dict)  # job index -> start time
    phase: float = 0.0  # the runner polls at phase + k * check_interval
    poll_at: float | None = None
    drain: DrainState | None = None  # the drain in progress (runnerfleet.drain.drain_step)
    drain_wake: float | None = None  # when the drain looks again
    kill_at: float | None = None  # spot: when EC2 reclaims the instance
    spot_warned: bool = False


@dataclass(slots=True)
class Timeline:
    """Sampled at every autoscaler tick, for the plots."""

    t: array[float] = field(default_factory=lambda: array("d"))
    running: array[float] = field(default_factory=lambda: array("d"))
    queued: array[float] = field(default_factory=lambda: array("d"))
    instances: array[float] = field(default_factory=lambda: array("d"))  # billed ones
    ready: array[float] = field(default_factory=lambda: array("d"))


@dataclass(slots=True)
class SimRun:
    """Everything one run measured; ``report`` turns it into results."""

    policy: SimPolicy
    config: SimConfig
    jobs: int
    waits: array[float] = field(default_factory=lambda: array("d"))
    killed: int = 0
    unserved: int = 0
    billed_s: float = 0.0
    busy_s: float = 0.0
    scale_out: int = 0
    scale_in: int = 0
    launches: int = 0
    terminations: int = 0
    hook_timeouts: int = 0
    evaluations: int = 0
    start: float = 0.0
    end: float = 0.0
    timeline: Timeline | None = None
    decisions: list[DecisionRecord] | None = None  # with ``record_decisions``


#: (time, action, desired, terminate, protect, unprotect, calls made): one evaluation
DecisionRecord = tuple[
    float, str, int, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]
]


def decision_record(now: float, cycle: Cycle) -> DecisionRecord:
    d = cycle.decision
    calls = () if cycle.report is None else tuple(cycle.report.calls)
    return (now, d.action, d.desired, d.terminate, d.protect, d.unprotect, calls)
