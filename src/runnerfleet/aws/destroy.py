"""Destroy an environment in a safe order: drain the fleet to zero, delete the stack, prune.

Draining first lets running jobs finish through the lifecycle hook instead of being killed by
the stack deletion; pruning last removes the runners GitLab still lists once their instances
are gone. Both steps are optional callables so the engine does not depend on how the fleet
is drained or GitLab is reached; the CLI passes them in when they apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.cloudformation import StackOperations
from runnerfleet.aws.deploy import EnvResult, Reporter, Settings, location
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import AbortedError, GuardrailError

Step = Callable[[], str]  # does the work, returns one line saying what it did


@dataclass(frozen=True)
class DestroySteps:
    """The optional steps around the deletion; None means "not available here"."""

    drain: Step | None = None
    prune: Step | None = None


def destroy(
    spec: FleetSpec,
    factory: ClientFactory,
    *,
    confirm: Callable[[str], bool],
    reporter: Reporter,
    settings: Settings,
    steps: DestroySteps = DestroySteps(),
    disable_protection: bool = False,
) -> EnvResult:
    """Delete the environment's stack after ``confirm(stack_name)`` says yes."""
    env, started, where = spec.name, time.monotonic(), location(factory)
    ops = StackOperations(
        factory.client("cloudformation"),
        sleep=settings.sleep,
        poll_s=settings.poll_s,
        timeout_s=settings.timeout_s,
    )
    state = ops.describe(spec.stack)
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
    _run(steps.drain, env, "drain", reporter)
    if state.termination_protection:
        ops.set_termination_protection(spec.stack, False)
        reporter.step(env, "termination protection: off")
    reporter.begin(env, 1)
    ops.delete_stack(state, lambda e: reporter.event(env, e))
    reporter.step(env, f"stack {spec.stack} deleted")
    _run(steps.prune, env, "prune runners", reporter)
    return EnvResult(
        env, spec.stack, where, "deleted", seconds=round(time.monotonic() - started, 2)
    )


def _run(step: Step | None, env: str, name: str, reporter: Reporter) -> None:
    if step is None:
        reporter.step(env, f"{name}: skipped (not available for this target)")
        return
    reporter.step(env, f"{name}: {step()}")
