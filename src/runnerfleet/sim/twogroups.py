"""The warm on-demand group in front, a spot overflow group behind: two groups, one autoscaler.

AWS refuses a warm pool on a spot (mixed instances) group, so ``capacity.overflow`` deploys two
groups (docs/image.md). This is that pattern in the simulator:

* the warm group (``simulated-runners``) is the engine's own: on-demand, its warm pool of
  stopped, pre-registered instances (``SimConfig.warm_pool``), whose starts take the boot
  profile's warm time;
* the overflow group (``simulated-overflow``) launches spot instances, each booting fresh with
  its own profile (cold or baked), interrupted at ``interruptions_per_hour`` per instance-hour
  in service: a two-minute warning, capacity rebalancing (the terminate hook, the drain and a
  replacement at once), then EC2 takes the instance whatever runs on it;
* one evaluation sees both as one fleet through ``scaling.overflow.WarmFirst``, the very split
  the autoscaler Lambda uses: a scale-out fills the warm group first, up to its maximum, and the
  rest goes to the spot group; a scale-in lowers the spot group first.

Jobs an interruption kills are retried when ``SimConfig.retry_lost_jobs`` (the environment's
``drain.retry_lost_jobs``: GitLab retries a job whose runner vanished, once the spot function
cancels it) and counted either way. The cost prices each group on its own: on-demand hours,
spot hours, and every stopped warm instance's EBS volume.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, replace

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import (
    EventKind,
    FleetConfig,
    FleetEvent,
    HookConfig,
    InstanceStatus,
)
from runnerfleet.errors import SpecError
from runnerfleet.scaling import LifecycleState
from runnerfleet.scaling.evaluation import Cycle, evaluate_group
from runnerfleet.scaling.lifecycle import MAX_HEARTBEAT_TIMEOUT_S
from runnerfleet.scaling.observe import GroupState
from runnerfleet.scaling.overflow import WarmFirst
from runnerfleet.sim.autoscaler import SimGroup
from runnerfleet.sim.boot_profiles import PRESETS
from runnerfleet.sim.catalog import SimPolicy
from runnerfleet.sim.engine import BOOTED, SPOT, Simulation
from runnerfleet.sim.model import BootProfile, Node, SimConfig, SimRun, Timeline
from runnerfleet.sim.trace import Trace

WARM_GROUP, OVERFLOW_GROUP = "simulated-runners", "simulated-overflow"
SPOT_PREFIX = "s-"  # the overflow group's instance ids
#: a stopped instance pays its EBS volume only: 100 GB gp3 at 0.08 USD per GB-month, 730 h
EBS_PER_HOUR = 100 * 0.08 / 730
#: spot against on-demand: AWS advertises "up to 90%" off; a third of the on-demand price is
#: a common price-capacity-optimized figure over several current types (an assumption)
SPOT_PRICE_FACTOR = 1 / 3


def is_spot(instance_id: str) -> bool:
    return instance_id.startswith(SPOT_PREFIX)


@dataclass(frozen=True, slots=True)
class Overflow:
    """The spot group behind the warm one (``capacity.overflow``)."""

    max_size: int
    boot: BootProfile = PRESETS["baked"]  # a fresh spot launch
    interruptions_per_hour: float = 0.0  # per instance-hour in service
    price_per_hour: float = 0.0416 * SPOT_PRICE_FACTOR
    stopped_price_per_hour: float = EBS_PER_HOUR  # each stopped warm-pool instance
    capacity_rebalance: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.max_size < 0:  # 0: the warm group alone, its stopped instances priced
            problems.append("--overflow-max cannot be negative")
        rates = (self.interruptions_per_hour, self.price_per_hour, self.stopped_price_per_hour)
        if any(not math.isfinite(v) or v < 0 for v in rates):
            problems.append("spot rates and prices must be finite and not negative")
        if problems:
            raise SpecError(
                "invalid overflow group",
                problems=problems,
                hint="see `runnerfleet simulate --help` and docs/simulator.md (two groups)",
            )


@dataclass(slots=True)
class OverflowTally:
    """What the two-group run measured beyond ``SimRun``."""

    warm_billed_s: float = 0.0
    spot_billed_s: float = 0.0
    stopped_s: float = 0.0  # warm-pool instance-seconds spent stopped
    spot_launches: int = 0
    interruptions: int = 0
    jobs_retried: int = 0  # killed by an interruption, back in GitLab's queue
    jobs_lost: int = 0  # killed by an interruption, not retried


@dataclass(frozen=True, slots=True)
class TwoGroupRun:
    run: SimRun
    overflow: Overflow
    tally: OverflowTally
    #: the spot group's billed instances at each of ``run.timeline``'s samples (with it)
    spot_instances: array[float] | None = None

    @property
    def cost(self) -> float:
        t, o, price = self.tally, self.overflow, self.run.config.price_per_hour
        return (
            t.warm_billed_s * price
            + t.spot_billed_s * o.price_per_hour
            + t.stopped_s * o.stopped_price_per_hour
        ) / 3600.0


def simulate_two_groups(
    trace: Trace, policy: SimPolicy, config: SimConfig, overflow: Overflow
) -> TwoGroupRun:
    """Replay ``trace`` through the warm group plus spot overflow; deterministic for a seed."""
    sim = TwoGroupSimulation(trace, policy, config, overflow)
    run = sim.run()
    spot = sim.spot_samples if run.timeline is not None else None
    return TwoGroupRun(run, overflow, sim.tally, spot)


class FleetPair(Fleet):
    """The warm group (this ``Fleet``) with the spot group behind it (``overflow``).

    The engine and the drains address instances by id; each call reaches the group that holds
    the instance, and ``advance`` hands on both groups' events in time order. ``members``,
    ``desired`` and the sizes stay the warm group's own: each group has its ``SimGroup``.
    """

    def __init__(self, warm: FleetConfig, overflow: FleetConfig, now: float) -> None:
        super().__init__(warm, now)
        numbers = itertools.count(1)
        self.overflow = Fleet(overflow, now, new_id=lambda: f"{SPOT_PREFIX}{next(numbers)}")

    def advance(self, now: float) -> list[FleetEvent]:
        events = super().advance(now) + self.overflow.advance(now)
        return sorted(events, key=lambda e: e.at)

    def next_due(self) -> float | None:
        dues = [d for d in (super().next_due(), self.overflow.next_due()) if d is not None]
        return min(dues, default=None)

    def describe(self) -> tuple[InstanceStatus, ...]:
        return super().describe() + self.overflow.describe()

    def state_of(self, instance_id: str) -> LifecycleState:
        if is_spot(instance_id):
            return self.overflow.state_of(instance_id)
        return super().state_of(instance_id)

    def complete_lifecycle_action(self, instance_id: str, result: str, now: float) -> None:
        if is_spot(instance_id):
            self.overflow.complete_lifecycle_action(instance_id, result, now)
        else:
            super().complete_lifecycle_action(instance_id, result, now)

    def record_heartbeat(self, instance_id: str, now: float) -> None:
        if is_spot(instance_id):
            self.overflow.record_heartbeat(instance_id, now)
        else:
            super().record_heartbeat(instance_id, now)

    def interrupt_spot(self, instance_id: str, now: float) -> None:
        self.overflow.interrupt_spot(instance_id, now)  # only spot instances are reclaimed

    def warm_billed_seconds(self, now: float) -> float:
        return super().billed_seconds(now, 60.0)

    def billed_seconds(self, now: float, minimum_s: float = 60.0) -> float:
        return super().billed_seconds(now, minimum_s) + self.overflow.billed_seconds(now, minimum_s)


class PairPort:
    """``GroupObserver`` over both groups' ports, each call to the group it names or holds
    the instance; ``WarmFirst`` on top makes them one fleet."""

    def __init__(self, warm: SimGroup, spot: SimGroup) -> None:
        self._warm, self._spot = warm, spot

    def _named(self, group: str) -> SimGroup:
        return self._spot if group == self._spot.name else self._warm

    def _holding(self, instance_id: str) -> SimGroup:
        return self._spot if is_spot(instance_id) else self._warm

    def observe(self, group_name: str) -> GroupState:
        return self._named(group_name).observe(group_name)

    def set_protection(self, group: str, instance_ids: Sequence[str], protected: bool) -> None:
        self._named(group).set_protection(group, instance_ids, protected)

    def terminate(self, instance_id: str) -> None:
        self._holding(instance_id).terminate(instance_id)

    def set_desired(self, group: str, desired: int) -> None:
        self._named(group).set_desired(group, desired)

    def tag_group(self, group: str, key: str, value: str) -> None:
        self._named(group).tag_group(group, key, value)

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        for port in (self._warm, self._spot):
            mine = [iid for iid in instance_ids if self._holding(iid) is port]
            if mine:
                port.tag_instances(mine, key, value)


class TwoGroupSimulation(Simulation):
    """``Simulation`` with the spot group behind the warm one (module docstring)."""

    def __init__(
        self, trace: Trace, policy: SimPolicy, config: SimConfig, overflow: Overflow
    ) -> None:
        if policy.policy is None:
            raise SpecError(
                f"policy {policy.label}: the warm group plus spot overflow needs an autoscaler",
                hint="choose a scaling policy (queue, idle, seed), not static",
            )
        if config.spot_interruptions_per_hour:
            raise SpecError(
                "the warm group is on-demand: spot interruptions are the overflow group's",
                hint="give the rate to the overflow group (--spot-rate with --overflow-max)",
            )
        self.spec, self.tally = overflow, OverflowTally()
        self.spot_samples: array[float] = array("d")  # beside the timeline, when recorded
        self._spot_billed = 0.0
        self._stopped = (trace.start, 0)  # since when, how many warm instances are stopped
        super().__init__(trace, policy, config)
        assert isinstance(self.fleet, FleetPair)
        self.pair = self.fleet
        self.spot_group = SimGroup(self.pair.overflow, OVERFLOW_GROUP)
        self.port = WarmFirst(
            PairPort(self.group, self.spot_group), self.group.name, OVERFLOW_GROUP
        )
        self.evaluator = self._evaluate_two_groups

    def _new_fleet(self) -> Fleet:
        warm = self._fleet_config()
        launch_timeout = min(MAX_HEARTBEAT_TIMEOUT_S, max(600.0, 4 * self.spec.boot.cold_s))
        spot = replace(
            warm, min_size=0, desired=0, max_size=self.spec.max_size, warm_pool=None,
            launch_hook=HookConfig(launch_timeout, "ABANDON"), spot=True,
            capacity_rebalance=self.spec.capacity_rebalance,
        )  # fmt: skip
        return FleetPair(warm, spot, self.trace.start)

    def _evaluate_two_groups(self, now: float) -> Cycle:
        policy = self.policy.policy
        assert policy is not None
        self.group.now = self.spot_group.now = now
        return evaluate_group(self.port, self.runners, self.group.name, policy, now)

    def _fleet_event(self, event: FleetEvent) -> None:
        kind, iid = event.kind, event.instance_id
        if is_spot(iid):
            if kind is EventKind.LAUNCH_ACTION and iid in self.nodes:
                self.fleet_events += 1  # a fresh spot instance boots on its own profile
                self.push(self.now + self.spec.boot.sample(self.rng, warm=False), BOOTED, iid)
                return
            if kind is EventKind.LAUNCHING:
                self.tally.spot_launches += 1
            elif kind is EventKind.SPOT_WARNING:
                self.tally.interruptions += 1
        super()._fleet_event(event)

    def _runner_up(self, node: Node) -> None:
        super()._runner_up(node)
        rate = self.spec.interruptions_per_hour
        if rate > 0 and is_spot(node.instance_id):
            self.push(self.now + self.rng.expovariate(rate / 3600.0), SPOT, node.instance_id)

    def _instance_gone(self, node: Node) -> None:
        if node.spot_warned and node.jobs:
            if self.cfg.retry_lost_jobs:
                self.tally.jobs_retried += len(node.jobs)
            else:
                self.tally.jobs_lost += len(node.jobs)
        super()._instance_gone(node)
        self.spot_group.forget(node.instance_id)

    def _timeline_row(self) -> tuple[float, float, float, float]:
        self._spot_billed = float(len(self.pair.overflow.members()))  # no warm pool: all billed
        return super()._timeline_row()

    def _append_sample(self, timeline: Timeline, row: tuple[float, float, float, float]) -> None:
        super()._append_sample(timeline, row)  # a passed tick repeats the row it was given,
        self.spot_samples.append(self._spot_billed)  # and the spot count made with it

    def _pump(self) -> bool:
        moved = super()._pump()
        self._count_stopped()
        return moved

    def _count_stopped(self) -> None:
        """Integrate the warm pool's stopped instances over time (their EBS is billed)."""
        since, count = self._stopped
        self.tally.stopped_s += count * (self.now - since)
        stopped = LifecycleState.WARMED_STOPPED
        now_count = sum(1 for m in self.fleet.members() if m[1] is stopped)
        self._stopped = (self.now, now_count)

    def _finish(self) -> SimRun:
        out = super()._finish()
        self._count_stopped()
        self.tally.warm_billed_s = self.pair.warm_billed_seconds(out.end)
        self.tally.spot_billed_s = self.pair.overflow.billed_seconds(out.end, 60.0)
        return out
