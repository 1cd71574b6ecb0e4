"""Following one instance's drain from the operator's side (``runnerfleet terminate``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import DrainCommands
from runnerfleet.drain import CommandStatus
from runnerfleet.errors import AwsError


@dataclass(frozen=True, slots=True)
class WatchStep:
    elapsed_s: float
    state: str | None  # None: the instance has left the group
    command: CommandStatus | None  # the drain command's status, once one was sent

    def line(self) -> str:
        where = self.state or "gone (terminated)"
        drain = f", drain command {self.command}" if self.command else ""
        return f"{self.elapsed_s:5.0f}s  {where}{drain}"


def watch_drain(
    actions: LifecycleActions,
    commands: DrainCommands | None,
    *,
    instance_id: str,
    document: str | None,
    now: Callable[[], float],
    sleep: Callable[[float], None],
    on_step: Callable[[WatchStep], None],
    timeout_s: float,
    poll_s: float = 10.0,
) -> WatchStep:
    """Poll until the instance has left its group; report each change of state or command."""
    started, last = now(), None
    while True:
        state = actions.instance_state(instance_id)
        command = None
        if commands is not None and document and state is not None:
            found = commands.latest(instance_id, document)
            command = found[1] if found else None
        step = WatchStep(now() - started, state, command)
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
        sleep(poll_s)
