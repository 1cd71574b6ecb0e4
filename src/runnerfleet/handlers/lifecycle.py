"""Lambda: a terminate lifecycle action (EventBridge) -> the drain document via SSM Run Command.

The instance drains itself (stop taking jobs, heartbeat while jobs run, unregister, complete with
CONTINUE); this function only delivers the command and returns. It is idempotent under EventBridge
and Lambda retries: one drain per lifecycle action token (an SSM parameter record). It ABANDONs
only when the instance cannot run the command after the give-up timeout. Failures are reported as
an ERROR log line and a CloudWatch metric.

Environment variables (set by the stack):

- ``RUNNERFLEET_FLEET``: the fleet (stack) name; metric dimension ``Fleet``. Required.
- ``RUNNERFLEET_DRAIN_DOCUMENT``: the SSM document that drains one instance. Required.
- ``RUNNERFLEET_GROUP``: the Auto Scaling group; events of other groups are ignored. Optional.
- ``RUNNERFLEET_RECORD_PREFIX``: SSM path of the dedupe records;
  default ``/runnerfleet/<fleet>/drain-actions``.
- ``RUNNERFLEET_METRIC_NAMESPACE``: default ``Runnerfleet``.
- ``RUNNERFLEET_HEARTBEAT_TIMEOUT_S``: the hook's HeartbeatTimeout; default 600.
- ``RUNNERFLEET_MAX_DRAIN_S``: longest drain (jobs) to protect with heartbeats; default 10800.
- ``RUNNERFLEET_UNREACHABLE_TIMEOUT_S``: give up (ABANDON) on an unreachable instance after this
  many seconds from the event; default min(120, heartbeat timeout / 2).
- ``RUNNERFLEET_DELIVERY_TIMEOUT_S``: SendCommand TimeoutSeconds (delivery); default 60.
- ``RUNNERFLEET_COMMAND_LOG_GROUP``: CloudWatch log group for the command's output. Optional.

Give the function a timeout above the unreachable timeout plus 20 s (e.g. 180 s).
Metrics: DrainCommandsSent, DrainDuplicates, DrainUnreachable, DrainAbandoned, DrainFailures.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runnerfleet.aws.lifecycle_ssm import ActionRecord, Undeliverable
from runnerfleet.drain import (
    CommandStatus,
    DrainAction,
    DrainLimits,
    DrainState,
    LifecycleEvent,
    decide_drain,
    parse_lifecycle_event,
)
from runnerfleet.handlers.drain_support import (
    Actions,
    Clock,
    Commands,
    Counter,
    Records,
    RetryLater,
    aws_drain_adapters,
    deadline_of,
    env_float,
    report,
    require,
)

RECORD_RETENTION_S = 7 * 86400.0
# The drain document's parameters (the document itself lives in runnerfleet.stack).
DOC_PARAMS = (
    "AutoScalingGroupName",
    "LifecycleHookName",
    "LifecycleActionToken",
    "HeartbeatSeconds",
    "MaxDrainSeconds",
)


@dataclass(frozen=True)
class DrainConfig:
    fleet: str
    document: str
    limits: DrainLimits
    group: str = ""

    @staticmethod
    def from_env(env: Mapping[str, str]) -> DrainConfig:
        hb = env_float(env, "RUNNERFLEET_HEARTBEAT_TIMEOUT_S", 600)
        raw_unreachable = env.get("RUNNERFLEET_UNREACHABLE_TIMEOUT_S", "").strip()
        return DrainConfig(
            fleet=require(env, "RUNNERFLEET_FLEET"),
            document=require(env, "RUNNERFLEET_DRAIN_DOCUMENT"),
            group=env.get("RUNNERFLEET_GROUP", ""),
            limits=DrainLimits(
                heartbeat_timeout_s=hb,
                max_drain_s=env_float(env, "RUNNERFLEET_MAX_DRAIN_S", 10800),
                unreachable_timeout_s=float(raw_unreachable) if raw_unreachable else None,
            ),
        )


@dataclass
class DrainDeps:
    records: Records
    commands: Commands
    actions: Actions
    metrics: Counter
    clock: Clock


def document_parameters(ev: LifecycleEvent, limits: DrainLimits) -> dict[str, str]:
    values = (
        ev.group,
        ev.hook,
        ev.token,
        str(int(limits.heartbeat_every_s)),
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
    ev: LifecycleEvent, record: ActionRecord, deps: DrainDeps, cfg: DrainConfig, deadline: float
) -> dict[str, str]:
    status = CommandStatus.NOT_SENT
    if record.command_id:
        status = deps.commands.status(record.command_id, ev.instance_id)[0]
    while True:
        if status in (CommandStatus.RUNNING, CommandStatus.SUCCEEDED, CommandStatus.FAILED):
            return _delivered(ev, record, status, deps)
        # the give-up timeout runs from our first attempt, not from the event: a late
        # (retried) delivery must not abandon a command it has only just sent
        started = record.started_at or ev.time
        decision = decide_drain(
            DrainState(now=deps.clock.now(), started_at=started, command=status), cfg.limits
        )
        if decision.action is DrainAction.SEND:
            record, status = _send(ev, record, deps, cfg)
        elif decision.action is DrainAction.ABANDON:
            return _abandon(ev, record, decision.reason, deps)
        else:
            record, status = _wait(
                ev, record, status, decision.next_check_at, deps=deps, deadline=deadline
            )


def _send(
    ev: LifecycleEvent, record: ActionRecord, deps: DrainDeps, cfg: DrainConfig
) -> tuple[ActionRecord, CommandStatus]:
    try:
        command_id = deps.commands.send(
            ev.instance_id, cfg.document, document_parameters(ev, cfg.limits), f"drain {ev.token}"
        )
    except Undeliverable as exc:
        if record.first_failure_at is None:
            deps.metrics.count("DrainUnreachable")
            report(
                "drain_unreachable",
                failure=True,
                instance=ev.instance_id,
                token=ev.token,
                reason=exc.code,
            )
            record = replace(record, first_failure_at=deps.clock.now())
        return record, CommandStatus.UNREACHABLE
    record = replace(record, state="sent", command_id=command_id)
    deps.records.save(record)
    deps.metrics.count("DrainCommandsSent")
    report("drain_sent", instance=ev.instance_id, token=ev.token, command_id=command_id)
    return record, CommandStatus.PENDING


def _wait(
    ev: LifecycleEvent,
    record: ActionRecord,
    status: CommandStatus,
    next_check_at: float | None,
    *,
    deps: DrainDeps,
    deadline: float,
) -> tuple[ActionRecord, CommandStatus]:
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
    deps.clock.sleep(max(0.0, min(wake - now, 5.0)))
    if status is CommandStatus.UNREACHABLE or not record.command_id:
        return record, CommandStatus.NOT_SENT  # try to deliver it again
    return record, deps.commands.status(record.command_id, ev.instance_id)[0]


def _delivered(
    ev: LifecycleEvent, record: ActionRecord, status: CommandStatus, deps: DrainDeps
) -> dict[str, str]:
    if status is CommandStatus.FAILED:
        deps.metrics.count("DrainFailures")
        report(
            "drain_command_failed",
            failure=True,
            instance=ev.instance_id,
            token=ev.token,
            command_id=record.command_id,
            reason="the drain script failed on the instance; the hook ends at its timeout",
        )
        return {"status": "failed", "command_id": record.command_id}
    return {"status": "draining", "command_id": record.command_id}


def _abandon(
    ev: LifecycleEvent, record: ActionRecord, reason: str, deps: DrainDeps
) -> dict[str, str]:
    completed = deps.actions.complete(ev.group, ev.hook, ev.token, "ABANDON")
    deps.records.save(replace(record, state="abandoned"))
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


_DEPS: dict[str, DrainDeps] = {}


def _real_deps(cfg: DrainConfig, env: Mapping[str, str]) -> DrainDeps:
    if "deps" not in _DEPS:  # built once per warm Lambda container, never at import time
        from runnerfleet.aws.lifecycle import LifecycleActions

        aws = aws_drain_adapters(env, cfg.fleet)
        _DEPS["deps"] = DrainDeps(
            records=aws.records,
            commands=aws.commands,
            actions=LifecycleActions(aws.clients.client("autoscaling")),
            metrics=aws.metrics,
            clock=aws.clock,
        )
    return _DEPS["deps"]


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Lambda entry point: ``runnerfleet.handlers.lifecycle.handler``."""
    cfg = DrainConfig.from_env(os.environ)
    deps = _real_deps(cfg, os.environ)
    result = handle_terminate(event, deps, cfg, deadline_of(context, deps.clock.now()))
    _prune_old_records(deps)
    return result


def _prune_old_records(deps: DrainDeps) -> None:
    """Keep the record path small: drop a few records older than a week, best effort."""
    prune = getattr(deps.records, "prune", None)
    if prune is None:
        return
    try:
        prune(older_than=deps.clock.now() - RECORD_RETENTION_S, limit=10)
    except Exception as exc:  # housekeeping must never fail a drain
        report("drain_records_prune_failed", reason=str(exc)[:200])
