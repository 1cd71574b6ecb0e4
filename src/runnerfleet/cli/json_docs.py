"""The ``--output json`` documents of the commands that have one, each with a ``schema`` key
naming its version; the schemas are in docs/schemas/ and the tests validate against them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runnerfleet.aws.stackstatus import StackEvent, StackState
    from runnerfleet.findings import Finding
    from runnerfleet.gitlab.inventory import RegistrationView
    from runnerfleet.ops.autoscale import Evaluation
    from runnerfleet.ops.runners import Inventory

Json = dict[str, Any]


def finding(item: Finding) -> Json:
    return {
        "code": item.code,
        "severity": item.severity,
        "message": item.message,
        "fix": item.fix,
        "key_path": item.key_path,
        "file": item.file,
        "line": item.line,
    }


def doctor(environment: str, where: str, findings: Iterable[Finding]) -> Json:
    items = [finding(f) for f in findings]
    return {
        "schema": "runnerfleet.doctor/1",
        "environment": environment,
        "where": where,
        "ok": not any(f["severity"] == "error" for f in items),
        "findings": items,
    }


def event(item: StackEvent) -> Json:
    return {
        "at": item.timestamp.timestamp(),
        "logical_id": item.logical_id,
        "resource_type": item.resource_type,
        "status": item.status,
        "reason": item.reason,
    }


def status(
    environment: str,
    stack: str,
    where: str,
    state: StackState | None,
    events: Sequence[StackEvent],
) -> Json:
    return {
        "schema": "runnerfleet.status/1",
        "environment": environment,
        "stack": stack,
        "where": where,
        "deployed": state is not None,
        "status": None if state is None else state.status,
        "reason": None if state is None else state.reason or None,
        "termination_protection": None if state is None else state.termination_protection,
        "events": [event(e) for e in events],
    }


def outputs(environment: str, stack: str, values: Mapping[str, str]) -> Json:
    return {
        "schema": "runnerfleet.outputs/1",
        "environment": environment,
        "stack": stack,
        "outputs": dict(sorted(values.items())),
    }


def registration(view: RegistrationView) -> Json:
    return {
        "name": view.name,
        "parameter": view.parameter,
        "runner_id": view.runner_id,
        "status": view.status,
        "in_file": view.in_file,
        "managers": [
            {
                "system_id": m.system_id,
                "status": m.status,
                "contacted_at": m.contacted_at,
                "version": m.version,
                "instance_id": m.instance_id,
            }
            for m in view.managers
        ],
    }


def runners(environment: str, stack: str, inventory: Inventory) -> Json:
    return {
        "schema": "runnerfleet.runners/1",
        "environment": environment,
        "stack": stack,
        "stack_exists": inventory.stack_exists,
        "instances": list(inventory.instances),
        "registrations": [registration(v) for v in inventory.views],
    }


def autoscale(result: Evaluation) -> Json:
    snapshot, report = result.snapshot, result.report
    return {
        "schema": "runnerfleet.autoscale/1",
        "evaluation": result.summary(),
        "instances": [
            {
                "instance_id": i.instance_id,
                "state": i.state.value,
                "running_jobs": i.running_jobs,
                "slots": i.slots,
                "idle_since": i.idle_since,
                "protected": i.protected,
            }
            for i in sorted(snapshot.instances, key=lambda i: i.instance_id)
        ],
        "applied": None if report is None else {"calls": report.calls, "errors": report.errors},
    }
