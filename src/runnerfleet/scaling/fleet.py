"""Classify a snapshot's instances once, so every policy reads the same numbers."""

from __future__ import annotations

from dataclasses import dataclass

from runnerfleet.scaling.types import (
    BOOTING_STATES,
    WARM_STATES,
    FleetSnapshot,
    InstanceView,
    LifecycleState,
)


def is_fresh(instance: InstanceView, now: float, stale_after_s: float) -> bool:
    """True when the instance's running-job count is known and recent enough to trust."""
    if instance.running_jobs is None:
        return False
    return instance.scraped_at is None or now - instance.scraped_at <= stale_after_s


@dataclass(frozen=True, slots=True)
class FleetView:
    """The snapshot's instances sorted into the groups the policies need, with the sums
    every policy reads (computed once, in ``view_of``)."""

    fresh: tuple[InstanceView, ...]  # InService with trusted metrics
    unknown: tuple[InstanceView, ...]  # InService with missing or stale metrics: busy
    booting: tuple[InstanceView, ...]  # Pending*: capacity on the way
    warm: tuple[InstanceView, ...]  # Warmed:*: not capacity, but quick to bring in
    phantom: int  # desired minus instances seen: launches the group has not started yet
    slots_per_instance: int  # for booting and phantom instances
    running: int = 0  # jobs running on fresh instances
    capacity_slots: int = 0  # see ``capacity``
    unknown_total: int = 0  # see ``unknown_slots``

    @property
    def in_group(self) -> int:
        return len(self.fresh) + len(self.unknown) + len(self.booting)

    def slots_of(self, instance: InstanceView) -> int:
        return instance.slots if instance.slots > 0 else self.slots_per_instance

    def capacity(self) -> int:
        """Job slots in service or on the way. Instances without metrics offer their slots.

        Counting them as capacity (not as demand) is deliberate: a metrics outage must not
        launch the fleet up to max_size. They are still never removed (see ``idle_victims``).
        """
        return self.capacity_slots

    def unknown_slots(self) -> int:
        """Slots of instances without fresh metrics: they may all be busy, so a scale-in
        never counts them as free (a partial scrape failure must not remove a needed idle
        instance), while a scale-out counts them as capacity (an outage must not launch)."""
        return self.unknown_total

    def busy(self) -> tuple[InstanceView, ...]:
        """InService instances that must not be removed: running jobs or unknown metrics."""
        return tuple(i for i in self.fresh if (i.running_jobs or 0) > 0) + self.unknown

    def idle_victims(self, now: float, idle_time_s: float) -> list[InstanceView]:
        """Idle InService instances past their idle time, longest idle first."""
        idle = [
            i for i in self.fresh if i.running_jobs == 0 and now - _idle_start(i) >= idle_time_s
        ]
        return sorted(idle, key=lambda i: (_idle_start(i), i.launched_at, i.instance_id))


IN_SERVICE = LifecycleState.IN_SERVICE


def _idle_start(instance: InstanceView) -> float:
    # never used: idle since launch, as docker-autoscaler counts it
    return instance.idle_since if instance.idle_since is not None else instance.launched_at


def view_of(snapshot: FleetSnapshot, stale_after_s: float, concurrent: int | None) -> FleetView:
    now = snapshot.now
    fresh: list[InstanceView] = []
    unknown: list[InstanceView] = []
    booting: list[InstanceView] = []
    warm: list[InstanceView] = []
    running = 0
    for i in snapshot.instances:  # one pass: this runs every minute for every instance
        state = i.state
        if state == IN_SERVICE:
            jobs = i.running_jobs
            if jobs is None or (i.scraped_at is not None and now - i.scraped_at > stale_after_s):
                unknown.append(i)  # the inverse of ``is_fresh``, inlined
            else:
                fresh.append(i)
                running += jobs
        elif state in BOOTING_STATES:
            booting.append(i)
        elif state in WARM_STATES:
            warm.append(i)
    per = concurrent or _observed_slots(snapshot.instances)
    phantom = max(0, snapshot.desired - len(fresh) - len(unknown) - len(booting))
    unknown_total = sum(i.slots if i.slots > 0 else per for i in unknown)
    seen = sum(i.slots if i.slots > 0 else per for i in fresh)
    seen += sum(i.slots if i.slots > 0 else per for i in booting) + unknown_total
    return FleetView(
        fresh=tuple(fresh),
        unknown=tuple(unknown),
        booting=tuple(booting),
        warm=tuple(warm),
        phantom=phantom,
        slots_per_instance=per,
        running=running,
        capacity_slots=seen + phantom * per,
        unknown_total=unknown_total,
    )


def _observed_slots(instances: tuple[InstanceView, ...]) -> int:
    # the fleet shares one launch template, so the largest scraped value is the configured one
    return max((i.slots for i in instances), default=0) or 1
