"""The change-set flow every stack deploy goes through, the fleet's and the access stack's.

    state = usable_state(...)          # the deployed stack; ROLLBACK_COMPLETE deleted if agreed
    change_set = review(...)           # None: nothing would change (no change set is left)
    ... preview, guard, confirm ...    # the caller's; ``discard`` when the answer is no
    final = execute(...)               # live events; a failure raises with the failing events

``deploy_stack`` strings these together for one stack with one confirmation; the fleet deploy
runs the same steps for several environments in parallel with one confirmation for all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runnerfleet.aws.cloudformation import (
    ChangeSet,
    StackOperations,
    StackRequest,
    needs_deletion_error,
)
from runnerfleet.aws.stackstatus import REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE, StackState
from runnerfleet.errors import AbortedError, RunnerfleetError
from runnerfleet.ops.ports import Reporter

SKIPPED = "change set: skipped, template and parameters equal the deployed"
OfferDelete = Callable[[StackState], bool]  # asked for a ROLLBACK_COMPLETE stack; True deletes


def never(_state: StackState) -> bool:
    return False


def usable_state(
    stacks: StackOperations, name: str, *, env: str, reporter: Reporter, offer_delete: OfferDelete
) -> StackState | None:
    """The deployed stack; a ROLLBACK_COMPLETE one is deleted first if the operator agrees."""
    state = stacks.describe(name)
    if state is None or state.status != ROLLBACK_COMPLETE:
        return state
    if not offer_delete(state):
        raise needs_deletion_error(name, state)
    reporter.step(env, f"deleting {name} (ROLLBACK_COMPLETE) before creating it again")
    stacks.delete_stack(state, lambda e: reporter.event(env, e))
    return None


def review(
    stacks: StackOperations,
    request: StackRequest,
    state: StackState | None,
    *,
    env: str,
    reporter: Reporter,
    differs: bool = False,
) -> ChangeSet | None:
    """The change set a deploy would execute, or None when nothing would change.

    ``differs``: the caller compared already (``unchanged`` said no); only AWS decides now."""
    if not differs and unchanged(stacks, request, state):
        reporter.step(env, SKIPPED)
        return None
    reporter.step(env, "change set: creating")
    change_set = stacks.create_change_set(request, state)
    if change_set is None:
        reporter.step(env, "change set: AWS reports no changes (deleted)")
    return change_set


def unchanged(stacks: StackOperations, request: StackRequest, state: StackState | None) -> bool:
    """True when the deployed stack already is ``request``: no change set is needed."""
    reviewable = state is not None and state.status not in (REVIEW_IN_PROGRESS, ROLLBACK_COMPLETE)
    return reviewable and state is not None and stacks.unchanged(request, state)


def execute(
    stacks: StackOperations, change_set: ChangeSet, stack: str, *, env: str, reporter: Reporter
) -> StackState:
    """Run the change set with live events; raises DeployFailedError with the failing events."""
    reporter.begin(env, len(change_set.changes) + 1)
    return stacks.execute(change_set, stack, lambda e: reporter.event(env, e))


def discard(stacks: StackOperations, change_set: ChangeSet | None, stack: str) -> None:
    """Delete a change set nobody will execute (and the empty stack a CREATE one made)."""
    if change_set is not None:
        stacks.delete_change_set(change_set, stack)


@dataclass(frozen=True)
class StackOutcome:
    outcome: str  # created, updated, no changes
    state: StackState | None


def deploy_stack(
    stacks: StackOperations,
    request: StackRequest,
    state: StackState | None,
    *,
    env: str,
    reporter: Reporter,
    confirm: Callable[[ChangeSet], bool],
    guard: Callable[[ChangeSet], None] = lambda _change_set: None,
    how_to_apply: str = "rerun and answer y (or pass --yes) to apply it",
) -> StackOutcome:
    """One stack: review, guard, confirm (the caller shows the preview), execute."""
    change_set = review(stacks, request, state, env=env, reporter=reporter)
    if change_set is None:
        return StackOutcome("no changes", state)
    try:
        guard(change_set)
        agreed = confirm(change_set)
    except (RunnerfleetError, KeyboardInterrupt):
        discard(stacks, change_set, request.name)
        raise
    if not agreed:
        discard(stacks, change_set, request.name)
        raise AbortedError(
            f"deploy of {request.name} cancelled; the change set was deleted",
            hint=f"nothing changed: {how_to_apply}",
        )
    final = execute(stacks, change_set, request.name, env=env, reporter=reporter)
    return StackOutcome("created" if change_set.change_type == "CREATE" else "updated", final)
