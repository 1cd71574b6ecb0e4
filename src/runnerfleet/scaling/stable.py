"""How long a decision holds: ``decide()`` on the same observations made again later.

Observed again, every instance reads the same running jobs, freshly scraped; only the clock
has moved. ``decide`` then reads the clock in two places: the scale-in cooldown and how long
an instance has been idle; a schedule also reads it through its cron periods. Each is a
threshold that, once crossed, stays crossed, so the decision stays the same until the
earliest threshold ahead. The simulator uses this to skip
quiet time exactly: when an evaluation changed nothing and nothing else happens before that
time, every evaluation in between would change nothing either.
"""

from __future__ import annotations

import math

from runnerfleet.scaling.policies import HeadroomPolicy, Policy, Schedule
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
    idle_time = 0.0 if isinstance(policy, HeadroomPolicy) else policy.idle_time_s
    for instance in snapshot.instances:
        if instance.state != LifecycleState.IN_SERVICE:
            continue
        if instance.running_jobs == 0:
            start = instance.idle_since
            ahead.append((instance.launched_at if start is None else start) + idle_time)
    return min((t for t in ahead if t > now), default=math.inf)


def _scale_times(snapshot: FleetSnapshot) -> list[float]:
    return [t for t in (snapshot.last_scale_in_at, snapshot.last_scale_out_at) if t is not None]
