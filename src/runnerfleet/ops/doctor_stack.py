"""Doctor checks about the stack: its state, recent failures with reasons, and drift."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

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


def checks(*, drift: bool) -> list[tuple[str, Check]]:
    found: list[tuple[str, Check]] = [("stack", stack_state)]
    return [*found, ("drift", globals()["drift"])] if drift else found
