"""The discrete-event simulation: a trace, a policy and a fleet, deterministic for a seed.

One heap of events ``(time, kind, seq, payload)``; at equal times the kind orders them (fleet
transitions, then job completions, arrivals, runner polls, and the autoscaler last, so it sees
the state of that instant). The fleet is ``runnerfleet.asgmodel.Fleet`` (the shared Auto
Scaling model) and every evaluation is the Lambda's own ``scaling.evaluation.evaluate_group``
(observe -> decide -> apply) over the simulator's ports (``sim.autoscaler``).

The instance bootstrap is modelled as a launch lifecycle hook that the bootstrap completes once
the runner is registered: booting instances are ``Pending:Wait``, capacity on the way. Drain is
``runnerfleet.drain.drain_step``, the drain script's own policy, per instance: on the terminate
hook (or a spot warning) the runner stops taking jobs, heartbeats while jobs run, aborts them once
``max_drain_s`` is spent and completes the action with CONTINUE; the engine looks again when the
step function says (``next_check_at``) or when the instance's last job ends.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import (
    CONTINUE,
    EventKind,
    FleetConfig,
    FleetEvent,
    HookConfig,
    WarmPoolConfig,
)
from runnerfleet.drain import DrainLimits
from runnerfleet.scaling import LifecycleState, parse_state
from runnerfleet.scaling.evaluation import Cycle, evaluate_group
from runnerfleet.scaling.lifecycle import MAX_HEARTBEAT_TIMEOUT_S
from runnerfleet.sim.autoscaler import SimGroup, SimRunners
from runnerfleet.sim.catalog import SimPolicy
from runnerfleet.sim.draining import SimDrains
from runnerfleet.sim.model import Node, SimConfig, SimRun, Timeline, decision_record
from runnerfleet.sim.quiet import Quiet
from runnerfleet.sim.report import peak_running
from runnerfleet.sim.trace import Trace

# event kinds, in tie-break order
FLEET, DONE, ARRIVE, POLL, BOOTED, DRAIN, SPOT, EVAL, TICK = range(9)
L = LifecycleState


def simulate(trace: Trace, policy: SimPolicy, config: SimConfig) -> SimRun:
    """Replay ``trace`` through ``policy``; the same inputs always give the same run."""
    return Simulation(trace, policy, config).run()


def default_max_size(static_size: int) -> int:
    return max(4, 2 * static_size)


class Simulation:
    def __init__(self, trace: Trace, policy: SimPolicy, config: SimConfig) -> None:
        self.trace, self.policy, self.cfg = trace, policy, config
        self.rng = random.Random(config.seed)  # noqa: S311  (a simulation, not crypto)
        self.now = trace.start
        self.heap: list[tuple[float, int, int, int | str]] = []
        self.seq = 0
        self.queue: deque[int] = deque()
        self.nodes: dict[str, Node] = {}
        self.free: dict[str, Node] = {}  # ready nodes with a free slot
        self.job_node: list[Node | None] = [None] * len(trace)
        self.started = bytearray(len(trace))
        self.done = 0
        self.running = 0
        self.eval_pending = False
        self.last_eval = -math.inf
        self.out = SimRun(policy, config, len(trace), start=trace.start)
        if config.record_timeline:
            self.out.timeline = Timeline()
        if config.record_decisions:
            self.out.decisions = []
        self.fleet = self._new_fleet()
        self.fleet_events = 0
        #: what the last evaluation that changed nothing saw (``sim.quiet``)
        self.quiet: Quiet | None = None
        self.limit = trace.end + config.horizon_s  # nothing happens after this
        self.fleet_wake = math.inf
        self.drains = self._drains()
        self.group = SimGroup(self.fleet, "simulated-runners")
        self.runners = self._runners()
        #: one evaluation at a time; the equivalence test swaps in the Lambda's real adapters
        self.evaluator: Callable[[float], Cycle] = self._evaluate_with_sim_ports
        for status in self.fleet.describe():
            if status.state is not L.IN_SERVICE:
                continue  # the warm pool's first instances: their launch events follow
            node = Node(status.instance_id, trace.start)
            self.nodes[node.instance_id] = node
            self._runner_up(node)
        self._pump()

    def _drains(self) -> SimDrains:
        cfg = self.cfg
        limits = DrainLimits(
            heartbeat_timeout_s=cfg.heartbeat_timeout_s, max_drain_s=cfg.max_drain_s
        )
        return SimDrains(
            self.fleet,
            limits,
            stop_taking_jobs=self._stop_taking_jobs,
            abort_jobs=lambda node: self._kill_jobs(node, retry=False),
            fleet_moved=self._pump,
            look_again=self._look_again,
        )

    def _runners(self) -> SimRunners:
        return SimRunners(
            self._running_on,
            self.cfg.slots,
            lambda: len(self.queue),
            self.cfg.scrape_failure_rate,
            random.Random(self.cfg.seed + 1),  # noqa: S311 (its own stream: boots stay the same)
        )

    def _new_fleet(self) -> Fleet:
        """The simulated group (``sim.twogroups`` puts a spot group behind it)."""
        return Fleet(self._fleet_config(), self.trace.start)

    def _fleet_config(self) -> FleetConfig:
        cfg, pol = self.cfg, self.policy
        if pol.policy is None:
            n = pol.static_size
            return FleetConfig(
                min_size=n, max_size=n, desired=n, spot=cfg.spot_interruptions_per_hour > 0
            )
        size = cfg.max_size
        if size is None:
            size = default_max_size(math.ceil(peak_running(self.trace) / cfg.slots))
        launch_timeout = min(MAX_HEARTBEAT_TIMEOUT_S, max(600.0, 4 * cfg.boot.cold_s))
        pool = None
        if cfg.warm_pool:
            pool = WarmPoolConfig(min_size=cfg.warm_pool, max_group_prepared_capacity=0)
        return FleetConfig(
            min_size=pol.min_size,
            max_size=max(size, pol.min_size),
            desired=pol.min_size,
            launch_hook=HookConfig(launch_timeout, "ABANDON"),
            terminate_hook=HookConfig(cfg.heartbeat_timeout_s, CONTINUE),
            warm_pool=pool,
            spot=cfg.spot_interruptions_per_hour > 0,
        )

    # ----- the loop -----------------------------------------------------------------------

    def push(self, at: float, kind: int, payload: int | str) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, kind, self.seq, payload))

    def run(self) -> SimRun:
        trace, heap = self.trace, self.heap
        n = len(trace)  # negative sequence numbers keep arrivals in file order
        heap.extend((a, ARRIVE, i - n, i) for i, a in enumerate(trace.arrivals))
        heapq.heapify(heap)
        self.push(trace.start, TICK, 0)
        limit = self.limit
        check = self.cfg.check_invariants
        pop = heapq.heappop
        while heap and self.done < self.out.jobs:
            at, kind, _, payload = pop(heap)
            if at > limit:
                break
            if check and at > self.now:
                self.assert_invariants()
            self.now = at
            self._dispatch(kind, payload)
        return self._finish()

    def _dispatch(self, kind: int, payload: int | str) -> None:
        if kind == DONE:
            self._job_done(int(payload))
        elif kind == ARRIVE:
            self._arrive(int(payload))
        elif kind == POLL:
            self._poll(str(payload))
        elif kind == TICK:
            self._next_tick(self._evaluate())
        elif kind == FLEET:
            self.fleet_wake = math.inf
            self._pump()
        elif kind == EVAL:
            self.eval_pending = False
            self._evaluate()
        else:
            self._instance_timer(kind, str(payload))

    def _finish(self) -> SimRun:
        out, end = self.out, self.now
        out.unserved = out.jobs - self.done
        out.end = end
        out.billed_s = self.fleet.billed_seconds(end, 60.0)
        for node in self.nodes.values():  # jobs cut off at the horizon ran until then
            out.busy_s += sum(end - start for start in node.jobs.values())
        return out

    # ----- jobs and runners ---------------------------------------------------------------

    def _arrive(self, job: int) -> None:
        self.queue.append(job)
        self._offer()
        delay = self.cfg.webhook_delay_s
        if delay is not None and not self.eval_pending:
            at = max(self.now + delay, self.last_eval + self.cfg.webhook_min_gap_s)
            self.eval_pending = True
            self.push(at, EVAL, 0)

    def _offer(self) -> None:
        """Free slots on ready runners will take queued jobs at their next poll."""
        if not self.queue:
            return
        c = self.cfg.check_interval_s
        for node in self.free.values():
            if node.poll_at is None:
                k = math.ceil((self.now - node.phase) / c) if c > 0 else 0
                node.poll_at = max(self.now, node.phase + k * c)
                self.push(node.poll_at, POLL, node.instance_id)

    def _poll(self, instance_id: str) -> None:
        node = self.nodes.get(instance_id)
        if node is None or node.poll_at != self.now:
            return
        node.poll_at = None
        if not node.ready:
            return
        trace, queue = self.trace, self.queue
        while queue and node.running < self.cfg.slots:
            job = queue.popleft()
            node.jobs[job] = self.now
            node.running += 1
            self.running += 1
            self.job_node[job] = node
            if not self.started[job]:
                self.started[job] = 1
                self.out.waits.append(self.now - trace.arrivals[job])
            self.push(self.now + trace.durations[job], DONE, job)
        if node.running >= self.cfg.slots:
            self.free.pop(instance_id, None)

    def _job_done(self, job: int) -> None:
        node = self.job_node[job]
        if node is None or job not in node.jobs:
            return  # the job was killed with its instance
        self.out.busy_s += self.now - node.jobs.pop(job)
        node.running -= 1
        self.running -= 1
        self.done += 1
        if node.ready:
            self.free[node.instance_id] = node
            self._offer()
        elif node.drain is not None and node.running == 0:
            self.drains.step(node, self.now)

    def _runner_up(self, node: Node) -> None:
        node.ready = True
        c = self.cfg.check_interval_s
        node.phase = self.now + (self.rng.random() * c if c > 0 else 0.0)
        self.free[node.instance_id] = node
        rate = self.cfg.spot_interruptions_per_hour
        if rate > 0:
            self.push(self.now + self.rng.expovariate(rate / 3600.0), SPOT, node.instance_id)
        self._offer()

    def _stop_taking_jobs(self, node: Node) -> None:
        node.ready = False
        self.free.pop(node.instance_id, None)

    # ----- the autoscaler -----------------------------------------------------------------

    def _running_on(self, instance_id: str) -> int:
        node = self.nodes.get(instance_id)
        return 0 if node is None else node.running

    def _evaluate_with_sim_ports(self, now: float) -> Cycle:
        policy = self.policy.policy
        assert policy is not None
        self.group.now = now
        return evaluate_group(self.group, self.runners, self.group.name, policy, now)

    def _evaluate(self) -> float | None:
        """One evaluation; returns until when the same observations would change nothing
        (None: this one changed something, or cannot say)."""
        timeline = self.out.timeline
        if timeline is not None:
            self._sample(timeline)
        if self.policy.policy is None:
            return math.inf  # the static fleet has no autoscaler
        self.last_eval = self.now
        self.out.evaluations += 1
        policy, quiet = self.policy.policy, self.quiet
        if quiet is not None and quiet.holds(
            policy, self.now, self.fleet_events, self.nodes, len(self.queue)
        ):
            return quiet.until  # observations that make the same no-call decision
        cycle = self.evaluator(self.now)
        decision, report = cycle.decision, cycle.report
        if report is not None and report.changed:
            if decision.action == "scale_out":
                self.out.scale_out += 1
            elif decision.action == "scale_in":
                self.out.scale_in += 1
        if self.out.decisions is not None:
            self.out.decisions.append(decision_record(self.now, cycle))
        moved = self._pump()  # the fleet moved after the snapshot: the next cycle sees it
        self.quiet = None
        if report is None or report.calls or report.errors or moved or not self._may_skip():
            return None
        self.quiet = Quiet.after(cycle.snapshot, policy, self.fleet_events, len(self.queue))
        return self.quiet.until

    # ----- quiet time ---------------------------------------------------------------------

    def _may_skip(self) -> bool:
        cfg = self.cfg
        return cfg.skip_quiet and self.out.decisions is None and not cfg.scrape_failure_rate

    def _next_tick(self, stable: float | None) -> None:
        """Schedule the next tick, passing over the ones that would change nothing.

        An evaluation that changed nothing is followed by identical ones until an event of
        any other kind, or until the decision may change with the clock alone
        (``scaling.stable_until``). Those ticks are accounted exactly as if they had run:
        evaluations, timeline samples, the webhook's last evaluation, the clock.
        """
        tick = self.cfg.tick_s
        at = self.now + tick
        until = -math.inf
        if stable is not None and self._may_skip():
            until = min(self.heap[0][0] if self.heap else math.inf, stable)
        if at < until and at <= self.limit:
            sample = self._timeline_row() if self.out.timeline is not None else None
            while at < until and at <= self.limit:
                self._pass_tick(at, sample)
                at = self.now + tick
        self.push(at, TICK, 0)

    def _pass_tick(self, at: float, sample: tuple[float, float, float, float] | None) -> None:
        self.now = at
        if sample is not None and self.out.timeline is not None:
            self._append_sample(self.out.timeline, sample)
        if self.policy.policy is not None:
            self.last_eval = at
            self.out.evaluations += 1

    def _sample(self, timeline: Timeline) -> None:
        self._append_sample(timeline, self._timeline_row())

    def _timeline_row(self) -> tuple[float, float, float, float]:
        """(running, queued, billed instances, ready runners) now."""
        states = [s.state for s in self.fleet.describe()]
        billed = sum(1 for st in states if st is not L.WARMED_STOPPED)
        ready = sum(1 for n in self.nodes.values() if n.ready)
        return (self.running, len(self.queue), billed, ready)

    def _append_sample(self, timeline: Timeline, row: tuple[float, float, float, float]) -> None:
        timeline.t.append(self.now)
        for column, value in zip(
            (timeline.running, timeline.queued, timeline.instances, timeline.ready),
            row,
            strict=True,
        ):
            column.append(value)

    # ----- the fleet ----------------------------------------------------------------------

    def _pump(self) -> bool:
        """Hand the fleet's events to their handlers until it has nothing more to say;
        True when there were any."""
        fleet, handled = self.fleet, False
        while events := fleet.advance(self.now):
            handled = True
            for event in events:
                self._fleet_event(event)
        due = fleet.next_due()
        if due is not None and due < self.fleet_wake:
            self.fleet_wake = due
            self.push(due, FLEET, 0)
        return handled

    def _fleet_event(self, event: FleetEvent) -> None:
        self.fleet_events += 1
        kind, iid = event.kind, event.instance_id
        node = self.nodes.get(iid)
        if kind is EventKind.LAUNCHING:
            if node is None:
                self.nodes[iid] = Node(iid, self.now)
            self.out.launches += 1
        elif node is None:
            return
        elif kind is EventKind.LAUNCH_ACTION:
            warm = event.origin == "WarmPool"
            self.push(self.now + self.cfg.boot.sample(self.rng, warm=warm), BOOTED, iid)
        elif kind is EventKind.IN_SERVICE:
            self._runner_up(node)
        elif kind is EventKind.TERMINATE_ACTION:
            self.drains.start(node, self.now)
        elif kind is EventKind.SPOT_WARNING:
            self.drains.spot_warned(node, self.now, event.at)
        elif kind is EventKind.HOOK_TIMEOUT:
            self.out.hook_timeouts += 1
        elif kind is EventKind.TERMINATED:
            self._instance_gone(node)

    def _look_again(self, node: Node, at: float) -> None:
        if at != node.drain_wake:
            node.drain_wake = at
            self.push(at, DRAIN, node.instance_id)

    def _instance_gone(self, node: Node) -> None:
        retry = self.cfg.retry_lost_jobs and node.spot_warned
        self._kill_jobs(node, retry=retry)
        self.nodes.pop(node.instance_id, None)
        self.group.forget(node.instance_id)
        self.free.pop(node.instance_id, None)
        self.out.terminations += 1
        if retry:
            self._offer()

    def _kill_jobs(self, node: Node, *, retry: bool) -> None:
        """Jobs that die with their runner; GitLab retries them when ``retry``."""
        for job, start in sorted(node.jobs.items()):
            self.out.killed += 1
            self.out.busy_s += self.now - start
            self.running -= 1
            if retry:
                self.queue.append(job)
            else:
                self.done += 1
        node.jobs.clear()
        node.running = 0

    def _instance_timer(self, kind: int, instance_id: str) -> None:
        node = self.nodes.get(instance_id)
        if node is None:
            return
        fleet, state = self.fleet, self.fleet.state_of(instance_id)
        if kind == BOOTED and state in (
            L.PENDING_WAIT,
            L.WARMED_PENDING_WAIT,
        ):
            if node.drain is None:
                fleet.complete_lifecycle_action(instance_id, CONTINUE, self.now)
        elif kind == DRAIN and node.drain_wake == self.now:
            node.drain_wake = None
            self.drains.step(node, self.now)
        elif kind == SPOT and state not in (L.TERMINATED,):
            fleet.interrupt_spot(instance_id, self.now)
        self._pump()

    # ----- checks -------------------------------------------------------------------------

    def assert_invariants(self) -> None:
        """No job waits while a free slot on a ready runner exists (beyond one poll interval)."""
        if not self.queue:
            return
        c = self.cfg.check_interval_s
        for node in self.nodes.values():
            if node.ready and node.running < self.cfg.slots:
                assert node.poll_at is not None and node.poll_at <= self.now + c, (
                    f"t={self.now}: {len(self.queue)} job(s) queued while {node.instance_id} "
                    f"has {self.cfg.slots - node.running} free slot(s) and no poll due"
                )


__all__ = ["Simulation", "default_max_size", "parse_state", "simulate"]
