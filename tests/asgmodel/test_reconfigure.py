"""Model changes the twin needs: caller-named instances, hooks and warm pools that come and go,
force delete. Sources as in aws-autoscaling-facts.md."""

from __future__ import annotations

import itertools

from runnerfleet.asgmodel.group import Fleet
from runnerfleet.asgmodel.types import (
    ABANDON,
    CONTINUE,
    EventKind,
    FleetConfig,
    HookConfig,
    LifecycleState,
    WarmPoolConfig,
)

S = LifecycleState


def _fleet(**kw: object) -> Fleet:
    base: dict[str, object] = {"min_size": 0, "max_size": 4, "desired": 0, "pending_s": 10}
    base.update(kw)
    return Fleet(FleetConfig(**base), 0.0)  # type: ignore[arg-type]


def test_instances_are_named_by_the_caller() -> None:
    names = (f"i-{n:017x}" for n in itertools.count(0xABC))
    fleet = Fleet(FleetConfig(0, 3, 2), 0.0, new_id=lambda: next(names))
    assert [s.instance_id for s in fleet.describe()] == [
        "i-00000000000000abc",
        "i-00000000000000abd",
    ]


def test_a_hook_added_later_holds_the_next_launch() -> None:
    fleet = _fleet()
    fleet.reconfigure(0.0, launch_hook=HookConfig(600, ABANDON))
    fleet.set_desired(1, False, 0.0)
    iid = fleet.advance(10.0)[0].instance_id
    assert fleet.state_of(iid) is S.PENDING_WAIT


def test_removing_a_hook_completes_its_outstanding_actions() -> None:
    # "ABANDON for launching instances, CONTINUE for terminating instances" [BC-AS]
    fleet = _fleet(
        desired=1, launch_hook=HookConfig(600, CONTINUE), terminate_hook=HookConfig(600, ABANDON)
    )
    (old,) = [s.instance_id for s in fleet.describe()]
    fleet.terminate_instance(old, False, 1.0)  # the replacement launches at once
    fleet.advance(20.0)
    new = next(s.instance_id for s in fleet.describe() if s.instance_id != old)
    assert (fleet.state_of(old), fleet.state_of(new)) == (S.TERMINATING_WAIT, S.PENDING_WAIT)
    fleet.remove_hook("terminate", 30.0)
    assert fleet.state_of(old) is S.TERMINATED and fleet.state_of(new) is S.PENDING_WAIT
    fleet.remove_hook("launch", 40.0)
    assert fleet.state_of(new) is S.TERMINATED  # abandoned: replaced by a hook-less launch
    fleet.advance(60.0)
    (replacement,) = fleet.describe()
    assert replacement.state is S.IN_SERVICE


def test_deleting_the_warm_pool_terminates_its_instances() -> None:
    fleet = _fleet(max_size=3, warm_pool=WarmPoolConfig(min_size=2, max_group_prepared_capacity=2))
    events = fleet.advance(20.0)
    assert [e.kind for e in events].count(EventKind.WARMED) == 2
    fleet.reconfigure(30.0, warm_pool=None)
    kinds = [e.kind for e in fleet.advance(30.0)]
    assert kinds.count(EventKind.TERMINATED) == 2 and fleet.describe() == ()


def test_force_delete_skips_the_hooks() -> None:
    fleet = _fleet(desired=2, terminate_hook=HookConfig(600, CONTINUE))
    fleet.force_delete(5.0)
    events = fleet.advance(5.0)
    assert [e.kind for e in events] == [EventKind.TERMINATED] * 2
    assert fleet.describe() == () and fleet.desired == 0
