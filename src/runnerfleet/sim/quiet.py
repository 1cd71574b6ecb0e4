"""Quiet time: when the simulator may pass over an evaluation, knowing it would change nothing.

After an evaluation that made no call, the next ones make no call either while the fleet has
had no event, the clock has not reached ``scaling.stable_until`` and what the evaluation reads
of the runners and the queue has not changed in a way ``decide`` can tell: the same InService
runners busy, and the policy's ``demand`` (running and pending jobs) within
``scaling.stable.hold_band``. Without a band (a schedule) only the very same observations
count. Tests compare whole runs with and without skipping: identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runnerfleet.scaling.policies import Policy, Schedule
from runnerfleet.scaling.stable import demand, hold_band, stable_until
from runnerfleet.scaling.types import FleetSnapshot, LifecycleState
from runnerfleet.sim.model import Node


@dataclass(frozen=True, slots=True)
class Quiet:
    """What a cycle that made no call saw, and until when its verdict lasts."""

    fleet_events: int  # the fleet's event count then
    ids: tuple[str, ...]  # the InService instances it scraped
    running: tuple[int, ...]  # their running jobs
    queued: int
    band: tuple[int, int] | None
    until: float

    @classmethod
    def after(
        cls, snapshot: FleetSnapshot, policy: Policy, fleet_events: int, queued: int
    ) -> Quiet:
        seen = [i for i in snapshot.instances if i.state == LifecycleState.IN_SERVICE]
        band = hold_band(snapshot, policy)
        return cls(
            fleet_events,
            tuple(i.instance_id for i in seen),
            tuple(i.running_jobs or 0 for i in seen),
            queued,
            None if band is None else band[:2],
            stable_until(snapshot, policy) if band is None else band[2],
        )

    def holds(
        self,
        policy: Policy,
        now: float,
        fleet_events: int,
        nodes: Mapping[str, Node],
        queued: int,
    ) -> bool:
        """Would an evaluation now, with these runners and this queue, make no call either?"""
        if now >= self.until or fleet_events != self.fleet_events:
            return False
        running = tuple(nodes[i].running for i in self.ids)
        if running == self.running and queued == self.queued:
            return True
        if self.band is None or isinstance(policy, Schedule):
            return False
        if any((a > 0) != (b > 0) for a, b in zip(running, self.running, strict=True)):
            return False  # a runner became busy or idle: protection and idle tags change
        low, high = self.band
        return low <= demand(policy, sum(running), queued) <= high
