"""drain_step: the one statement of the drain policy, for a terminate lifecycle action or a spot
interruption; ``record`` folds the outcome of an action back into the instance's state.

The order is fixed: deliver the command, stop taking jobs, heartbeat while jobs run (up to the
drain budget, then abort them), unregister, complete with CONTINUE. ABANDON is reserved for an
instance that cannot run the command at all (unreachable or never started) once the give-up
timeout has passed; anything else that goes wrong still unregisters and completes with CONTINUE.
A spot reclaim, or a lifecycle action that timed out, ends the wait at once: unregister before
the instance goes. The Lambda runs the delivery part, the drain script on the instance (which
the scenario table holds to the same steps) the rest; the simulator and the reliability
benchmark run all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from runnerfleet.drain.types import (
    ATTEMPTS,
    COMMAND_RAN,
    SPOT_UNREGISTER_LEAD_S,
    CommandStatus,
    DrainAction,
    DrainDecision,
    DrainLimits,
    DrainState,
    Observation,
)
from runnerfleet.scaling.lifecycle import ABANDON, CONTINUE

A = DrainAction


def drain_step(state: DrainState, seen: Observation, limits: DrainLimits) -> DrainDecision:
    """The one next step for this drain (pure)."""
    if state.result is not None:
        return DrainDecision(A.DONE, f"the lifecycle action is complete ({state.result})")
    if seen.command not in COMMAND_RAN:
        return _delivery(state, seen, limits)
    if seen.command is CommandStatus.FAILED:
        why = "the drain command failed on the instance; the hook ends at its timeout"
        return DrainDecision(A.WAIT, why, failure=True, delivered=True)
    return replace(_on_instance(state, seen, limits), delivered=True)


def record(state: DrainState, action: DrainAction, now: float, ok: bool = True) -> DrainState:
    """``state`` once ``action`` was carried out at ``now`` (``ok``: it worked)."""
    change = _RECORDS.get(action)
    return state if change is None else change(state, now, ok)


def _completed(result: str) -> Callable[[DrainState, float, bool], DrainState]:
    def change(s: DrainState, now: float, ok: bool) -> DrainState:
        tries = s.complete_tries + 1
        return replace(s, complete_tries=tries, result=result if ok else None, last_try_at=now)

    return change


def _unregistered(s: DrainState, now: float, ok: bool) -> DrainState:
    tries = s.unregister_tries + 1
    return replace(s, unregister_tries=tries, unregistered=ok, last_try_at=now)


def _heartbeat(s: DrainState, now: float, ok: bool) -> DrainState:
    return replace(s, heartbeat_tried_at=now, heartbeat_ok_at=now if ok else s.heartbeat_ok_at)


_RECORDS: dict[DrainAction, Callable[[DrainState, float, bool], DrainState]] = {
    A.SEND: lambda s, now, _ok: replace(s, sent_at=now),
    A.STOP_RUNNER: lambda s, now, _ok: replace(s, stopped_at=now),
    A.ABORT_JOBS: lambda s, now, _ok: replace(s, aborted_at=now),
    A.HEARTBEAT: _heartbeat,
    A.UNREGISTER: _unregistered,
    A.CONTINUE: _completed(CONTINUE),
    A.ABANDON: _completed(ABANDON),
}


# ----- delivery (the Lambda's part) ------------------------------------------------------------


def _delivery(state: DrainState, seen: Observation, limits: DrainLimits) -> DrainDecision:
    if seen.command is CommandStatus.NOT_SENT:
        return DrainDecision(A.SEND, "send the drain command to the instance")
    unreachable = seen.command is CommandStatus.UNREACHABLE
    what = "unreachable" if unreachable else "still not started"
    give_up_at = state.started_at + limits.give_up_after_s
    if seen.now >= give_up_at:
        return DrainDecision(
            A.ABANDON,
            f"the drain command is {what} after {limits.give_up_after_s:.0f} s: "
            "the instance cannot run it (SSM agent offline or instance unreachable)",
            failure=True,
        )
    again_at = (state.sent_at or state.started_at) + limits.poll_s
    if unreachable and seen.now >= again_at:
        return DrainDecision(A.SEND, "the instance was unreachable: send again", failure=True)
    return DrainDecision(
        A.WAIT,
        f"the drain command is {what}; trying until {limits.give_up_after_s:.0f} s",
        next_check_at=min(give_up_at, again_at if unreachable else seen.now + limits.poll_s),
        failure=unreachable,
    )


# ----- on the instance ---------------------------------------------------------------------------


def _on_instance(state: DrainState, seen: Observation, limits: DrainLimits) -> DrainDecision:
    if state.stopped_at is None:
        return DrainDecision(A.STOP_RUNNER, "stop taking jobs; running jobs finish")
    ending = _why_end(state, seen, limits)
    if ending is not None:
        return _finish(state, seen.now, limits, *ending)
    return _keep_alive(state, seen, limits)


def _why_end(state: DrainState, seen: Observation, limits: DrainLimits) -> tuple[str, bool] | None:
    """Why the wait for jobs is over (and whether that is a failure), or None: keep waiting."""
    now = seen.now
    if not seen.busy:
        return "jobs finished", False
    if seen.kill_at is not None and now >= seen.kill_at - SPOT_UNREGISTER_LEAD_S:
        return "spot reclaim imminent: running jobs die with the instance", True
    if state.lifecycle_action and now >= _action_expires_at(state, limits):
        return "the lifecycle action timed out (heartbeats failed): the instance goes now", True
    if state.aborted_at is not None and now >= state.aborted_at + limits.kill_grace_s:
        return "the aborted jobs outlived the kill grace: the runner is killed", True
    return None


def _keep_alive(state: DrainState, seen: Observation, limits: DrainLimits) -> DrainDecision:
    jobs = "an unknown number of" if seen.running_jobs is None else str(seen.running_jobs)
    if state.aborted_at is None and seen.now >= state.started_at + limits.drain_budget_s:
        return DrainDecision(
            A.ABORT_JOBS,
            f"drain budget of {limits.drain_budget_s:.0f} s spent with {jobs} job(s) running: "
            "abort them",
            failure=True,
        )
    if state.lifecycle_action and seen.now >= _heartbeat_due(state, limits):
        return DrainDecision(A.HEARTBEAT, f"{jobs} job(s) still running: extend the hook")
    return DrainDecision(
        A.WAIT, f"{jobs} job(s) still running", next_check_at=_next_look(state, seen, limits)
    )


def _heartbeat_due(state: DrainState, limits: DrainLimits) -> float:
    last_ok = state.heartbeat_ok_at if state.heartbeat_ok_at is not None else state.started_at
    tried = state.heartbeat_tried_at
    if tried is not None and tried > last_ok:  # the last heartbeat failed: retry soon
        return tried + limits.poll_s
    return last_ok + limits.heartbeat_every_s


def _action_expires_at(state: DrainState, limits: DrainLimits) -> float:
    last_ok = state.heartbeat_ok_at if state.heartbeat_ok_at is not None else state.started_at
    return min(last_ok + limits.heartbeat_timeout_s, state.started_at + limits.global_timeout_s)


def _next_look(state: DrainState, seen: Observation, limits: DrainLimits) -> float:
    """The earliest time at which time alone changes the decision."""
    if state.aborted_at is None:
        times = [state.started_at + limits.drain_budget_s]
    else:
        times = [state.aborted_at + limits.kill_grace_s]
    if seen.kill_at is not None:
        times.append(seen.kill_at - SPOT_UNREGISTER_LEAD_S)
    if state.lifecycle_action:
        times += [_heartbeat_due(state, limits), _action_expires_at(state, limits)]
    return max(seen.now, min(times))


def _finish(
    state: DrainState, now: float, limits: DrainLimits, why: str, failure: bool
) -> DrainDecision:
    if not state.unregistered and state.unregister_tries < ATTEMPTS:
        decision = DrainDecision(A.UNREGISTER, f"{why}: unregister", failure=failure)
        return _after_pause(decision, state.unregister_tries, state, now, limits)
    lost = "" if state.unregistered else " (the runner manager stays registered: prune it)"
    if state.lifecycle_action and state.complete_tries < ATTEMPTS:
        decision = DrainDecision(
            A.CONTINUE, f"{why}: complete with CONTINUE{lost}", failure=failure or bool(lost)
        )
        return _after_pause(decision, state.complete_tries, state, now, limits)
    if state.lifecycle_action:
        return DrainDecision(
            A.DONE,
            f"CompleteLifecycleAction failed {ATTEMPTS} times: the hook ends at its timeout",
            failure=True,
        )
    return DrainDecision(
        A.DONE, f"{why}: the instance waits for its reclaim{lost}", failure=bool(lost)
    )


def _after_pause(
    decision: DrainDecision, tries: int, state: DrainState, now: float, limits: DrainLimits
) -> DrainDecision:
    """A retry (``tries`` > 0 failed before) waits ``retry_s`` after the last attempt."""
    if tries == 0 or state.last_try_at is None or now >= state.last_try_at + limits.retry_s:
        return decision
    return replace(decision, action=A.WAIT, next_check_at=state.last_try_at + limits.retry_s)
