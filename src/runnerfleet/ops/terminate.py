"""Terminate one instance through its Auto Scaling group, so the terminate hook drains it first,
and follow the drain from the operator's side (``runnerfleet terminate``).

Plain EC2 termination would skip the hook and is never used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import DrainCommands
from runnerfleet.drain import CommandStatus
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import AwsError, SpecError
from runnerfleet.ops.fleet import fleet_of
from runnerfleet.ops.ports import Clock, Reporter
from runnerfleet.ops.target import Target

INSTANCE_RE = re.compile(r"^i-[0-9a-f]{8,17}$")
SHUTDOWN_MARGIN_S = 600  # on top of the longest drain and one hook timeout


@dataclass(frozen=True, slots=True)
class WatchStep:
    elapsed_s: float
    state: str | None  # None: the instance has left the group
    command: CommandStatus | None  # the drain command's status, once one was sent

    def line(self) -> str:
        where = self.state or "gone (terminated)"
        drain = f", drain command {self.command}" if self.command else ""
        return f"{self.elapsed_s:5.0f}s  {where}{drain}"


@dataclass(frozen=True, slots=True)
class Terminated:
    instance_id: str
    what: str  # what the group said it does
    group: str
    last: WatchStep | None  # None: not followed


def terminate_instance(
    spec: FleetSpec,
    target: Target,
    instance_id: str,
    *,
    replace: bool,
    follow: bool,
    timeout_s: float | None,
    reporter: Reporter,
    clock: Clock,
) -> Terminated:
    """Terminate ``instance_id`` through the group (desired capacity kept with ``replace``)."""
    if not INSTANCE_RE.match(instance_id):
        raise SpecError(
            f"{instance_id!r} is not an EC2 instance id", hint="pass an id like i-0abc123def4567890"
        )
    fleet = fleet_of(spec, target)
    actions = LifecycleActions(target.clients.client("autoscaling"))
    what = actions.terminate(fleet.group, instance_id, decrement=not replace)
    reporter.step(spec.name, f"{what} (through {fleet.group}: the terminate hook drains it)")
    if not follow:
        return Terminated(instance_id, what, fleet.group, None)
    last = watch_drain(
        actions,
        DrainCommands(target.clients.client("ssm")),
        instance_id=instance_id,
        document=drain_document(fleet.documents),
        clock=clock,
        on_step=lambda step: reporter.step(spec.name, step.line()),
        timeout_s=timeout_s or drain_wait_s(spec),
        poll_s=min(10.0, target.capabilities.poll_s),
    )
    return Terminated(instance_id, what, fleet.group, last)


def drain_document(documents: tuple[str, ...]) -> str | None:
    """The stack's drain document (CloudFormation names it ``<stack>-DrainDocument-<id>``)."""
    return next((d for d in documents if "drain" in d.lower()), None)


def drain_wait_s(spec: FleetSpec) -> float:
    """Long enough for the longest drain the fleet allows, plus the hook and shutdown."""
    return float(spec.drain.max_drain_s + spec.drain.heartbeat_timeout_s + SHUTDOWN_MARGIN_S)


def watch_drain(
    actions: LifecycleActions,
    commands: DrainCommands | None,
    *,
    instance_id: str,
    document: str | None,
    clock: Clock,
    on_step: Callable[[WatchStep], None],
    timeout_s: float,
    poll_s: float = 10.0,
) -> WatchStep:
    """Poll until the instance has left its group; report each change of state or command."""
    started, last = clock.now(), None
    while True:
        state = actions.instance_state(instance_id)
        command = None
        if commands is not None and document and state is not None:
            found = commands.latest(instance_id, document)
            command = found[1] if found else None
        step = WatchStep(clock.now() - started, state, command)
        if last is None or (step.state, step.command) != (last.state, last.command):
            on_step(step)
        last = step
        if state is None:
            return step
        if step.elapsed_s >= timeout_s:
            raise AwsError(
                f"{instance_id} is still {state} after {timeout_s:.0f}s",
                hint="the drain goes on: jobs may still run; follow it with "
                "`runnerfleet logs ENVFILE INSTANCE`",
            )
        clock.sleep(poll_s)
