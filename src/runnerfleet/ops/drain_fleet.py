"""Drain a fleet to zero before its stack is deleted, so every runner leaves through the hook.

Deleting the stack first would remove the hook, rule and Lambda before the instances, leaving
stale runners in GitLab. ``drain_fleet_to_zero`` pauses the autoscaler (disables its schedule
rule), lifts scale-in protection, sets min = desired = 0, and waits until the group is empty
(every terminate hook completed). Each step is idempotent, so re-running it after an interruption
finishes the job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runnerfleet.aws.awscall import aws_call
from runnerfleet.aws.fleet_drain import pause_autoscaler, start_scale_to_zero
from runnerfleet.aws.fleet_resources import find_fleet, stack_exists
from runnerfleet.aws.lifecycle_ssm import ActionRecords
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import AwsError
from runnerfleet.ops.ports import Clock, Reporter
from runnerfleet.ops.target import Target

DRAIN_MARGIN_S = 300  # on top of the longest drain plus one hook timeout


@dataclass(frozen=True, slots=True)
class DrainProgress:
    elapsed_s: float
    states: dict[str, int]  # lifecycle state -> instance count

    @property
    def remaining(self) -> int:
        return sum(self.states.values())

    def line(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in sorted(self.states.items())) or "none"
        left = f"{self.remaining} instance(s) left ({parts})"
        return f"draining fleet: {left} after {self.elapsed_s:.0f}s"


@dataclass(frozen=True, slots=True)
class DrainResult:
    group: str
    paused_rules: tuple[str, ...]
    elapsed_s: float
    already_gone: bool = False


def drain_fleet_to_zero(
    *,
    cloudformation: Any,
    autoscaling: Any,
    events: Any,
    stack: str,
    clock: Clock,
    timeout_s: float,
    poll_s: float = 15.0,
    on_progress: Callable[[DrainProgress], None] = lambda _p: None,
) -> DrainResult:
    """Scale the fleet of ``stack`` to zero through its terminate hook and wait until it is empty.

    ``timeout_s`` should exceed the drain budget plus the hook timeout. On timeout it raises
    AwsError; the fleet keeps draining and a re-run picks up where this one stopped.
    """
    if not stack_exists(cloudformation, stack):
        return DrainResult(group="", paused_rules=(), elapsed_s=0.0, already_gone=True)
    fleet = find_fleet(cloudformation, events, stack)
    pause_autoscaler(events, fleet.schedule_rules)
    actions = start_scale_to_zero(autoscaling, fleet.group)
    started = clock.now()
    while True:
        states = Counter(i.state for i in actions.instances(fleet.group))
        progress = DrainProgress(clock.now() - started, dict(states))
        on_progress(progress)
        if not progress.remaining:
            return DrainResult(fleet.group, fleet.schedule_rules, progress.elapsed_s)
        if progress.elapsed_s >= timeout_s:
            raise AwsError(
                f"fleet {fleet.group} still has {progress.remaining} instance(s) after "
                f"{timeout_s:.0f}s ({progress.line()})",
                hint="the drain goes on in AWS; run the same command again to wait for the rest "
                "(`runnerfleet logs ENVFILE INSTANCE` shows what a drain waits for)",
            )
        clock.sleep(poll_s)


def drain_before_destroy(spec: FleetSpec, target: Target, reporter: Reporter, clock: Clock) -> str:
    """Destroy's first step: the fleet drained to zero, the drain records pruned with it."""
    clients = target.clients
    if not _has_group(clients.client("cloudformation"), spec.stack):
        return "the stack holds no Auto Scaling group: nothing to drain"
    result = drain_fleet_to_zero(
        cloudformation=clients.client("cloudformation"),
        autoscaling=clients.client("autoscaling"),
        events=clients.client("events"),
        stack=spec.stack,
        clock=clock,
        timeout_s=spec.drain.max_drain_s + spec.drain.heartbeat_timeout_s + DRAIN_MARGIN_S,
        poll_s=target.capabilities.poll_s,
        on_progress=lambda p: reporter.step(spec.name, p.line()),
    )
    if result.already_gone:
        return "the stack is already gone"
    # the handlers' dedupe records are no stack resource: they go with the fleet
    ActionRecords(clients.client("ssm"), f"{spec.ssm_path}/drain-actions").prune(
        older_than=clock.wall() + 1, limit=10_000
    )
    return f"group {result.group} is empty after {result.elapsed_s:.0f} s"


def _has_group(cloudformation: Any, stack: str) -> bool:
    """A stack whose creation failed (ROLLBACK_COMPLETE) has no group left to drain."""
    resources = aws_call(
        lambda: cloudformation.describe_stack_resources(StackName=stack)["StackResources"],
        f"listing the resources of {stack}",
    )
    return any(
        r.get("ResourceType") == "AWS::AutoScaling::AutoScalingGroup"
        and r.get("ResourceStatus") != "DELETE_COMPLETE"  # rolled back: the group is gone
        for r in resources
    )
