"""The world of the reliability benchmark: the Auto Scaling fleet model (runnerfleet.asgmodel),
runners running jobs on its instances, a GitLab stand-in, and the real drain code between them.

Termination lifecycle events go through ``handle_terminate`` (the Lambda's logic) and spot
warnings through ``handle_spot``, with fake adapters; each instance's drain script is played by
``drain_step``, the step function the drain document is held to. EventBridge delivers at least
once, so a share of events is delivered twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from benchmarks.reliability_fakes import (
    Actions,
    Commands,
    FakeRecords,
    Jobs,
    Members,
    Metrics,
    lifecycle_payload,
    spot_payload,
)
from runnerfleet.asgmodel.group import Fleet, FleetConfig, FleetModelError
from runnerfleet.asgmodel.types import CONTINUE, EventKind, FleetEvent, HookConfig
from runnerfleet.drain import DrainAction, DrainLimits, DrainState, Observation, drain_step, record
from runnerfleet.handlers.spot import SpotConfig, SpotDeps, handle_spot
from runnerfleet.ops.drain import Clock, DrainConfig, DrainDeps, handle_terminate

TICK_S = 10.0
MAX_NESTING = 8  # concurrent handler invocations
HOOK_TIMEOUT_S = 600.0
LIMITS = DrainLimits(heartbeat_timeout_s=HOOK_TIMEOUT_S, max_drain_s=3 * 3600)


@dataclass
class Job:
    job_id: int
    started_at: float
    ends_at: float
    instance: str
    status: str = "running"  # running | success | failed
    failure_reason: str | None = None
    retried: bool = False


@dataclass
class Runner:
    """gitlab-runner on one instance, and the drain script once a drain command arrives."""

    instance: str
    slots: int
    accepting: bool = True
    jobs: list[Job] = field(default_factory=list)
    drain_token: str | None = None
    drain: DrainState | None = None
    completed: bool = False  # the drain has nothing left to do
    drains: int = 0


@dataclass
class Tally:
    terminations: dict[str, int] = field(default_factory=dict)
    killed: dict[str, int] = field(default_factory=dict)
    stale_runners: int = 0
    hook_timeouts: int = 0
    duplicate_deliveries: int = 0
    double_drains: int = 0
    jobs_done: int = 0
    long_jobs_done: int = 0  # longer than the hook timeout: only heartbeats protect them
    spot_lost: int = 0
    spot_retried: int = 0
    longest_drain_s: float = 0.0


class World:
    def __init__(
        self,
        *,
        seed: int,
        size: int = 10,
        slots: int = 4,
        hook_timeout_s: float = HOOK_TIMEOUT_S,
        heartbeats: bool = True,
    ) -> None:
        """``heartbeats=False`` plays the seed's drain: unregister first, then wait for the jobs
        without heartbeats until the hook times out."""
        self.rng = random.Random(seed)
        self.now = 0.0
        self.heartbeats = heartbeats
        self.limits = DrainLimits(heartbeat_timeout_s=hook_timeout_s, max_drain_s=3 * 3600)
        config = FleetConfig(
            min_size=0,
            max_size=size * 3,
            desired=size,
            pending_s=60,
            terminating_s=30,
            spot=True,
            capacity_rebalance=True,
            terminate_hook=HookConfig(hook_timeout_s, "ABANDON"),
        )
        self.fleet = Fleet(config, self.now)
        self.slots = slots
        self.runners: dict[str, Runner] = {}
        self.registered: set[str] = set()
        self.jobs: dict[int, Job] = {}
        self.next_job = 1
        self.causes: dict[str, str] = {}  # instance -> why it is terminating
        self.tally = Tally()
        self.records = FakeRecords()
        self.queue: list[FleetEvent] = []
        self.depth = 0
        for status in self.fleet.describe():
            self._boot(status.instance_id)

    # ----- time --------------------------------------------------------------------------

    def advance_to(self, until: float) -> None:
        while self.now < until:
            self.now = min(until, self.now + TICK_S)
            for event in self.fleet.advance(self.now):
                self._on_fleet_event(event)
            for runner in list(self.runners.values()):
                self._tick_runner(runner)
            if self.depth < MAX_NESTING:
                self._deliver()

    def _deliver(self) -> None:
        """Lambdas run concurrently: a handler that sleeps lets the others run meanwhile."""
        while self.queue:
            event = self.queue.pop(0)
            self.depth += 1
            try:
                self._invoke(event)
            finally:
                self.depth -= 1

    # ----- fleet events -------------------------------------------------------------------

    def _on_fleet_event(self, event: FleetEvent) -> None:
        kind = event.kind
        if kind is EventKind.IN_SERVICE:
            self._boot(event.instance_id)
        elif kind is EventKind.TERMINATE_ACTION:
            cause = self.causes.setdefault(event.instance_id, event.detail or "scale-in")
            self.tally.terminations[cause] = self.tally.terminations.get(cause, 0) + 1
            self.queue.append(event)
            if self.rng.random() < 0.2:  # EventBridge delivers at least once
                self.queue.append(event)
                self.tally.duplicate_deliveries += 1
        elif kind is EventKind.SPOT_WARNING:
            self.causes[event.instance_id] = "spot"
            self.queue.append(event)
        elif kind is EventKind.HOOK_TIMEOUT:
            self.tally.hook_timeouts += 1
        elif kind is EventKind.TERMINATED:
            self._gone(event.instance_id)

    def _boot(self, instance: str) -> None:
        self.runners[instance] = Runner(instance, self.slots)
        self.registered.add(instance)

    def _gone(self, instance: str) -> None:
        runner = self.runners.pop(instance, None)
        cause = self.causes.get(instance, "unknown")
        if instance in self.registered:
            self.tally.stale_runners += 1
            self.registered.discard(instance)
        if runner is None:
            return
        for job in runner.jobs:
            if cause == "spot":
                self.tally.spot_lost += 1  # GitLab still shows it running: orphaned
            else:
                job.status, job.failure_reason = "failed", "runner_system_failure"
                self.tally.killed[cause] = self.tally.killed.get(cause, 0) + 1
        if runner.drain is not None:
            self.tally.longest_drain_s = max(
                self.tally.longest_drain_s, self.now - runner.drain.started_at
            )

    # ----- runners --------------------------------------------------------------------------

    def _tick_runner(self, runner: Runner) -> None:
        for job in [j for j in runner.jobs if j.ends_at <= self.now]:
            runner.jobs.remove(job)
            job.status = "success"
            self.tally.jobs_done += 1
            long_job = job.ends_at - job.started_at > self.limits.heartbeat_timeout_s
            if long_job and runner.drain_token:
                self.tally.long_jobs_done += 1
        while runner.accepting and len(runner.jobs) < runner.slots:
            runner.jobs.append(self._new_job(runner.instance))
        if runner.drain_token is not None and not runner.completed:
            self._drain_step(runner)

    def _new_job(self, instance: str) -> Job:
        r = self.rng.random()
        minutes = (
            self.rng.uniform(1, 15)
            if r < 0.7
            else self.rng.uniform(15, 60)
            if r < 0.93
            else self.rng.uniform(60, 150)
        )
        job = Job(self.next_job, self.now, self.now + minutes * 60, instance)
        self.jobs[job.job_id] = job
        self.next_job += 1
        return job

    def _drain_step(self, runner: Runner) -> None:
        """The drain document on the instance: one drain_step after another."""
        assert runner.drain is not None
        kill_at = self.fleet.status(runner.instance).spot_kill_at
        if not self.heartbeats:  # the seed unregisters first
            self.registered.discard(runner.instance)
        for _ in range(8):
            seen = Observation(now=self.now, running_jobs=len(runner.jobs), kill_at=kill_at)
            action = drain_step(runner.drain, seen, self.limits).action
            if action is DrainAction.DONE:
                runner.completed = True
                return
            if action is DrainAction.WAIT or (
                action is DrainAction.HEARTBEAT and not self.heartbeats
            ):
                return  # (the seed's script waits without heartbeats)
            ok = self._apply(runner, action)
            runner.drain = record(runner.drain, action, self.now, ok)

    def _apply(self, runner: Runner, action: DrainAction) -> bool:
        """One step of the drain script; whether it worked."""
        if action is DrainAction.STOP_RUNNER:
            runner.accepting = False
        elif action is DrainAction.UNREGISTER:
            self.registered.discard(runner.instance)
        elif action is DrainAction.ABORT_JOBS:
            self._abort(runner)
        try:
            if action is DrainAction.HEARTBEAT:
                self.fleet.record_heartbeat(runner.instance, self.now)
            elif action is DrainAction.CONTINUE:
                self.fleet.complete_lifecycle_action(runner.instance, CONTINUE, self.now)
        except FleetModelError:  # the action expired: the call fails
            return False
        return True

    def _abort(self, runner: Runner) -> None:
        cause = self.causes.get(runner.instance, "unknown")
        for job in runner.jobs:
            job.status, job.failure_reason = "failed", "runner_system_failure"
            self.tally.killed[cause] = self.tally.killed.get(cause, 0) + 1
        runner.jobs.clear()

    # ----- handlers with fake adapters ------------------------------------------------------

    def _invoke(self, event: FleetEvent) -> None:
        deadline = self.now + 170.0  # a 180 s Lambda timeout
        clock = Clock(now=lambda: self.now, sleep=lambda s: self.advance_to(self.now + s))
        if event.kind is EventKind.TERMINATE_ACTION:
            deps = DrainDeps(self.records, Commands(self), Actions(self), Metrics(), clock)
            cfg = DrainConfig(fleet="bench", document="drain", limits=self.limits, group="bench")
            handle_terminate(lifecycle_payload(event, self), deps, cfg, deadline)
        else:
            deps_s = SpotDeps(
                self.records, Commands(self), Members(self), Metrics(), clock, jobs=Jobs(self)
            )
            spot_cfg = SpotConfig(
                fleet="bench", group="bench", document="spot", retry_lost_jobs=True
            )
            handle_spot(spot_payload(event, self), deps_s, spot_cfg, deadline + 130.0)

    def start_drain(self, instance: str, token: str) -> None:
        runner = self.runners.get(instance)
        if runner is None:
            return
        runner.drains += 1
        if runner.drains > 1:
            self.tally.double_drains += 1
        if runner.drain_token is None:
            runner.drain_token, runner.drain = token, DrainState(started_at=self.now)
