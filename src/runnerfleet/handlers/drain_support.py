"""What the drain and spot handlers share: their AWS adapters and environment parsing.

Handlers are packaged for Lambda with pure-python dependencies only: nothing here (or in what it
imports) may pull in pydantic or runnerfleet.envfile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from runnerfleet.ops.drain import Clock, Commands, Counter, Records


@dataclass(frozen=True)
class AwsDrainAdapters:
    """The AWS side both drain handlers share, made from one client factory."""

    clients: Any  # runnerfleet.aws.clients.ClientFactory, for the handler's own clients
    ssm: Any
    records: Records
    commands: Commands
    metrics: Counter
    clock: Clock

    def shared(self) -> dict[str, Any]:
        """The dependencies both handlers' Deps take under the same names."""
        return {
            "records": self.records,
            "commands": self.commands,
            "metrics": self.metrics,
            "clock": self.clock,
        }

    def lifecycle_actions(self) -> Any:
        """The Auto Scaling lifecycle adapter (boto3-backed, made on a cold start only)."""
        from runnerfleet.aws.lifecycle import LifecycleActions

        return LifecycleActions(self.clients.client("autoscaling"))


T = TypeVar("T")


def built_once(cache: dict[str, T], build: Callable[[], T]) -> T:
    """Once per warm Lambda container, never at import time."""
    if "deps" not in cache:
        cache["deps"] = build()
    return cache["deps"]


def aws_drain_adapters(env: Mapping[str, str], fleet: str) -> AwsDrainAdapters:
    """Built on a cold start only: boto3 is imported here, never at import time."""
    from runnerfleet.aws.clients import AwsTarget, ClientFactory, env_region
    from runnerfleet.aws.drain_metrics import CloudWatchCounter
    from runnerfleet.aws.lifecycle_ssm import ActionRecords, DrainCommands

    clients = ClientFactory(AwsTarget(region=env_region(), max_attempts=3))
    ssm = clients.client("ssm")
    prefix = env.get("RUNNERFLEET_RECORD_PREFIX") or f"/runnerfleet/{fleet}/drain-actions"
    commands = DrainCommands(
        ssm,
        log_group=env.get("RUNNERFLEET_COMMAND_LOG_GROUP"),
        delivery_timeout_s=int(env_float(env, "RUNNERFLEET_DELIVERY_TIMEOUT_S", 60)),
    )
    namespace = env.get("RUNNERFLEET_METRIC_NAMESPACE", "Runnerfleet")
    return AwsDrainAdapters(
        clients=clients,
        ssm=ssm,
        records=ActionRecords(ssm, prefix),
        commands=commands,
        metrics=CloudWatchCounter(clients.client("cloudwatch"), namespace, fleet),
        clock=Clock(now=time.time, sleep=time.sleep),
    )


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    return float(raw) if raw else default


def require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise KeyError(f"environment variable {name} is not set (the stack sets it)")
    return value


def deadline_of(context: Any, now: float, margin_s: float = 10.0) -> float:
    """Work must end ``margin_s`` before the Lambda's own timeout."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = remaining() / 1000.0 if callable(remaining) else 60.0
    return now + max(1.0, budget - margin_s)
