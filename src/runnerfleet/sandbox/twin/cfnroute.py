"""The front's route for CloudFormation: moto answers, the twin keeps the groups in step.

- CreateStack, UpdateStack, ExecuteChangeSet: moto applies the template, then the stacks'
  groups are synchronised (``cfnsync``);
- DeleteStack of a stack whose groups still have instances: the groups scale to zero through
  their terminate hooks first (the drain runs with the stack's functions and documents still
  there), the stack reads DELETE_IN_PROGRESS, and moto deletes it once they are empty;
- DescribeStacks reports the twin's status while a rolling update, a creation wait or such a
  deletion runs; a creation that failed reads ROLLBACK_COMPLETE, and its resources read
  DELETE_COMPLETE in DescribeStackResources and ListStackResources (the rollback deleted
  them, as on AWS); its DeleteStack forgets the override;
- SignalResource (cfn-signal; moto lacks it) records the signal for a CreationPolicy or a
  rolling update that waits on signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.parsers import QueryParser

from runnerfleet.sandbox.twin import motoglue, query
from runnerfleet.sandbox.twin.autoscaling import AutoScalingGroups, Updater
from runnerfleet.sandbox.twin.cfnsync import StackSync
from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply
from runnerfleet.sandbox.twin.world import Twin

SYNCING = frozenset({"CreateStack", "UpdateStack", "ExecuteChangeSet", "DeleteStack"})
ROLLED_BACK = "ROLLBACK_COMPLETE"
# the listing calls -> the member that holds their resources
RESOURCE_LISTS = {
    "DescribeStackResources": "StackResources",
    "ListStackResources": "StackResourceSummaries",
}


def cloudformation_route(
    twin: Twin, groups: AutoScalingGroups, sync: StackSync
) -> Callable[[AwsRequest, Passthrough], Reply]:
    def route(request: AwsRequest, moto: Passthrough) -> Reply:
        action = request.action
        if action == "SignalResource":
            return _signal(twin, sync, request)
        if action == "DeleteStack":
            held = _hold_delete(twin, groups, sync, request)
            if held is not None:
                return held
        with twin.lock:
            reply = moto()
            if action in SYNCING and reply.status == 200:
                groups.sync_stack(_stack_param(request))
            if action == "DescribeStacks" and reply.status == 200:
                reply = _with_overrides(reply, groups, sync)
            if action in RESOURCE_LISTS and reply.status == 200:
                reply = _rolled_back_resources(reply, action, _stack_param(request), sync)
            name = _stack_name(_stack_param(request))
            if action == "DeleteStack" and sync.status_of(name) == ROLLED_BACK:
                sync.overrides.pop(name, None)
        return reply

    return route


def _stack_param(request: AwsRequest) -> str:
    return (request.form().get("StackName") or [""])[0]


def _stack_name(name_or_id: str) -> str:
    """A stack's name, from its name or its ARN (arn:aws:cloudformation:...:stack/NAME/ID)."""
    parts = name_or_id.split("/")
    return parts[1] if name_or_id.startswith("arn:") and len(parts) > 1 else name_or_id


def _signal(twin: Twin, sync: StackSync, request: AwsRequest) -> Reply:
    op = query.operation("cloudformation", "SignalResource")
    try:
        p = query.parse(op, request.form())
        with twin.lock:
            view = motoglue.stack_view(sync.account, sync.region, str(p["StackName"]))
            if view is None or view.status in motoglue.GONE_STACK_STATES:
                raise query.QueryError("ValidationError", f"Stack {p['StackName']} does not exist")
            if p["LogicalResourceId"] not in {g.logical_id for g in view.groups}:
                raise query.QueryError(
                    "ValidationError",
                    f"Resource {p['LogicalResourceId']} does not exist for stack {view.name}",
                )
            sync.signal(
                view.name, str(p["LogicalResourceId"]), str(p["UniqueId"]), str(p["Status"])
            )
    except query.QueryError as exc:
        return Reply(
            exc.status,
            [("Content-Type", "text/xml")],
            query.error("cloudformation", exc.code, exc.message),
        )
    return Reply(200, [("Content-Type", "text/xml")], query.serialize(op, {}))


def _hold_delete(
    twin: Twin, groups: AutoScalingGroups, sync: StackSync, request: AwsRequest
) -> Reply | None:
    """Scale the stack's groups to zero before moto deletes it; None: nothing to wait for."""
    name = _stack_param(request)
    with twin.lock:
        view = motoglue.stack_view(sync.account, sync.region, name)
        if view is None or view.status in motoglue.GONE_STACK_STATES:
            return None
        busy = [groups.groups[g.name] for g in view.groups if g.name in groups.groups]
        if not any(g.fleet.describe() for g in busy):
            return None
        for group in busy:
            sync.begin_delete(groups, group, view.name)
        groups.start(PendingDelete(view.name, sync))
    op = query.operation("cloudformation", "DeleteStack")
    return Reply(200, [("Content-Type", "text/xml")], query.serialize(op, {}))


@dataclass
class PendingDelete(Updater):
    """Deletes the stack in moto once its groups are empty."""

    stack: str
    sync: StackSync
    group_name: str = ""

    def step(self, groups: AutoScalingGroups, now: float) -> bool:
        if any(g.stack == self.stack and g.deleting for g in groups.groups.values()):
            return True
        motoglue.delete_stack(self.sync.account, self.sync.region, self.stack)
        self.sync.overrides.pop(self.stack, None)
        groups.sync_stack(self.stack)
        return False


def _with_overrides(reply: Reply, groups: AutoScalingGroups, sync: StackSync) -> Reply:
    if not sync.overrides:
        return reply
    op = query.operation("cloudformation", "DescribeStacks")
    assert op.output_shape is not None
    parsed: dict[str, Any] = QueryParser().parse(
        {"body": reply.body, "headers": {}, "status_code": 200}, op.output_shape
    )
    changed = False
    for stack in parsed.get("Stacks", []):
        status = sync.status_of(stack["StackName"])
        if status is not None and status != stack.get("StackStatus"):
            stack["StackStatus"] = status
            changed = True
    if not changed:
        return reply
    rid = (parsed.get("ResponseMetadata") or {}).get("RequestId")
    parsed.pop("ResponseMetadata", None)
    return reply.with_body(query.serialize(op, parsed, request_id=rid))


def _rolled_back_resources(reply: Reply, action: str, stack: str, sync: StackSync) -> Reply:
    """The resources of a stack whose creation rolled back read DELETE_COMPLETE."""
    if sync.status_of(_stack_name(stack)) != ROLLED_BACK:
        return reply
    op = query.operation("cloudformation", action)
    assert op.output_shape is not None
    parsed: dict[str, Any] = QueryParser().parse(
        {"body": reply.body, "headers": {}, "status_code": 200}, op.output_shape
    )
    for row in parsed.get(RESOURCE_LISTS[action], []):
        row["ResourceStatus"] = "DELETE_COMPLETE"
    rid = (parsed.get("ResponseMetadata") or {}).get("RequestId")
    parsed.pop("ResponseMetadata", None)
    return reply.with_body(query.serialize(op, parsed, request_id=rid))
