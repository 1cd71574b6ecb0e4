"""Doctor checks about the stack: its state, recent failures with reasons, and drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.fleet_drain import DestroyMarker, disabled_rules
from runnerfleet.aws.fleet_resources import find_fleet, stack_exists
from runnerfleet.ops.doctor import Check, DoctorContext, Finding, fail, ok, warn

_BAD_STATES = ("FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_IN_PROGRESS")
_DRIFT_POLLS = 60


def stack_state(ctx: DoctorContext) -> Iterator[Finding]:
    cfn, name = ctx.clients.client("cloudformation"), ctx.spec.stack
    try:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" not in str(exc):
            raise
        yield warn("stack", f"stack {name} is not deployed", "run `runnerfleet deploy ENVFILE`")
        return
    status = str(stack["StackStatus"])
    if any(bad in status for bad in _BAD_STATES):
        yield fail(
            "stack",
            f"stack {name} is {status}: {stack.get('StackStatusReason', '')}",
            "read the failures below; fix the cause and deploy again",
        )
    else:
        yield ok("stack", f"stack {name} is {status}")
    yield from _recent_failures(cfn, name)


def _recent_failures(cfn: Any, name: str, limit: int = 5) -> Iterator[Finding]:
    events = cfn.describe_stack_events(StackName=name).get("StackEvents", [])
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")][:limit]
    for e in failed:
        yield fail(
            f"stack event {e.get('LogicalResourceId', '?')}",
            f"{e.get('ResourceStatus')} ({e.get('ResourceType', '')}): "
            f"{e.get('ResourceStatusReason', 'no reason given')}",
            "fix the cause in the environment file or account, then deploy again",
        )


def drift(ctx: DoctorContext) -> Iterator[Finding]:
    cfn, name = ctx.clients.client("cloudformation"), ctx.spec.stack
    if not ctx.capabilities.drift_detection:
        yield warn(
            "drift",
            "drift detection is not emulated by the sandbox",
            "run doctor against the real account to check drift",
        )
        return
    try:
        cfn.describe_stacks(StackName=name)
    except ClientError as exc:
        if "does not exist" in str(exc):
            return  # nothing deployed, nothing to drift; the stack check says so
        raise
    detection = cfn.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
    status = _wait_detection(ctx, cfn, detection)
    if status.get("DetectionStatus") != "DETECTION_COMPLETE":
        yield warn(
            "drift",
            f"drift detection ended {status.get('DetectionStatus', 'unknown')}: "
            f"{status.get('DetectionStatusReason', '')}",
            "run doctor again later",
        )
        return
    drifts = cfn.describe_stack_resource_drifts(
        StackName=name, StackResourceDriftStatusFilters=["MODIFIED", "DELETED"]
    ).get("StackResourceDrifts", [])
    if not drifts:
        yield ok("drift", f"stack {name} is in sync with its template")
    for d in drifts:
        props = ", ".join(p.get("PropertyPath", "?") for p in d.get("PropertyDifferences", []))
        yield warn(
            f"drift {d.get('LogicalResourceId', '?')}",
            f"{d.get('ResourceType', '')} {d.get('StackResourceDriftStatus')}"
            + (f": {props}" if props else ""),
            "someone changed it outside runnerfleet: `runnerfleet deploy ENVFILE` "
            "puts it back (or encode the change in the environment file)",
        )


def _wait_detection(ctx: DoctorContext, cfn: Any, detection: str) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(_DRIFT_POLLS):
        status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        if status.get("DetectionStatus") != "DETECTION_IN_PROGRESS":
            break
        ctx.sleep(2.0)
    return status


def autoscaler(ctx: DoctorContext) -> Iterator[Finding]:
    """A paused schedule (the fleet never scales) and a destroy that stopped midway."""
    clients, spec = ctx.clients, ctx.spec
    if not stack_exists(clients.client("cloudformation"), spec.stack):
        return
    started = DestroyMarker(clients.client("ssm"), spec.ssm_path).started()
    if started is not None:
        yield fail(
            "destroy",
            f"a destroy started at {started} stopped midway: the autoscaler is paused and the "
            "group was set to min = desired = 0",
            "`runnerfleet deploy ENVFILE` restores scaling; `runnerfleet destroy ENVFILE` "
            "finishes the destroy",
        )
    events = clients.client("events")
    rules = find_fleet(clients.client("cloudformation"), events, spec.stack).schedule_rules
    paused = disabled_rules(events, rules)
    for rule in paused:
        yield warn(
            "autoscaler",
            f"schedule rule {rule} is disabled: the autoscaler does not run, the fleet does "
            "not scale",
            f"aws events enable-rule --name {rule} (when the pause is not deliberate)",
        )
    if rules and not paused:
        yield ok("autoscaler", f"schedule {', '.join(rules)} enabled")


def checks(*, drift: bool) -> list[tuple[str, Check]]:
    found: list[tuple[str, Check]] = [("stack", stack_state), ("autoscaler", autoscaler)]
    return [*found, ("drift", globals()["drift"])] if drift else found
