"""The simulated instances' drains: ``runnerfleet.drain.drain_step``, the drain script's policy.

Each node carries its ``DrainState``; the engine steps it on the terminate hook, on a spot warning,
when the instance's last job ends and when the step function asked to be looked at again. What a
drain does to the simulated instance (stop its runner, abort its jobs, hand on the fleet's events,
wake it later) is the engine's, passed in as callables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import CONTINUE, WAITING
from runnerfleet.drain import DrainAction, DrainLimits, DrainState, Observation, drain_step, record
from runnerfleet.scaling.lifecycle import SPOT_NOTICE_S
from runnerfleet.sim.model import Node

A = DrainAction


@dataclass(frozen=True)
class SimDrains:
    fleet: Fleet
    limits: DrainLimits
    stop_taking_jobs: Callable[[Node], None]
    abort_jobs: Callable[[Node], None]
    fleet_moved: Callable[[], object]  # hand the fleet's new events to the engine
    look_again: Callable[[Node, float], None]

    def start(self, node: Node, now: float) -> None:
        """The terminate lifecycle action reached the instance."""
        node.drain = DrainState(started_at=now)
        self.step(node, now)

    def spot_warned(self, node: Node, now: float, warned_at: float) -> None:
        """Two minutes' notice; without a terminate hook behind it, nothing to complete."""
        node.spot_warned = True
        node.kill_at = warned_at + SPOT_NOTICE_S
        if node.drain is None:
            node.drain = DrainState(started_at=now, lifecycle_action=False)
        self.step(node, now)

    def step(self, node: Node, now: float) -> None:
        """Carry out the drain's steps until it waits; look again when it says."""
        while node.drain is not None:
            seen = Observation(now=now, running_jobs=node.running, kill_at=node.kill_at)
            decision = drain_step(node.drain, seen, self.limits)
            action = decision.action
            if action is A.DONE:
                node.drain = None
            elif action is A.WAIT:
                if decision.next_check_at is not None:
                    self.look_again(node, decision.next_check_at)
                return
            else:
                ok = self._act(node, action, now)
                if node.drain is not None:
                    node.drain = record(node.drain, action, now, ok)

    def _act(self, node: Node, action: DrainAction, now: float) -> bool:
        """One step of the drain script on the simulated instance; whether it worked."""
        iid = node.instance_id
        if action is A.STOP_RUNNER:
            self.stop_taking_jobs(node)
        elif action is A.ABORT_JOBS:
            self.abort_jobs(node)
        elif action in (A.HEARTBEAT, A.CONTINUE):
            if self.fleet.state_of(iid) not in WAITING:
                return False  # the action is gone: AWS would answer ValidationError
            if action is A.HEARTBEAT:
                self.fleet.record_heartbeat(iid, now)
            else:
                self.fleet.complete_lifecycle_action(iid, CONTINUE, now)
                self.fleet_moved()
        return True  # sending is instant; unregistering changes nothing the simulator measures
