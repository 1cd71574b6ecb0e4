"""One autoscaler evaluation with real ports: the Lambda, ``runnerfleet autoscale`` and the
sandbox's deployed function run this; the simulator runs the same ``evaluate_group`` with its
own ports.

Packaged into the Lambda: never imports pydantic or ``runnerfleet.envfile``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from runnerfleet.gitlab.pending import PendingQuery, PendingResult, count_pending
from runnerfleet.gitlab.scrape import ScrapeResult, ScrapeSettings, scrape_all
from runnerfleet.scaling import metric_names as mn
from runnerfleet.scaling.apply import ApplyReport
from runnerfleet.scaling.evaluation import (
    Cycle,
    GroupObserver,
    RunnerObservation,
    RunnerObserver,
    evaluate_group,
)
from runnerfleet.scaling.observe import GroupState, RunnerReading, scrapeable
from runnerfleet.scaling.overflow import WarmFirst
from runnerfleet.scaling.policies import Policy
from runnerfleet.scaling.types import FleetSnapshot, ScalingDecision


@dataclass(frozen=True, slots=True)
class EvaluationConfig:
    group_name: str
    stack_name: str
    policy: Policy
    scrape: ScrapeSettings = field(default_factory=ScrapeSettings)
    pending: PendingQuery | None = None  # None: do not ask GitLab
    dry_run: bool = False
    namespace: str = mn.NAMESPACE
    overflow_group: str | None = None  # a spot group behind the warm one (scaling.overflow)


class MetricsSink(Protocol):
    """Where an evaluation's CloudWatch metrics go (``aws.autoscale_metrics.CloudWatchSink``)."""

    def publish(
        self, snapshot: FleetSnapshot, decision: ScalingDecision, extra: Mapping[str, float]
    ) -> None: ...


class HttpRunners:
    """Scrapes every InService runner and asks GitLab for its queue, at the same time."""

    def __init__(
        self, scrape: ScrapeSettings, pending: PendingQuery | None, token: str | None
    ) -> None:
        self._scrape = scrape
        self._pending = pending if token is not None else None
        self._token = token or ""
        self.scrapes: dict[str, ScrapeResult] = {}  # the last scrape, errors included

    def observe(self, group: GroupState) -> RunnerObservation:
        hosts = {m.instance_id: m.host for m in group.members if scrapeable(m) and m.host}
        self.scrapes, pending = asyncio.run(self._gather(hosts))
        readings = {iid: RunnerReading(r.running_jobs, r.slots) for iid, r in self.scrapes.items()}
        if pending is None:
            return RunnerObservation(readings, None)
        return RunnerObservation(readings, pending.count, pending.error)

    async def _gather(
        self, hosts: dict[str, str]
    ) -> tuple[dict[str, ScrapeResult], PendingResult | None]:
        if self._pending is None:
            return await scrape_all(hosts, self._scrape), None
        return await asyncio.gather(
            scrape_all(hosts, self._scrape), count_pending(self._pending, self._token)
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    cycle: Cycle
    elapsed_s: float

    @property
    def group(self) -> GroupState:
        return self.cycle.group

    @property
    def snapshot(self) -> FleetSnapshot:
        return self.cycle.snapshot

    @property
    def decision(self) -> ScalingDecision:
        return self.cycle.decision

    @property
    def report(self) -> ApplyReport | None:
        return self.cycle.report

    @property
    def scrape_failures(self) -> int:
        return self.cycle.scrape_failures

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary for logs and the handler's return value (no secrets)."""
        cycle, decision = self.cycle, self.cycle.decision
        return {
            "group": cycle.group.name,
            "action": decision.action,
            "policy": decision.policy,
            "desired_before": cycle.snapshot.desired,
            "desired": decision.desired,
            "terminate": list(decision.terminate),
            "reasons": list(decision.reasons),
            "codes": [c.value for c in decision.codes],
            "scrape_failures": cycle.scrape_failures,
            "pending_jobs": cycle.snapshot.pending_jobs,
            "pending_error": cycle.runners.pending_error,
            "errors": [] if cycle.report is None else cycle.report.errors,
            "notes": list(cycle.group.notes),
            "elapsed_s": round(self.elapsed_s, 3),
        }


def evaluate(
    config: EvaluationConfig,
    group: GroupObserver,
    runners: RunnerObserver,
    *,
    metrics: MetricsSink | None = None,
    clock: Callable[[], float] = time.time,
) -> Evaluation:
    started = time.monotonic()
    if config.overflow_group:  # one fleet over two groups: the warm one first
        group = WarmFirst(group, config.group_name, config.overflow_group)
    cycle = evaluate_group(
        group, runners, config.group_name, config.policy, clock(), dry_run=config.dry_run
    )
    elapsed = time.monotonic() - started
    if metrics is not None and not config.dry_run:
        extra = {mn.SCRAPE_FAILURES: float(cycle.scrape_failures), mn.EVALUATION_SECONDS: elapsed}
        metrics.publish(cycle.snapshot, cycle.decision, extra)
    return Evaluation(cycle, elapsed)
