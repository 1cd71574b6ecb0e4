"""Property tests: the rules every policy obeys, over random fleets and random policies."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from runnerfleet.scaling import (
    BasePolicy,
    FleetSnapshot,
    HeadroomPolicy,
    IdlePolicy,
    InstanceView,
    LifecycleState,
    Period,
    Policy,
    QueuePolicy,
    Schedule,
    decide,
)
from runnerfleet.scaling.fleet import is_fresh
from runnerfleet.scaling.schedule import active_policy

NOW = 1_800_000_000.0
# InService twice as likely: most of a real fleet is in service
STATES = [*LifecycleState, LifecycleState.IN_SERVICE, LifecycleState.IN_SERVICE]


def _instance(n: int, seed: int) -> InstanceView:
    # one draw per instance keeps generation cheap; the seed still shrinks
    rnd = random.Random(seed)
    slots = rnd.randint(0, 6)
    running = None if rnd.random() < 0.15 else rnd.randint(0, max(slots, 1))
    scraped = None if rnd.random() < 0.1 else rnd.uniform(0, 400)
    idle_for = None if rnd.random() < 0.2 else rnd.uniform(0, 3000)
    return InstanceView(
        instance_id=f"i-{n:05d}",
        state=rnd.choice(STATES),
        launched_at=NOW - rnd.uniform(0, 20000),
        slots=slots,
        running_jobs=running,
        scraped_at=None if scraped is None else NOW - scraped,
        idle_since=None if idle_for is None else NOW - idle_for,
        protected=rnd.random() < 0.3,
    )


@st.composite
def snapshots(draw: st.DrawFn) -> FleetSnapshot:
    seeds = draw(st.lists(st.integers(0, 2**32), max_size=25))
    fleet = tuple(_instance(n, seed) for n, seed in enumerate(seeds))
    low = draw(st.integers(0, 10))
    high = draw(st.integers(max(low, 1), 40))
    last = st.one_of(st.none(), st.floats(0, 2000).map(lambda ago: NOW - ago))
    return FleetSnapshot(
        now=NOW,
        instances=fleet,
        desired=draw(st.integers(low, high)),
        min_size=low,
        max_size=high,
        pending_jobs=draw(st.one_of(st.none(), st.integers(0, 200))),
        last_scale_in_at=draw(last),
        last_scale_out_at=draw(last),
        refresh_in_progress=draw(st.booleans()),
    )


durations = st.floats(0, 1500)
idle_kwargs = {
    "idle_count": st.integers(0, 20),
    "idle_time_s": durations,
    "scale_factor": st.floats(0, 3),
    "scale_factor_limit": st.integers(0, 30),
    "cooldown_s": durations,
    "stale_after_s": st.floats(1, 600),
    "concurrent": st.one_of(st.none(), st.integers(1, 8)),
    "min_instances": st.integers(0, 6),
}
base_policies = st.one_of(
    st.builds(
        HeadroomPolicy,
        concurrent=st.integers(1, 8),
        headroom_jobs=st.integers(0, 10),
        cooldown_s=durations,
        stale_after_s=st.floats(1, 600),
        min_instances=st.integers(0, 6),
    ),
    st.builds(IdlePolicy, **idle_kwargs),
    st.builds(QueuePolicy, pending_weight=st.floats(0, 2), **idle_kwargs),
)
crons = st.sampled_from(["* * * * *", "* 0-11 * * *", "* * * * 1-5", "0 0 1 1 *"])


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    base = draw(base_policies)
    if not draw(st.booleans()):
        return base
    override = {"cooldown_s": draw(durations)}
    return Schedule(base=base, periods=(Period(draw(crons), "Europe/Berlin", override),))


def _active(policy: Policy, now: float) -> BasePolicy:
    return active_policy(policy, now)[0] if isinstance(policy, Schedule) else policy


def _stale_after(policy: Policy) -> float:
    return policy.base.stale_after_s if isinstance(policy, Schedule) else policy.stale_after_s


@settings(max_examples=300, deadline=None)
@given(snapshots(), policies())
def test_desired_is_always_within_min_and_max(snap: FleetSnapshot, policy: Policy) -> None:
    decision = decide(snap, policy)
    assert snap.min_size <= decision.desired <= snap.max_size


@settings(max_examples=300, deadline=None)
@given(snapshots(), policies())
def test_busy_unknown_booting_and_warm_instances_are_never_terminated(
    snap: FleetSnapshot, policy: Policy
) -> None:
    decision = decide(snap, policy)
    by_id = {i.instance_id: i for i in snap.instances}
    assert len(set(decision.terminate)) == len(decision.terminate)
    for instance_id in decision.terminate:
        victim = by_id[instance_id]
        assert victim.state == LifecycleState.IN_SERVICE
        assert victim.running_jobs == 0
        assert is_fresh(victim, snap.now, _stale_after(policy))
    assert not set(decision.terminate) & set(decision.protect)


@settings(max_examples=300, deadline=None)
@given(snapshots(), policies())
def test_no_scale_in_within_the_cooldown(snap: FleetSnapshot, policy: Policy) -> None:
    decision = decide(snap, policy)
    shrinks = decision.terminate or decision.desired < snap.desired
    last = [t for t in (snap.last_scale_in_at, snap.last_scale_out_at) if t is not None]
    if shrinks:
        cooldown = _active(policy, snap.now).cooldown_s
        assert all(snap.now - t >= cooldown for t in last)


@settings(max_examples=300, deadline=None)
@given(snapshots(), policies(), st.floats(0, 30))
def test_scale_up_never_waits_for_the_cooldown(
    snap: FleetSnapshot, policy: Policy, ago: float
) -> None:
    free = dataclasses.replace(snap, last_scale_in_at=None, last_scale_out_at=None)
    recent = dataclasses.replace(snap, last_scale_in_at=NOW - ago, last_scale_out_at=NOW - ago)
    unconstrained = decide(free, policy)
    if unconstrained.action == "scale_out":
        assert decide(recent, policy).desired == unconstrained.desired


@settings(max_examples=300, deadline=None)
@given(snapshots(), policies())
def test_desired_never_drops_below_the_instances_that_stay(
    snap: FleetSnapshot, policy: Policy
) -> None:
    # otherwise the group would choose its own victims (oldest first), busy or not
    decision = decide(snap, policy)
    staying = {
        i.instance_id
        for i in snap.instances
        if i.state
        in (
            LifecycleState.IN_SERVICE,
            LifecycleState.PENDING,
            LifecycleState.PENDING_WAIT,
            LifecycleState.PENDING_PROCEED,
        )
    } - set(decision.terminate)
    if decision.desired < snap.desired:
        assert decision.desired >= min(len(staying), snap.max_size)


@settings(max_examples=200, deadline=None)
@given(snapshots(), policies())
def test_refresh_in_progress_means_no_change(snap: FleetSnapshot, policy: Policy) -> None:
    decision = decide(dataclasses.replace(snap, refresh_in_progress=True), policy)
    assert decision.action == "hold" and decision.desired == snap.desired
    assert decision.terminate == decision.protect == decision.unprotect == ()


@settings(max_examples=200, deadline=None)
@given(snapshots(), st.integers(1, 8), st.integers(0, 10))
def test_seed_scales_out_to_exactly_the_original_formula(
    snap: FleetSnapshot, concurrent: int, headroom: int
) -> None:
    policy = HeadroomPolicy(concurrent=concurrent, headroom_jobs=headroom, cooldown_s=0)
    decision = decide(dataclasses.replace(snap, refresh_in_progress=False), policy)
    running = sum(
        i.running_jobs or 0
        for i in snap.instances
        if i.state == LifecycleState.IN_SERVICE and is_fresh(i, snap.now, policy.stale_after_s)
    )
    formula = min(max(-(-(running + headroom) // concurrent), snap.min_size), snap.max_size)
    if decision.action == "scale_out":
        assert decision.desired == formula
    if decision.action == "scale_in":
        assert formula <= decision.desired < snap.desired  # never below it, only idle ones go
