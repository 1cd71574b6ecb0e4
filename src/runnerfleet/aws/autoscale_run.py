"""One autoscaler evaluation: observe -> snapshot -> decide -> apply -> publish.

The Lambda handler, the webhook handler, the ``runnerfleet autoscale`` command and the sandbox
all call ``evaluate``; only how they build the adapter (clients, address mapper) differs.
Never imports pydantic or ``runnerfleet.envfile``: it is packaged into the Lambda.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.aws.autoscale_metrics import metric_data, metric_values, publish
from runnerfleet.aws.autoscaling import ApplyReport, AutoScalingAdapter, GroupState, Member
from runnerfleet.gitlab.pending import PendingQuery, PendingResult, count_pending
from runnerfleet.gitlab.scrape import ScrapeResult, ScrapeSettings, scrape_all
from runnerfleet.scaling import FleetSnapshot, InstanceView, LifecycleState, Policy, decide
from runnerfleet.scaling import metric_names as mn
from runnerfleet.scaling.types import ScalingDecision


@dataclass(frozen=True, slots=True)
class EvaluationConfig:
    group_name: str
    stack_name: str
    policy: Policy
    scrape: ScrapeSettings = field(default_factory=ScrapeSettings)
    pending: PendingQuery | None = None  # None: do not ask GitLab
    dry_run: bool = False
    namespace: str = mn.NAMESPACE


@dataclass(frozen=True, slots=True)
class Evaluation:
    group: GroupState
    scrapes: dict[str, ScrapeResult]
    pending: PendingResult | None
    snapshot: FleetSnapshot
    decision: ScalingDecision
    report: ApplyReport | None  # None on a dry run
    scrape_failures: int
    elapsed_s: float

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary for logs and the handler's return value (no secrets)."""
        return {
            "group": self.group.name,
            "action": self.decision.action,
            "policy": self.decision.policy,
            "desired_before": self.snapshot.desired,
            "desired": self.decision.desired,
            "terminate": list(self.decision.terminate),
            "reasons": list(self.decision.reasons),
            "codes": [c.value for c in self.decision.codes],
            "scrape_failures": self.scrape_failures,
            "pending_jobs": self.snapshot.pending_jobs,
            "errors": [] if self.report is None else self.report.errors,
            "notes": list(self.group.notes),
            "elapsed_s": round(self.elapsed_s, 3),
        }


def evaluate(
    config: EvaluationConfig,
    adapter: AutoScalingAdapter,
    *,
    cloudwatch: Any | None = None,
    gitlab_token: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Evaluation:
    started = time.monotonic()
    now = clock()
    group = adapter.observe(config.group_name)
    scrapes, pending = asyncio.run(_observe_runners(group, config, gitlab_token))
    snapshot, idle_tags = build_snapshot(group, scrapes, pending, now)
    decision = decide(snapshot, config.policy)
    report = None if config.dry_run else adapter.apply(group, decision, now, idle_tags)
    failures = sum(1 for r in scrapes.values() if r.metrics is None) + _unaddressed(group)
    elapsed = time.monotonic() - started
    if cloudwatch is not None and not config.dry_run:
        values = metric_values(snapshot, decision, failures, elapsed)
        data = metric_data(values, config.stack_name, config.group_name)
        publish(cloudwatch, data, config.namespace)
    return Evaluation(group, scrapes, pending, snapshot, decision, report, failures, elapsed)


async def _observe_runners(
    group: GroupState, config: EvaluationConfig, token: str | None
) -> tuple[dict[str, ScrapeResult], PendingResult | None]:
    """Scrape the runners and ask GitLab for its queue at the same time."""
    hosts = {m.instance_id: m.host for m in group.members if _scrapeable(m) and m.host}
    if config.pending is None or token is None:
        return await scrape_all(hosts, config.scrape), None
    scrapes, pending = await asyncio.gather(
        scrape_all(hosts, config.scrape), count_pending(config.pending, token)
    )
    return scrapes, pending


def _scrapeable(member: Member) -> bool:
    return member.state == LifecycleState.IN_SERVICE


def _unaddressed(group: GroupState) -> int:
    return sum(1 for m in group.members if _scrapeable(m) and not m.host)


def build_snapshot(
    group: GroupState,
    scrapes: dict[str, ScrapeResult],
    pending: PendingResult | None,
    now: float,
) -> tuple[FleetSnapshot, dict[str, float | None]]:
    """The snapshot for ``decide`` and the idle-since tag changes to write back.

    An instance seen idle for the first time starts its idle clock now; one seen busy loses
    its idle tag. Instances without a fresh scrape keep their tag as it is.
    """
    views: list[InstanceView] = []
    idle_tags: dict[str, float | None] = {}
    for member in group.members:
        result = scrapes.get(member.instance_id)
        running = None if result is None else result.running_jobs
        views.append(_view(member, result, running, now))
        if running == 0 and member.idle_since is None:
            idle_tags[member.instance_id] = now  # idle clock starts now
        elif running and member.idle_since is not None:
            idle_tags[member.instance_id] = None  # busy again: clear it
    snapshot = FleetSnapshot(
        now=now,
        instances=tuple(views),
        desired=group.desired,
        min_size=group.min_size,
        max_size=group.max_size,
        pending_jobs=None if pending is None else pending.count,
        last_scale_in_at=group.last_scale_in_at,
        last_scale_out_at=group.last_scale_out_at,
        refresh_in_progress=group.refresh_in_progress,
    )
    return snapshot, idle_tags


def _view(
    member: Member, result: ScrapeResult | None, running: int | None, now: float
) -> InstanceView:
    idle_since = None
    if running == 0:
        idle_since = member.idle_since if member.idle_since is not None else now
    return InstanceView(
        instance_id=member.instance_id,
        state=member.state,
        launched_at=member.launched_at,
        slots=0 if result is None else result.slots,
        running_jobs=running,
        scraped_at=None if result is None or result.metrics is None else now,
        idle_since=idle_since,
        protected=member.protected,
    )
