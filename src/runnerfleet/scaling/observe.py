"""Observe: what the autoscaler saw of its group and runners, turned into the snapshot.

The Lambda, the sandbox and the simulator all hand their observations to ``build_snapshot``;
only where the observations come from differs (boto3 and HTTP scrapes, or the simulated
fleet). State the stateless autoscaler keeps between runs lives on the group itself: the last
scale-in/out times as group tags and when each instance became idle as an instance tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runnerfleet.scaling.types import FleetSnapshot, InstanceView, LifecycleState

IdleTags = dict[str, float | None]  # instance id -> idle since (None: clear the tag)


@dataclass(frozen=True, slots=True)
class Member:
    """One instance of the group (or its warm pool) as Auto Scaling and EC2 describe it."""

    instance_id: str
    state: LifecycleState
    protected: bool
    launched_at: float
    host: str | None  # where its /metrics are scraped; None when it has no address
    idle_since: float | None  # from the instance's idle-since tag


@dataclass(frozen=True, slots=True)
class GroupPart:
    """One of the Auto Scaling groups a fleet of two spans (``scaling.overflow``)."""

    name: str
    desired: int
    min_size: int
    max_size: int
    instance_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class GroupState:
    name: str
    desired: int
    min_size: int
    max_size: int
    members: tuple[Member, ...]
    refresh_in_progress: bool
    last_scale_in_at: float | None
    last_scale_out_at: float | None
    notes: tuple[str, ...] = ()
    parts: tuple[GroupPart, ...] = ()  # the groups of a fleet of two; () for one group


@dataclass(frozen=True, slots=True)
class RunnerReading:
    """One runner's metrics: running jobs and job slots. ``None`` jobs: the scrape failed."""

    running_jobs: int | None
    slots: int = 0


UNKNOWN = RunnerReading(None)


def scrapeable(member: Member) -> bool:
    """Only InService runners are scraped; booting and warm ones have no runner yet."""
    return member.state == LifecycleState.IN_SERVICE


def scrape_failures(group: GroupState, readings: Mapping[str, RunnerReading]) -> int:
    """InService instances without a usable reading (no address, no answer, bad page)."""
    return sum(
        1
        for m in group.members
        if scrapeable(m) and readings.get(m.instance_id, UNKNOWN).running_jobs is None
    )


def build_snapshot(
    group: GroupState,
    readings: Mapping[str, RunnerReading],
    pending_jobs: int | None,
    now: float,
) -> tuple[FleetSnapshot, IdleTags]:
    """The snapshot for ``decide`` and the idle-since tag changes to write back.

    An instance seen idle for the first time starts its idle clock now (the autoscaler cannot
    know when its last job ended); one seen busy loses its tag; one without a reading keeps
    its tag as it is.
    """
    views, idle_tags = _views(group, readings, now)
    snapshot = FleetSnapshot(
        now=now,
        instances=tuple(views),
        desired=group.desired,
        min_size=group.min_size,
        max_size=group.max_size,
        pending_jobs=pending_jobs,
        last_scale_in_at=group.last_scale_in_at,
        last_scale_out_at=group.last_scale_out_at,
        refresh_in_progress=group.refresh_in_progress,
    )
    return snapshot, idle_tags


def _views(
    group: GroupState, readings: Mapping[str, RunnerReading], now: float
) -> tuple[list[InstanceView], IdleTags]:
    views: list[InstanceView] = []
    idle_tags: IdleTags = {}
    in_service = LifecycleState.IN_SERVICE
    for member in group.members:  # every instance, every minute
        iid, since = member.instance_id, member.idle_since
        reading = readings.get(iid) if member.state == in_service else None
        if reading is None or reading.running_jobs is None:
            view = InstanceView(
                iid, member.state, member.launched_at, 0, None, None, None, member.protected
            )
        else:
            running = reading.running_jobs
            if running == 0:
                if since is None:
                    idle_tags[iid] = now
                idle = now if since is None else since
            else:
                if since is not None:
                    idle_tags[iid] = None
                idle = None
            view = InstanceView(
                iid,
                member.state,
                member.launched_at,
                reading.slots,
                running,
                now,
                idle,
                member.protected,
            )
        views.append(view)
    return views, idle_tags
