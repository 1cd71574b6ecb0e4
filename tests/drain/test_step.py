"""The pure drain step: order of steps, heartbeats, budget, ABANDON only when unreachable.

The scenario table (tests/drain/scenarios.py) holds whole drains; these are the edges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnerfleet.drain import (
    CommandStatus,
    DrainAction,
    DrainLimits,
    DrainState,
    Observation,
    classify_invocation,
    drain_step,
    parse_lifecycle_event,
    record,
    undeliverable_error,
)
from runnerfleet.drain.types import SPOT_UNREGISTER_LEAD_S
from tests.ops.events import load_event

LIMITS = DrainLimits(heartbeat_timeout_s=600, max_drain_s=10800)
T0 = 1_000_000.0
A = DrainAction
STOPPED = DrainState(started_at=T0, stopped_at=T0)


def step(state: DrainState, now: float = T0, **seen: object) -> DrainAction:
    return drain_step(state, Observation(now=now, **seen), LIMITS).action  # type: ignore[arg-type]


def test_not_sent_means_send() -> None:
    assert step(DrainState(T0), command=CommandStatus.NOT_SENT) is A.SEND


def test_order_is_stop_then_heartbeat_then_unregister_then_continue() -> None:
    assert step(DrainState(T0), running_jobs=2) is A.STOP_RUNNER
    assert step(STOPPED, T0 + 200, running_jobs=2) is A.HEARTBEAT
    assert step(STOPPED, T0 + 400, running_jobs=0) is A.UNREGISTER
    unregistered = record(STOPPED, A.UNREGISTER, T0 + 400)
    assert step(unregistered, T0 + 400, running_jobs=0) is A.CONTINUE
    done = record(unregistered, A.CONTINUE, T0 + 400)
    assert step(done, T0 + 400, running_jobs=0) is A.DONE


def test_heartbeat_every_third_of_the_timeout_and_wait_until_then() -> None:
    assert LIMITS.heartbeat_every_s == 200
    beat = record(STOPPED, A.HEARTBEAT, T0 + 200)
    d = drain_step(beat, Observation(now=T0 + 250, running_jobs=1), LIMITS)
    assert d.action is A.WAIT and d.next_check_at == T0 + 400


def test_failed_heartbeat_is_retried_after_one_poll() -> None:
    failed = record(STOPPED, A.HEARTBEAT, T0 + 200, ok=False)
    d = drain_step(failed, Observation(now=T0 + 201, running_jobs=1), LIMITS)
    assert d.action is A.WAIT and d.next_check_at == T0 + 200 + LIMITS.poll_s
    assert step(failed, T0 + 205, running_jobs=1) is A.HEARTBEAT


def test_unknown_job_count_counts_as_busy() -> None:
    assert step(STOPPED, T0 + 200, running_jobs=None) is A.HEARTBEAT


def test_budget_spent_aborts_the_jobs_then_finishes() -> None:
    beating = record(STOPPED, A.HEARTBEAT, T0 + 10700)
    d = drain_step(beating, Observation(now=T0 + 10800, running_jobs=1), LIMITS)
    assert d.action is A.ABORT_JOBS and d.failure and "budget" in d.reason
    aborted = record(beating, A.ABORT_JOBS, T0 + 10800)
    assert step(aborted, T0 + 10801, running_jobs=0) is A.UNREGISTER


def test_budget_leaves_room_for_the_kill_grace_inside_the_global_timeout() -> None:
    limits = DrainLimits(heartbeat_timeout_s=30, max_drain_s=172800)
    assert limits.global_timeout_s == 3000
    assert limits.drain_budget_s == 3000 - 30 - limits.kill_grace_s


@pytest.mark.parametrize("command", [CommandStatus.UNREACHABLE, CommandStatus.PENDING])
def test_unreachable_waits_then_abandons_after_the_timeout(command: CommandStatus) -> None:
    sent = record(DrainState(T0), A.SEND, T0)
    assert step(sent, T0 + 1, command=command) is A.WAIT
    late = drain_step(sent, Observation(now=T0 + 120, command=command), LIMITS)
    assert late.action is A.ABANDON and late.failure


def test_unreachable_instance_gets_the_command_again_each_poll() -> None:
    sent = record(DrainState(T0), A.SEND, T0)
    assert step(sent, T0 + LIMITS.poll_s, command=CommandStatus.UNREACHABLE) is A.SEND


def test_failed_command_is_reported_and_never_abandoned() -> None:
    d = drain_step(DrainState(T0), Observation(T0 + 9000, CommandStatus.FAILED), LIMITS)
    assert d.action is A.WAIT and d.failure and d.delivered


def test_a_running_command_means_the_instance_drains() -> None:
    d = drain_step(DrainState(T0), Observation(T0, CommandStatus.RUNNING), LIMITS)
    assert d.delivered and d.action is A.STOP_RUNNER


def test_spot_reclaim_unregisters_before_the_instance_dies() -> None:
    kill_at = T0 + 120
    assert step(STOPPED, T0 + 60, running_jobs=2, kill_at=kill_at) is A.WAIT
    d = drain_step(STOPPED, Observation(T0 + 90, running_jobs=2, kill_at=kill_at), LIMITS)
    assert d.action is A.UNREGISTER and d.failure and "spot" in d.reason
    unregistered = record(STOPPED, A.UNREGISTER, T0 + 90)
    assert step(unregistered, T0 + 91, running_jobs=2, kill_at=kill_at) is A.CONTINUE


def test_spot_warning_without_a_lifecycle_action_stops_then_unregisters() -> None:
    warned = DrainState(T0, lifecycle_action=False)
    kill_at = T0 + 120
    assert step(warned, T0, running_jobs=2, kill_at=kill_at) is A.STOP_RUNNER
    stopped = record(warned, A.STOP_RUNNER, T0)
    d = drain_step(stopped, Observation(T0 + 5, running_jobs=2, kill_at=kill_at), LIMITS)
    assert d.action is A.WAIT and d.next_check_at == kill_at - SPOT_UNREGISTER_LEAD_S
    assert step(stopped, kill_at - 30, running_jobs=2, kill_at=kill_at) is A.UNREGISTER
    gone = record(stopped, A.UNREGISTER, kill_at - 30)
    assert step(gone, kill_at - 30, running_jobs=2, kill_at=kill_at) is A.DONE


@pytest.mark.parametrize(
    ("status", "details", "code", "expected"),
    [
        ("Pending", "Pending", -1, CommandStatus.PENDING),
        ("Delayed", "Delayed", -1, CommandStatus.PENDING),
        ("InProgress", "In Progress", -1, CommandStatus.RUNNING),
        ("Success", "Success", 0, CommandStatus.SUCCEEDED),
        ("Failed", "Failed", 1, CommandStatus.FAILED),
        ("TimedOut", "Execution Timed Out", 1, CommandStatus.FAILED),
        ("TimedOut", "Delivery Timed Out", -1, CommandStatus.UNREACHABLE),
        ("Failed", "Undeliverable", -1, CommandStatus.UNREACHABLE),
    ],
)
def test_classify_invocation(status: str, details: str, code: int, expected: CommandStatus) -> None:
    assert classify_invocation(status, details, code) is expected


def test_undeliverable_errors() -> None:
    assert undeliverable_error("InvalidInstanceId")
    assert not undeliverable_error("ThrottlingException")


def test_limits_reject_values_outside_the_aws_range() -> None:
    with pytest.raises(ValueError, match=r"30\.\.7200"):
        DrainLimits(heartbeat_timeout_s=10, max_drain_s=60)
    with pytest.raises(ValueError, match="below the heartbeat"):
        DrainLimits(heartbeat_timeout_s=60, max_drain_s=600, unreachable_timeout_s=60)


def test_parse_terminate_event_both_shapes() -> None:
    for name in ("terminate-lifecycle-action", "terminate-lifecycle-action-2023"):
        ev = parse_lifecycle_event(load_event(name))
        assert ev is not None
        assert ev.token == "87654321-4321-4321-4321-210987654321"
        assert (ev.group, ev.hook, ev.instance_id) == (
            "my-asg",
            "my-lifecycle-hook",
            "i-1234567890abcdef0",
        )
        assert ev.time == 1795435200.0


def test_parse_ignores_launch_and_other_events() -> None:
    assert parse_lifecycle_event(load_event("launch-lifecycle-action")) is None
    assert parse_lifecycle_event(load_event("terminate-successful")) is None
    assert parse_lifecycle_event({"Event": "autoscaling:TEST_NOTIFICATION"}) is None


def test_parse_rejects_malformed_terminate_events() -> None:
    with pytest.raises(ValueError, match="EC2InstanceId"):
        parse_lifecycle_event(load_event("terminate-lifecycle-action", EC2InstanceId=""))
    with pytest.raises(ValueError, match="36-character"):
        parse_lifecycle_event(load_event("terminate-lifecycle-action", LifecycleActionToken="x"))


@given(
    hb=st.integers(30, 7200),
    budget=st.integers(60, 172800),
    elapsed=st.floats(0, 200000),
    jobs=st.one_of(st.none(), st.integers(0, 8)),
    stopped=st.booleans(),
    unregistered=st.booleans(),
    beat_ago=st.one_of(st.none(), st.floats(0, 7200)),
    command=st.sampled_from(list(CommandStatus)),
    kill_in=st.one_of(st.none(), st.floats(-300, 300)),
)
def test_properties(
    *,
    hb: int,
    budget: int,
    elapsed: float,
    jobs: int | None,
    stopped: bool,
    unregistered: bool,
    beat_ago: float | None,
    command: CommandStatus,
    kill_in: float | None,
) -> None:
    limits = DrainLimits(heartbeat_timeout_s=hb, max_drain_s=budget)
    now = T0 + elapsed
    beat = None if beat_ago is None else max(T0, now - beat_ago)
    s = DrainState(
        started_at=T0,
        stopped_at=T0 if stopped else None,
        unregistered=unregistered,
        heartbeat_ok_at=beat,
        heartbeat_tried_at=beat,
    )
    seen = Observation(
        now=now,
        command=command,
        running_jobs=jobs,
        kill_at=None if kill_in is None else now + kill_in,
    )
    d = drain_step(s, seen, limits)
    # ABANDON only when the instance cannot run the command, and only after the give-up time
    if d.action is A.ABANDON:
        assert command in (CommandStatus.UNREACHABLE, CommandStatus.PENDING)
        assert elapsed >= limits.give_up_after_s
    # never complete before the runner stopped and unregistered (or tried to, three times)
    if d.action is A.CONTINUE:
        assert stopped and unregistered
        if seen.busy and (kill_in is None or kill_in > SPOT_UNREGISTER_LEAD_S):
            assert elapsed >= limits.drain_budget_s or now >= (beat or T0) + hb
    # a heartbeat never goes past the global timeout
    if d.action is A.HEARTBEAT:
        assert elapsed < limits.global_timeout_s
    if d.next_check_at is not None:
        assert d.next_check_at >= now
