"""Lambda: a terminate lifecycle action (EventBridge) -> the drain document via SSM Run Command.

Parses its environment, calls ``runnerfleet.ops.drain.handle_terminate`` and returns. That use
case delivers the command and returns once it runs: the instance drains itself (stop taking jobs,
heartbeat while jobs run, unregister, complete with CONTINUE). It is idempotent under EventBridge
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
from typing import Any

from runnerfleet.drain import DrainLimits
from runnerfleet.handlers.drain_support import (
    aws_drain_adapters,
    built_once,
    deadline_of,
    env_float,
    require,
)
from runnerfleet.ops.drain import DrainConfig, DrainDeps, handle_terminate, report

RECORD_RETENTION_S = 7 * 86400.0


def config_from_env(env: Mapping[str, str]) -> DrainConfig:
    raw_unreachable = env.get("RUNNERFLEET_UNREACHABLE_TIMEOUT_S", "").strip()
    return DrainConfig(
        fleet=require(env, "RUNNERFLEET_FLEET"),
        document=require(env, "RUNNERFLEET_DRAIN_DOCUMENT"),
        group=env.get("RUNNERFLEET_GROUP", ""),
        limits=DrainLimits(
            heartbeat_timeout_s=env_float(env, "RUNNERFLEET_HEARTBEAT_TIMEOUT_S", 600),
            max_drain_s=env_float(env, "RUNNERFLEET_MAX_DRAIN_S", 10800),
            unreachable_timeout_s=float(raw_unreachable) if raw_unreachable else None,
        ),
    )


_DEPS: dict[str, DrainDeps] = {}


def _real_deps(cfg: DrainConfig, env: Mapping[str, str]) -> DrainDeps:
    def build() -> DrainDeps:
        aws = aws_drain_adapters(env, cfg.fleet)
        return DrainDeps(actions=aws.lifecycle_actions(), **aws.shared())

    return built_once(_DEPS, build)


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Lambda entry point: ``runnerfleet.handlers.lifecycle.handler``."""
    cfg = config_from_env(os.environ)
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
