"""Destroy an environment in a safe order: drain the fleet to zero, delete the stack, prune.

Draining first lets running jobs finish through the lifecycle hook instead of being killed by
the stack deletion; pruning last removes the runners GitLab still lists once their instances
are gone. By default both steps come from the target (pruning needs a reachable GitLab);
tests and callers with other needs pass their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from runnerfleet.aws.fleet_drain import DestroyMarker
from runnerfleet.aws.fleet_resources import retained_resources
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import AbortedError, GuardrailError
from runnerfleet.ops.deploy import EnvResult, Settings, stack_operations
from runnerfleet.ops.drain_fleet import drain_before_destroy
from runnerfleet.ops.ports import SYSTEM_CLOCK, Clock, Reporter
from runnerfleet.ops.restore import destroy_marker
from runnerfleet.ops.runners import prune_after_destroy
from runnerfleet.ops.target import Target

Step = Callable[[], str]  # does the work, returns one line saying what it did


@dataclass(frozen=True)
class DestroySteps:
    """The optional steps around the deletion; None means "not available here"."""

    drain: Step | None = None
    prune: Step | None = None
    # records "a destroy is under way" until the stack is gone (deploy undoes a stopped one)
    marker: DestroyMarker | None = None


def default_steps(
    spec: FleetSpec, target: Target, reporter: Reporter, clock: Clock = SYSTEM_CLOCK
) -> DestroySteps:
    """Drain first (always), prune GitLab last (when GitLab is reachable from the target)."""
    prune = (lambda: prune_after_destroy(spec, target)) if target.gitlab.reachable else None
    return DestroySteps(
        drain=lambda: drain_before_destroy(spec, target, reporter, clock),
        prune=prune,
        marker=destroy_marker(spec, target),
    )


def destroy(
    spec: FleetSpec,
    target: Target,
    *,
    confirm: Callable[[str], bool],
    reporter: Reporter,
    settings: Settings,
    steps: DestroySteps | None = None,
    disable_protection: bool = False,
) -> EnvResult:
    """Delete the environment's stack after ``confirm(stack_name)`` says yes."""
    env, started, where = spec.name, time.monotonic(), target.location()
    stacks = stack_operations(target, settings)
    state = stacks.describe(spec.stack)
    if state is None:
        reporter.step(env, f"stack {spec.stack} does not exist: nothing to destroy")
        return EnvResult(env, spec.stack, where, "absent")
    if state.termination_protection and not disable_protection:
        raise GuardrailError(
            f"stack {spec.stack} has termination protection on (production)",
            hint="if you really mean it, run destroy again with --disable-protection",
        )
    if not confirm(spec.stack):
        raise AbortedError(f"destroy of {spec.stack} cancelled; nothing was changed")
    steps = steps or default_steps(spec, target, reporter)
    if steps.marker is not None:
        steps.marker.set(datetime.now(UTC).isoformat(timespec="seconds"))
    _run(steps.drain, env, "drain", reporter)
    if state.termination_protection:
        stacks.set_termination_protection(spec.stack, False)
        reporter.step(env, "termination protection: off")
    kept = retained_resources(target.clients.client("cloudformation"), spec.stack)
    reporter.begin(env, 1)
    stacks.delete_stack(state, lambda e: reporter.event(env, e))
    reporter.step(env, f"stack {spec.stack} deleted")
    if kept:
        reporter.step(env, retained_line(kept, target.region))
    if steps.marker is not None:
        steps.marker.clear()
    _run(steps.prune, env, "prune runners", reporter)
    return EnvResult(
        env, spec.stack, where, "deleted", seconds=round(time.monotonic() - started, 2)
    )


def retained_line(kept: list[tuple[str, str]], region: str) -> str:
    """Where the retained resources remain, and what re-creating the stack needs."""
    where = ", ".join(f"{kind} {name}" for kind, name in kept)
    return (
        f"retained (production: DeletionPolicy Retain), still in {region}: {where}; delete "
        "them by hand when no longer needed (creating this stack again needs the log groups "
        "gone: aws logs delete-log-group --log-group-name NAME)"
    )


def _run(step: Step | None, env: str, name: str, reporter: Reporter) -> None:
    if step is None:
        reporter.step(env, f"{name}: skipped (not available for this target)")
        return
    reporter.step(env, f"{name}: {step()}")
