"""How long a decision holds: ``decide()`` on the same observations made again later.

Observed again, every instance reads the same running jobs, freshly scraped; only the clock
has moved. ``decide`` then reads the clock in two places: the scale-in cooldown and how long
an instance has been idle; a schedule also reads it through its cron periods. Each is a
threshold that, once crossed, stays crossed, so the decision stays the same until the
earliest threshold ahead. The simulator uses this to skip
quiet time exactly: when an evaluation changed nothing and nothing else happens before that
time, every evaluation in between would change nothing either.

``hold_band`` widens "the same observations": while the instances, their states and which of
them are busy stay the same, the decision reads running and pending jobs only through one
number, the policy's ``demand``, and makes no call again as long as that number stays within
the band (no scale-out above it, no room for a scale-in below it).
"""

from __future__ import annotations

import math

from runnerfleet.scaling.decide import in_cooldown, required_slots
from runnerfleet.scaling.fleet import FleetView, view_of
from runnerfleet.scaling.policies import (
    BasePolicy,
    HeadroomPolicy,
    Policy,
    Schedule,
    scale_in_idle_s,
)
from runnerfleet.scaling.schedule import active_policy
from runnerfleet.scaling.types import FleetSnapshot, LifecycleState


def stable_until(snapshot: FleetSnapshot, policy: Policy) -> float:
    """The earliest time after ``snapshot.now`` at which the same observations, made again,
    may get a different decision from ``decide``; ``math.inf`` when never."""
    now = snapshot.now
    if isinstance(policy, Schedule):
        active, _ = active_policy(policy, now)
        minute = (math.floor(now / 60.0) + 1) * 60.0  # a period may start with any minute
        return min(minute, stable_until(snapshot, active))
    ahead = [t + policy.cooldown_s for t in _scale_times(snapshot)]
    idle_time = 0.0 if isinstance(policy, HeadroomPolicy) else scale_in_idle_s(policy)
    for instance in snapshot.instances:
        if instance.state != LifecycleState.IN_SERVICE:
            continue
        if instance.running_jobs == 0:
            start = instance.idle_since
            ahead.append((instance.launched_at if start is None else start) + idle_time)
    return min((t for t in ahead if t > now), default=math.inf)


def _scale_times(snapshot: FleetSnapshot) -> list[float]:
    return [t for t in (snapshot.last_scale_in_at, snapshot.last_scale_out_at) if t is not None]


def demand(policy: BasePolicy, running: int, pending_jobs: int | None) -> int:
    """The one number through which ``decide`` reads running and pending jobs, in job slots:
    the seed's running + headroom, the idle and queue policies' required slots. It never
    decreases when running or pending jobs grow."""
    if isinstance(policy, HeadroomPolicy):
        return running + policy.headroom_jobs
    return required_slots(policy, running, pending_jobs)


def hold_band(snapshot: FleetSnapshot, policy: Policy) -> tuple[int, int, float] | None:
    """For a snapshot whose decision made no call: ``(low, high, until)``, the band of
    ``demand`` within which the same instances, in the same states, with the same ones busy
    and every reading fresh, get a decision that makes no call again, up to ``until``. None: no
    band (a schedule, a refresh, or instances without fresh metrics).

    Above ``high`` the policy scales out. Below ``low`` a scale-in finds room for something that
    may go (a launch not started, an instance past its idle time, outside the cooldown, above
    the floor). When even every idle instance would find no room, the band holds whatever the
    idle clocks and the cooldown say: ``until`` is then infinite."""
    if isinstance(policy, Schedule) or snapshot.refresh_in_progress:
        return None
    fleet = view_of(snapshot, policy.stale_after_s, policy.concurrent)
    if fleet.unknown:
        return None
    if isinstance(policy, HeadroomPolicy):  # it launches once ceil(demand / concurrent) > desired
        high = snapshot.desired * policy.concurrent
    else:
        high = fleet.capacity()
    if not _may_shrink(snapshot, fleet, policy):
        return 0, high, math.inf
    idle = [fleet.slots_of(i) for i in fleet.fresh if i.running_jobs == 0]
    ever = _low(snapshot, fleet, policy, [fleet.slots_per_instance] * fleet.phantom + idle)
    if demand(policy, fleet.running, snapshot.pending_jobs) >= ever:
        return ever, high, math.inf
    until = stable_until(snapshot, policy)
    if in_cooldown(snapshot, policy.cooldown_s):
        return 0, high, until
    idle_time = 0.0 if isinstance(policy, HeadroomPolicy) else scale_in_idle_s(policy)
    victims = fleet.idle_victims(snapshot.now, idle_time)
    now = [fleet.slots_per_instance] * fleet.phantom + [fleet.slots_of(v) for v in victims]
    return _low(snapshot, fleet, policy, now), high, until


def _may_shrink(snapshot: FleetSnapshot, fleet: FleetView, policy: BasePolicy) -> bool:
    """Whether decide may remove anything while desired and the instances stay as they are."""
    floor = max(snapshot.min_size, min(policy.min_instances, snapshot.max_size))
    return fleet.in_group <= snapshot.desired and snapshot.desired > floor


def _low(
    snapshot: FleetSnapshot, fleet: FleetView, policy: BasePolicy, removable: list[int]
) -> int:
    """The lowest demand at which none of ``removable`` (their slots) finds room to go."""
    if not removable:
        return 0
    if isinstance(policy, HeadroomPolicy):  # it removes while ceil(demand / concurrent) < desired
        return (snapshot.desired - 1) * policy.concurrent + 1
    return fleet.capacity() - min(removable) + 1  # room = capacity - demand < their slots
