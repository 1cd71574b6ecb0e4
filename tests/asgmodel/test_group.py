"""The Auto Scaling fleet model against the documented lifecycle (aws-autoscaling-facts.md)."""

from __future__ import annotations

import pytest

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import (
    ABANDON,
    CONTINUE,
    EventKind,
    FleetConfig,
    FleetModelError,
    HookConfig,
    LifecycleState,
    WarmPoolConfig,
)

S = LifecycleState


def _fleet(**kw: object) -> Fleet:
    base: dict[str, object] = {
        "min_size": 0,
        "max_size": 4,
        "desired": 0,
        "launch_hook": HookConfig(600, ABANDON),
        "terminate_hook": HookConfig(300, CONTINUE),
        "pending_s": 10,
    }
    base.update(kw)
    return Fleet(FleetConfig(**base), 0.0)  # type: ignore[arg-type]


def _kinds(events: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e.kind.value, e.instance_id) for e in events]


def test_scale_out_walks_pending_wait_to_in_service_and_starts_cooldown() -> None:
    fleet = _fleet()
    fleet.set_desired(1, False, 0.0)
    (launch,) = fleet.advance(0.0)
    iid = launch.instance_id
    assert launch.kind is EventKind.LAUNCHING and fleet.state_of(iid) is S.PENDING
    assert fleet.next_due() == 10.0
    (action,) = fleet.advance(10.0)
    assert action.kind is EventKind.LAUNCH_ACTION
    assert (action.origin, action.destination) == ("EC2", "AutoScalingGroup")
    assert fleet.state_of(iid) is S.PENDING_WAIT
    fleet.complete_lifecycle_action(iid, CONTINUE, 100.0)
    assert _kinds(fleet.advance(100.0)) == [("in_service", iid)]
    assert fleet.cooldown_until == 400.0  # DefaultCooldown 300 s from the end of the launch


def test_launch_hook_timeout_applies_default_abandon_and_replaces() -> None:
    fleet = _fleet()
    fleet.set_desired(1, False, 0.0)
    first = fleet.advance(10.0)[0].instance_id
    events = fleet.advance(610.0)  # 10 s pending + 600 s heartbeat timeout
    assert (EventKind.HOOK_TIMEOUT, first, ABANDON) in [
        (e.kind, e.instance_id, e.detail) for e in events
    ]
    assert fleet.state_of(first) is S.TERMINATED
    live = fleet.describe()
    assert len(live) == 1 and live[0].instance_id != first  # replaced
    assert live[0].state is S.PENDING


def test_terminate_hook_heartbeats_and_global_timeout() -> None:
    fleet = _fleet(terminate_hook=HookConfig(30, ABANDON), launch_hook=None, desired=1)
    (iid,) = [s.instance_id for s in fleet.describe()]
    fleet.terminate_instance(iid, True, 0.0)
    assert fleet.advance(0.0)[0].kind is EventKind.TERMINATE_ACTION
    assert fleet.state_of(iid) is S.TERMINATING_WAIT
    t = 0.0
    while t < 2980:  # a heartbeat every 20 s restarts the 30 s timeout ...
        t += 20
        fleet.record_heartbeat(iid, t)
        assert fleet.state_of(iid) is S.TERMINATING_WAIT
    # ... but never beyond the global timeout: min(48 h, 100 x 30 s) = 3000 s
    assert fleet.status(iid).action_deadline == 3000.0
    events = fleet.advance(3000.0)
    assert [e.kind for e in events] == [EventKind.HOOK_TIMEOUT, EventKind.TERMINATED]
    with pytest.raises(FleetModelError, match="No active Lifecycle Action found"):
        fleet.complete_lifecycle_action(iid, CONTINUE, 3001.0)


def test_terminate_hook_timeout_without_heartbeat() -> None:
    fleet = _fleet(launch_hook=None, desired=1)
    (iid,) = [s.instance_id for s in fleet.describe()]
    fleet.terminate_instance(iid, True, 0.0)
    assert fleet.advance(299.0)[-1].kind is EventKind.TERMINATE_ACTION
    assert fleet.state_of(iid) is S.TERMINATING_WAIT
    assert [e.kind for e in fleet.advance(300.0)] == [EventKind.HOOK_TIMEOUT, EventKind.TERMINATED]
    with pytest.raises(FleetModelError, match="No active Lifecycle Action"):
        fleet.record_heartbeat(iid, 301.0)


def test_min_max_and_decrement_below_min() -> None:
    fleet = _fleet(min_size=1, desired=1, launch_hook=None)
    with pytest.raises(FleetModelError, match="above max value 4"):
        fleet.set_desired(5, False, 0.0)
    with pytest.raises(FleetModelError, match="below min value 1"):
        fleet.set_desired(0, False, 0.0)
    (iid,) = [s.instance_id for s in fleet.describe()]
    with pytest.raises(FleetModelError, match="violate group's min size"):
        fleet.terminate_instance(iid, True, 0.0)
    fleet.terminate_instance(iid, False, 0.0)  # without decrement: replaced
    fleet.advance(0.0)
    assert fleet.desired == 1
    assert [s.state for s in fleet.describe()] == [S.TERMINATING_WAIT, S.PENDING]
    with pytest.raises(FleetModelError, match="already Terminating:Wait"):
        fleet.terminate_instance(iid, False, 1.0)
    with pytest.raises(FleetModelError, match="No managed instance found"):
        fleet.terminate_instance("i-0000000000000dead", False, 1.0)


def test_honor_cooldown_raises_while_active_and_manual_ignores_it() -> None:
    fleet = _fleet(launch_hook=None, pending_s=0)
    fleet.set_desired(1, True, 0.0)
    fleet.advance(0.0)  # InService at 0, cooldown until 300
    with pytest.raises(FleetModelError, match="ScalingActivityInProgressFault"):
        fleet.set_desired(2, True, 100.0)
    fleet.set_desired(2, False, 100.0)  # manual scaling does not honour it by default
    fleet.advance(100.0)
    assert fleet.desired == 2
    fleet.set_desired(3, True, 401.0)  # cooldown (from the second launch, 400) has passed
    assert fleet.desired == 3


def test_scale_in_respects_protection_and_termination_policy() -> None:
    fleet = _fleet(launch_hook=None, terminate_hook=None, desired=3)
    a, b, c = (s.instance_id for s in fleet.describe())
    fleet.set_instance_protection([a, b], True, 1.0)
    fleet.set_desired(1, False, 2.0)
    fleet.advance(2.0)
    # the unprotected instance goes; the second one cannot ("all remaining are protected")
    assert fleet.state_of(c) is S.TERMINATED
    assert fleet.desired == 1 and {s.instance_id for s in fleet.describe()} == {a, b}
    fleet.set_instance_protection([b], False, 3.0)
    fleet.advance(3.0)
    assert [s.instance_id for s in fleet.describe()] == [a]
    fleet.terminate_instance(a, False, 4.0)  # TerminateInstance ignores protection
    assert fleet.state_of(a) is S.TERMINATED


def test_oldest_instance_goes_first() -> None:
    fleet = _fleet(launch_hook=None, terminate_hook=None, pending_s=0)
    fleet.set_desired(1, False, 0.0)
    fleet.set_desired(2, False, 50.0)
    old, new = (s.instance_id for s in fleet.describe())
    fleet.set_desired(1, False, 100.0)
    assert fleet.state_of(old) is S.TERMINATED and fleet.state_of(new) is S.IN_SERVICE


def test_warm_pool_fills_and_serves_scale_out() -> None:
    pool = WarmPoolConfig(min_size=2, max_group_prepared_capacity=0)
    fleet = _fleet(warm_pool=pool)
    events = fleet.advance(10.0)
    assert [(e.kind, e.destination) for e in events] == [
        (EventKind.LAUNCHING, "WarmPool"),
        (EventKind.LAUNCHING, "WarmPool"),
        (EventKind.LAUNCH_ACTION, "WarmPool"),
        (EventKind.LAUNCH_ACTION, "WarmPool"),
    ]
    for status in fleet.describe():
        assert status.state is S.WARMED_PENDING_WAIT
        fleet.complete_lifecycle_action(status.instance_id, CONTINUE, 200.0)
    assert {s.state for s in fleet.describe()} == {S.WARMED_STOPPED}
    fleet.set_desired(1, False, 1000.0)
    events = fleet.advance(1010.0)
    moved = [e for e in events if e.kind is EventKind.LAUNCH_ACTION and e.origin == "WarmPool"]
    assert len(moved) == 1 and fleet.state_of(moved[0].instance_id) is S.PENDING_WAIT
    assert fleet.status(moved[0].instance_id).from_warm_pool
    # the pool refills to its minimum
    warm = (S.WARMED_PENDING_WAIT, S.WARMED_STOPPED)
    assert sum(s.state in warm for s in fleet.describe()) == 2
    # stopped warm instances cost nothing: two 200 s warm-ups, then the restarted instance
    # and the refill, 10 s each so far, billed at the 60 s minimum
    assert fleet.billed_seconds(1010.0) == pytest.approx(200 * 2 + 60 + 60)


def test_spot_interruption_terminates_after_two_minutes_whatever_the_hook() -> None:
    fleet = _fleet(spot=True, launch_hook=None, desired=1, pending_s=0)
    (iid,) = [s.instance_id for s in fleet.describe()]
    fleet.interrupt_spot(iid, 100.0)
    assert fleet.advance(100.0)[0].kind is EventKind.SPOT_WARNING
    assert fleet.state_of(iid) is S.IN_SERVICE  # no capacity rebalancing: nothing yet
    events = fleet.advance(220.0)
    assert events[0].kind is EventKind.TERMINATED and events[0].detail == "spot interruption"
    assert fleet.describe()[0].instance_id != iid  # replaced


def test_spot_with_capacity_rebalance_runs_hook_and_replaces_at_once() -> None:
    fleet = _fleet(spot=True, capacity_rebalance=True, launch_hook=None, desired=1, pending_s=0)
    (iid,) = [s.instance_id for s in fleet.describe()]
    fleet.interrupt_spot(iid, 100.0)
    kinds = [e.kind for e in fleet.advance(100.0)]
    assert kinds[:3] == [EventKind.SPOT_WARNING, EventKind.TERMINATE_ACTION, EventKind.LAUNCHING]
    fleet.record_heartbeat(iid, 200.0)  # heartbeats cannot hold it past the notice
    fleet.advance(220.0)
    assert fleet.state_of(iid) is S.TERMINATED


def test_config_validation_and_billing_minimum() -> None:
    with pytest.raises(FleetModelError, match="Spot"):
        FleetConfig(min_size=0, max_size=1, desired=0, spot=True, warm_pool=WarmPoolConfig())
    with pytest.raises(FleetModelError, match="HeartbeatTimeout"):
        HookConfig(10)
    fleet = _fleet(launch_hook=None, terminate_hook=None, pending_s=0)
    fleet.set_desired(1, False, 0.0)
    fleet.set_desired(0, False, 5.0)
    assert fleet.billed_seconds(10.0) == 60.0  # 5 s of running bills the 60 s minimum
