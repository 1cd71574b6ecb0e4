"""decide_drain: the next step of one termination lifecycle action.

The order on the instance is fixed: stop taking jobs, heartbeat while jobs run (up to the drain
budget), unregister, complete with CONTINUE. ABANDON is reserved for an instance that cannot run
the drain command at all (SSM unreachable, InvalidInstanceId, undeliverable) once the give-up
timeout has passed; anything else that went wrong still drains and completes with CONTINUE.
"""

from __future__ import annotations

from runnerfleet.drain.types import (
    SPOT_UNREGISTER_LEAD_S,
    CommandStatus,
    DrainAction,
    DrainDecision,
    DrainLimits,
    DrainState,
)

_PENDING = frozenset({"Pending", "Delayed"})
_UNDELIVERABLE_DETAILS = frozenset({"Undeliverable", "Delivery Timed Out", "Terminated"})
_UNDELIVERABLE_ERRORS = frozenset({"InvalidInstanceId", "InvalidInstanceInformationFilterValue"})


def undeliverable_error(error_code: str) -> bool:
    """True for SendCommand errors that mean this instance cannot receive commands."""
    return error_code in _UNDELIVERABLE_ERRORS


def classify_invocation(status: str, details: str = "", response_code: int = -1) -> CommandStatus:
    """Map a GetCommandInvocation Status/StatusDetails/ResponseCode to a CommandStatus.

    TimedOut covers both delivery and execution timeouts; only the details tell them apart, and
    only a delivery failure (the script never started: ResponseCode -1) means unreachable.
    """
    if details in _UNDELIVERABLE_DETAILS and response_code == -1:
        return CommandStatus.UNREACHABLE
    if status in _PENDING:
        return CommandStatus.PENDING
    if status in ("InProgress", "Cancelling"):
        return CommandStatus.RUNNING
    if status == "Success":
        return CommandStatus.SUCCEEDED
    return CommandStatus.FAILED


def decide_drain(state: DrainState, limits: DrainLimits) -> DrainDecision:
    """The one next step for this lifecycle action (pure)."""
    if state.completed:
        return DrainDecision(DrainAction.DONE, "the lifecycle action is already complete")
    if state.command is CommandStatus.NOT_SENT:
        return DrainDecision(DrainAction.SEND, "send the drain command to the instance")
    if state.command in (CommandStatus.UNREACHABLE, CommandStatus.PENDING):
        return _delivery(state, limits)
    if state.command is CommandStatus.SUCCEEDED:
        return _finish(state, "the drain command finished")
    return _draining(state, limits)


def _delivery(state: DrainState, limits: DrainLimits) -> DrainDecision:
    give_up_at = state.started_at + limits.give_up_after_s
    what = "unreachable" if state.command is CommandStatus.UNREACHABLE else "still not started"
    if state.now >= give_up_at:
        return DrainDecision(
            DrainAction.ABANDON,
            f"the drain command is {what} after {limits.give_up_after_s:.0f} s: "
            "the instance cannot run it (SSM agent offline or instance unreachable)",
            failure=True,
        )
    return DrainDecision(
        DrainAction.WAIT,
        f"the drain command is {what}; retrying until {limits.give_up_after_s:.0f} s",
        next_check_at=min(give_up_at, state.now + 10.0),
        failure=state.command is CommandStatus.UNREACHABLE,
    )


def _draining(state: DrainState, limits: DrainLimits) -> DrainDecision:
    failed = state.command is CommandStatus.FAILED
    prefix = "the drain command failed; draining from outside: " if failed else ""
    if not state.runner_stopped:
        return DrainDecision(DrainAction.STOP_RUNNER, prefix + "stop taking jobs", failure=failed)
    if state.kill_at is not None and state.now >= state.kill_at - SPOT_UNREGISTER_LEAD_S:
        return _finish(
            state,
            prefix + "spot reclaim imminent: running jobs die with the "
            "instance (the spot handler retries them)",
            failure=state.busy,
        )
    over_budget = state.elapsed_s >= limits.drain_budget_s
    if not state.busy or over_budget:
        why = (
            "jobs finished"
            if not state.busy
            else (f"drain budget of {limits.drain_budget_s:.0f} s spent with jobs still running")
        )
        return _finish(state, prefix + why, failure=failed or (state.busy and over_budget))
    return _keep_alive(state, limits, prefix, failed)


def _keep_alive(state: DrainState, limits: DrainLimits, prefix: str, failed: bool) -> DrainDecision:
    last = state.last_heartbeat_at if state.last_heartbeat_at is not None else state.started_at
    heartbeat_due = last + limits.heartbeat_every_s
    budget_end = state.started_at + limits.drain_budget_s
    jobs = "an unknown number of" if state.running_jobs is None else str(state.running_jobs)
    if state.now >= heartbeat_due:
        return DrainDecision(
            DrainAction.HEARTBEAT,
            prefix + f"{jobs} job(s) still running: extend the hook",
            next_check_at=min(state.now + limits.heartbeat_every_s, budget_end),
            failure=failed,
        )
    return DrainDecision(
        DrainAction.WAIT,
        prefix + f"{jobs} job(s) still running",
        next_check_at=min(heartbeat_due, budget_end),
        failure=failed,
    )


def _finish(state: DrainState, why: str, *, failure: bool = False) -> DrainDecision:
    if not state.unregistered:
        return DrainDecision(DrainAction.UNREGISTER, f"{why}: unregister", failure=failure)
    return DrainDecision(DrainAction.CONTINUE, f"{why}: complete with CONTINUE", failure=failure)
