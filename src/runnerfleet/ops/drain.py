"""Use case: deliver the drain of one terminate lifecycle action (the lifecycle Lambda's work).

``handle_terminate`` claims the action (one drain per lifecycle action token, idempotent under
EventBridge and Lambda retries), then runs ``runnerfleet.drain.drain_step`` for the delivery part:
send the drain document, retry an unreachable instance, ABANDON only when the instance cannot run
the command after the give-up timeout. Once the command runs, the instance drains itself (the
drain script follows the same step function) and this returns. Failures are reported as an
ERROR log line and a metric. Packaged into the Lambda zip: no pydantic, no environment files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runnerfleet.aws.lifecycle_ssm import ActionRecord, Claim, Undeliverable
from runnerfleet.drain import (
    CommandStatus,
    DrainAction,
    DrainLimits,
    DrainState,
    LifecycleEvent,
    Observation,
    drain_step,
    parse_lifecycle_event,
    record,
)
from runnerfleet.scaling.lifecycle import ABANDON

log = logging.getLogger("runnerfleet.drain")
log.setLevel(logging.INFO)

# The drain document's parameters (the document itself lives in runnerfleet.stack).
DOC_PARAMS = (
    "AutoScalingGroupName",
    "LifecycleHookName",
    "LifecycleActionToken",
    "HeartbeatSeconds",
    "HeartbeatTimeoutSeconds",
    "MaxDrainSeconds",
)


class Records(Protocol):
    def claim(self, token: str, instance_id: str, *, now: float, lease_s: float) -> Claim: ...
    def save(self, record: ActionRecord) -> None: ...


class Commands(Protocol):
    def send(
        self, instance_id: str, document: str, parameters: Mapping[str, str], comment: str
    ) -> str: ...
    def status(self, command_id: str, instance_id: str) -> tuple[CommandStatus, str]: ...


class Actions(Protocol):
    def complete(self, group: str, hook: str, token: str, result: str) -> bool: ...


class Counter(Protocol):
    def count(self, name: str, value: float = 1.0) -> None: ...


@dataclass
class Clock:
    now: Callable[[], float]
    sleep: Callable[[float], None]


class RetryLater(Exception):
    """Raised to make Lambda retry the event: the work is unfinished and the record resumes it."""


@dataclass(frozen=True)
class DrainConfig:
    fleet: str
    document: str
    limits: DrainLimits
    group: str = ""


@dataclass
class DrainDeps:
    records: Records
    commands: Commands
    actions: Actions
    metrics: Counter
    clock: Clock


def report(event: str, *, failure: bool = False, **fields: Any) -> None:
    """One JSON log line; failures at ERROR so that log filters and alarms catch them."""
    line = json.dumps({"event": event, **fields}, sort_keys=True, default=str)
    (log.error if failure else log.info)(line)


def document_parameters(ev: LifecycleEvent, limits: DrainLimits) -> dict[str, str]:
    values = (
        ev.group,
        ev.hook,
        ev.token,
        str(int(limits.heartbeat_every_s)),
        str(int(limits.heartbeat_timeout_s)),
        str(int(limits.drain_budget_s)),
    )
    return dict(zip(DOC_PARAMS, values, strict=True))


def handle_terminate(
    event: Mapping[str, Any], deps: DrainDeps, cfg: DrainConfig, deadline: float
) -> dict[str, str]:
    try:
        ev = parse_lifecycle_event(event)
    except ValueError as exc:
        report("drain_bad_event", failure=True, reason=str(exc), event_id=event.get("id"))
        deps.metrics.count("DrainFailures")
        return {"status": "rejected", "reason": str(exc)}
    if ev is None or (cfg.group and ev.group != cfg.group):
        return {"status": "ignored"}
    now = deps.clock.now()
    claim = deps.records.claim(ev.token, ev.instance_id, now=now, lease_s=deadline - now + 30)
    if claim.outcome == "duplicate":
        deps.metrics.count("DrainDuplicates")
        report(
            "drain_duplicate",
            instance=ev.instance_id,
            token=ev.token,
            command_id=claim.record.command_id,
        )
        return {"status": "duplicate", "command_id": claim.record.command_id}
    return _drive(ev, claim.record, deps, cfg, deadline)


def _drive(
    ev: LifecycleEvent, rec: ActionRecord, deps: DrainDeps, cfg: DrainConfig, deadline: float
) -> dict[str, str]:
    status = CommandStatus.NOT_SENT
    if rec.command_id:
        status = deps.commands.status(rec.command_id, ev.instance_id)[0]
    # the give-up timeout runs from our first attempt, not from the event: a late (retried)
    # delivery must not abandon a command it has only just sent
    state = DrainState(started_at=rec.started_at or ev.time)
    while True:
        now = deps.clock.now()
        decision = drain_step(state, Observation(now=now, command=status), cfg.limits)
        if decision.delivered:
            return _delivered(ev, rec, status, deps)
        if decision.action is DrainAction.ABANDON:
            return _abandon(ev, rec, decision.reason, deps)
        if decision.action is DrainAction.SEND:
            rec, status = _send(ev, rec, deps, cfg)
            state = record(state, DrainAction.SEND, now)
        else:
            status = _wait(ev, rec, status, decision.next_check_at, deps=deps, deadline=deadline)


def _send(
    ev: LifecycleEvent, rec: ActionRecord, deps: DrainDeps, cfg: DrainConfig
) -> tuple[ActionRecord, CommandStatus]:
    try:
        command_id = deps.commands.send(
            ev.instance_id, cfg.document, document_parameters(ev, cfg.limits), f"drain {ev.token}"
        )
    except Undeliverable as exc:
        if rec.first_failure_at is None:
            deps.metrics.count("DrainUnreachable")
            report(
                "drain_unreachable",
                failure=True,
                instance=ev.instance_id,
                token=ev.token,
                reason=exc.code,
            )
            rec = replace(rec, first_failure_at=deps.clock.now())
        return rec, CommandStatus.UNREACHABLE
    rec = replace(rec, state="sent", command_id=command_id)
    deps.records.save(rec)
    deps.metrics.count("DrainCommandsSent")
    report("drain_sent", instance=ev.instance_id, token=ev.token, command_id=command_id)
    return rec, CommandStatus.PENDING


def _wait(
    ev: LifecycleEvent,
    rec: ActionRecord,
    status: CommandStatus,
    next_check_at: float | None,
    *,
    deps: DrainDeps,
    deadline: float,
) -> CommandStatus:
    now = deps.clock.now()
    wake = next_check_at if next_check_at is not None else now + 5.0
    if wake > deadline:
        report(
            "drain_retry_later",
            failure=True,
            instance=ev.instance_id,
            token=ev.token,
            status=str(status),
        )
        raise RetryLater(f"drain of {ev.instance_id} not delivered yet; Lambda retries")
    deps.clock.sleep(max(0.0, wake - now))
    if status is CommandStatus.UNREACHABLE or not rec.command_id:
        return status  # the step function sends it again
    return deps.commands.status(rec.command_id, ev.instance_id)[0]


def _delivered(
    ev: LifecycleEvent, rec: ActionRecord, status: CommandStatus, deps: DrainDeps
) -> dict[str, str]:
    if status is CommandStatus.FAILED:
        deps.metrics.count("DrainFailures")
        report(
            "drain_command_failed",
            failure=True,
            instance=ev.instance_id,
            token=ev.token,
            command_id=rec.command_id,
            reason="the drain script failed on the instance; the hook ends at its timeout",
        )
        return {"status": "failed", "command_id": rec.command_id}
    return {"status": "draining", "command_id": rec.command_id}


def _abandon(ev: LifecycleEvent, rec: ActionRecord, reason: str, deps: DrainDeps) -> dict[str, str]:
    completed = deps.actions.complete(ev.group, ev.hook, ev.token, ABANDON)
    deps.records.save(replace(rec, state="abandoned"))
    deps.metrics.count("DrainAbandoned")
    report(
        "drain_abandoned",
        failure=True,
        instance=ev.instance_id,
        token=ev.token,
        reason=reason,
        completed=completed,
    )
    return {"status": "abandoned", "reason": reason}
