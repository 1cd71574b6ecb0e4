"""The pure drain decisions: order of steps, heartbeats, budget, ABANDON only when unreachable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runnerfleet.drain import (
    CommandStatus,
    DrainAction,
    DrainLimits,
    DrainState,
    classify_invocation,
    decide_drain,
    parse_lifecycle_event,
    undeliverable_error,
)
from tests.ops.events import load_event

LIMITS = DrainLimits(heartbeat_timeout_s=600, max_drain_s=10800)
T0 = 1_000_000.0


def state(**kw: object) -> DrainState:
    base: dict[str, object] = {"now": T0, "started_at": T0, "command": CommandStatus.RUNNING}
    base.update(kw)
    return DrainState(**base)  # type: ignore[arg-type]


def test_not_sent_means_send() -> None:
    assert decide_drain(state(command=CommandStatus.NOT_SENT), LIMITS).action is DrainAction.SEND


def test_order_is_stop_then_heartbeat_then_unregister_then_continue() -> None:
    s = state(running_jobs=2)
    assert decide_drain(s, LIMITS).action is DrainAction.STOP_RUNNER
    s = state(running_jobs=2, runner_stopped=True, now=T0 + 301)
    assert decide_drain(s, LIMITS).action is DrainAction.HEARTBEAT
    s = state(running_jobs=0, runner_stopped=True, now=T0 + 400)
    assert decide_drain(s, LIMITS).action is DrainAction.UNREGISTER
    s = state(running_jobs=0, runner_stopped=True, unregistered=True)
    assert decide_drain(s, LIMITS).action is DrainAction.CONTINUE


def test_wait_between_heartbeats_with_next_check_at_the_due_time() -> None:
    d = decide_drain(
        state(running_jobs=1, runner_stopped=True, now=T0 + 100, last_heartbeat_at=T0), LIMITS
    )
    assert d.action is DrainAction.WAIT
    assert d.next_check_at == T0 + 300


def test_unknown_job_count_counts_as_busy() -> None:
    d = decide_drain(state(running_jobs=None, runner_stopped=True, now=T0 + 301), LIMITS)
    assert d.action is DrainAction.HEARTBEAT


def test_jobs_longer_than_the_hook_timeout_are_protected_until_the_budget() -> None:
    s = state(
        running_jobs=1,
        runner_stopped=True,
        now=T0 + 3 * 3600 - 1,
        last_heartbeat_at=T0 + 3 * 3600 - 400,
    )
    assert decide_drain(s, LIMITS).action is DrainAction.HEARTBEAT


def test_budget_spent_unregisters_and_reports_failure() -> None:
    s = state(running_jobs=1, runner_stopped=True, now=T0 + 10800)
    d = decide_drain(s, LIMITS)
    assert d.action is DrainAction.UNREGISTER and d.failure
    assert "budget" in d.reason


def test_budget_is_capped_below_the_global_timeout() -> None:
    limits = DrainLimits(heartbeat_timeout_s=30, max_drain_s=172800)
    assert limits.global_timeout_s == 3000
    assert limits.drain_budget_s == 2970


@pytest.mark.parametrize("command", [CommandStatus.UNREACHABLE, CommandStatus.PENDING])
def test_unreachable_waits_then_abandons_after_the_timeout(command: CommandStatus) -> None:
    early = decide_drain(state(command=command, now=T0 + 30), LIMITS)
    assert early.action is DrainAction.WAIT
    late = decide_drain(state(command=command, now=T0 + 120), LIMITS)
    assert late.action is DrainAction.ABANDON and late.failure


def test_failed_command_still_drains_from_outside_and_never_abandons() -> None:
    s = state(
        command=CommandStatus.FAILED,
        runner_stopped=True,
        running_jobs=1,
        now=T0 + 9000,
        last_heartbeat_at=T0 + 8990,
    )
    d = decide_drain(s, LIMITS)
    assert d.action is DrainAction.WAIT and d.failure
    s = state(command=CommandStatus.FAILED, runner_stopped=True, running_jobs=0, unregistered=True)
    assert decide_drain(s, LIMITS).action is DrainAction.CONTINUE


def test_completed_is_done() -> None:
    assert decide_drain(state(completed=True), LIMITS).action is DrainAction.DONE


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
    command: CommandStatus,
    kill_in: float | None,
) -> None:
    limits = DrainLimits(heartbeat_timeout_s=hb, max_drain_s=budget)
    s = DrainState(
        now=T0 + elapsed,
        started_at=T0,
        command=command,
        running_jobs=jobs,
        runner_stopped=stopped,
        unregistered=unregistered,
        kill_at=None if kill_in is None else T0 + elapsed + kill_in,
    )
    d = decide_drain(s, limits)
    # ABANDON only when the instance cannot run the command, and only after the give-up time
    if d.action is DrainAction.ABANDON:
        assert command in (CommandStatus.UNREACHABLE, CommandStatus.PENDING)
        assert elapsed >= limits.give_up_after_s
    # never complete while jobs run inside the budget; never complete before unregistering
    if d.action is DrainAction.CONTINUE:
        assert unregistered
        spot_due = kill_in is not None and kill_in <= 30
        if command is not CommandStatus.SUCCEEDED:
            assert not s.busy or elapsed >= limits.drain_budget_s or spot_due
    # a heartbeat never extends past the global timeout
    if d.action is DrainAction.HEARTBEAT:
        assert elapsed < limits.global_timeout_s - limits.heartbeat_timeout_s
    if d.next_check_at is not None:
        assert d.next_check_at >= s.now


def test_spot_reclaim_unregisters_before_the_instance_dies() -> None:
    s = state(running_jobs=2, runner_stopped=True, now=T0 + 60, kill_at=T0 + 120)
    assert decide_drain(s, LIMITS).action is DrainAction.WAIT
    s = state(running_jobs=2, runner_stopped=True, now=T0 + 95, kill_at=T0 + 120)
    d = decide_drain(s, LIMITS)
    assert d.action is DrainAction.UNREGISTER and d.failure and "spot" in d.reason
    s = state(running_jobs=2, runner_stopped=True, unregistered=True, now=T0 + 96, kill_at=T0 + 120)
    assert decide_drain(s, LIMITS).action is DrainAction.CONTINUE
