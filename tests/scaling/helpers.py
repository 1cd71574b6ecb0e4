"""Small builders for snapshots in scaling tests."""

from __future__ import annotations

from runnerfleet.scaling import FleetSnapshot, InstanceView, LifecycleState

NOW = 1_800_000_000.0


def inst(
    n: int,
    running: int | None = 0,
    *,
    slots: int = 2,
    state: LifecycleState = LifecycleState.IN_SERVICE,
    age: float = 3600.0,
    idle_for: float | None = 3600.0,
    scraped_ago: float | None = 5.0,
    protected: bool = False,
) -> InstanceView:
    return InstanceView(
        instance_id=f"i-{n:04d}",
        state=state,
        launched_at=NOW - age,
        slots=slots,
        running_jobs=running,
        scraped_at=None if scraped_ago is None else NOW - scraped_ago,
        idle_since=None if idle_for is None or running else NOW - idle_for,
        protected=protected,
    )


def snap(
    *instances: InstanceView,
    desired: int | None = None,
    min_size: int = 0,
    max_size: int = 10,
    pending: int | None = None,
    last_in: float | None = None,
    last_out: float | None = None,
    refresh: bool = False,
) -> FleetSnapshot:
    return FleetSnapshot(
        now=NOW,
        instances=tuple(instances),
        desired=len(instances) if desired is None else desired,
        min_size=min_size,
        max_size=max_size,
        pending_jobs=pending,
        last_scale_in_at=None if last_in is None else NOW - last_in,
        last_scale_out_at=None if last_out is None else NOW - last_out,
        refresh_in_progress=refresh,
    )
