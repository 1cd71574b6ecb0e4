"""Spot interruption warnings and rebalance recommendations (pure).

On either event the instance stops taking new jobs at once. A rebalance recommendation is only a
hint: jobs keep running and the ASG's capacity rebalancing goes through the terminate hook. An
interruption warning leaves two minutes; jobs still running then die with the instance, and those
are retried through the GitLab API when the environment allows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from runnerfleet.drain.events import parse_time
from runnerfleet.scaling.lifecycle import SPOT_NOTICE_S

INTERRUPTION_DETAIL_TYPE = "EC2 Spot Instance Interruption Warning"
REBALANCE_DETAIL_TYPE = "EC2 Instance Rebalance Recommendation"
RETRY_GRACE_S = 30.0  # after the interruption time, before we look at the lost jobs

# A job line of the runner's /debug/jobs/list: "url=https://host/group/project/-/jobs/123 ..."
_JOB_URL = re.compile(r"url=(?P<url>https?://[^\s]+?/(?P<project>[^\s]+?)/-/jobs/(?P<id>\d+))\b")
# GitLab job statuses that mean "it died with the instance" and may be retried.
_ORPHANED = frozenset({"running", "pending"})
_RETRYABLE_FAILURES = frozenset(
    {
        "runner_system_failure",
        "stuck_or_timeout_failure",
        "job_execution_timeout",
        "unknown_failure",
    }
)


class SpotEventKind(StrEnum):
    INTERRUPTION = "interruption"
    REBALANCE = "rebalance"


@dataclass(frozen=True, slots=True)
class SpotEvent:
    kind: SpotEventKind
    instance_id: str
    time: float
    action: str = ""  # interruption only: terminate | stop | hibernate


@dataclass(frozen=True, slots=True)
class SpotPlan:
    stop_taking_jobs: bool
    metric_name: str
    retry_lost_jobs_at: float | None  # when the lost jobs can be looked at, or None: no retry
    reason: str


@dataclass(frozen=True, slots=True)
class JobRef:
    """A job that ran on the instance: its project path (URL-encoded for the API) and id."""

    project: str
    job_id: int
    url: str


@dataclass(frozen=True, slots=True)
class JobView:
    """The GitLab API's view of a job after the instance is gone."""

    ref: JobRef
    status: str
    failure_reason: str | None = None


def parse_spot_event(event: Mapping[str, Any]) -> SpotEvent | None:
    kinds = {
        INTERRUPTION_DETAIL_TYPE: SpotEventKind.INTERRUPTION,
        REBALANCE_DETAIL_TYPE: SpotEventKind.REBALANCE,
    }
    kind = kinds.get(str(event.get("detail-type", "")))
    if kind is None:
        return None
    detail = event.get("detail") or {}
    instance_id = str(detail.get("instance-id", ""))
    if not instance_id.startswith("i-"):
        raise ValueError(f"{event.get('detail-type')} event lacks detail.instance-id")
    return SpotEvent(
        kind=kind,
        instance_id=instance_id,
        time=parse_time(str(event.get("time", "1970-01-01T00:00:00Z"))),
        action=str(detail.get("instance-action", "")),
    )


def plan_spot_response(event: SpotEvent, *, retry_enabled: bool) -> SpotPlan:
    if event.kind is SpotEventKind.REBALANCE:
        return SpotPlan(
            stop_taking_jobs=True,
            metric_name="SpotRebalanceRecommendations",
            retry_lost_jobs_at=None,
            reason="rebalance recommended: stop taking jobs, let running jobs finish",
        )
    retry_at = event.time + SPOT_NOTICE_S + RETRY_GRACE_S if retry_enabled else None
    return SpotPlan(
        stop_taking_jobs=True,
        metric_name="SpotInterruptionWarnings",
        retry_lost_jobs_at=retry_at,
        reason=f"spot interruption ({event.action or 'terminate'}) in two minutes: "
        "stop taking jobs" + ("; retry the jobs it loses" if retry_enabled else ""),
    )


def parse_job_list(text: str) -> tuple[JobRef, ...]:
    """Jobs named in /debug/jobs/list output (one per line), de-duplicated, in order."""
    seen: dict[int, JobRef] = {}
    for match in _JOB_URL.finditer(text):
        job_id = int(match["id"])
        seen.setdefault(job_id, JobRef(match["project"], job_id, match["url"]))
    return tuple(seen.values())


def jobs_to_retry(views: Iterable[JobView]) -> tuple[tuple[JobRef, bool], ...]:
    """(job, cancel_first) for every job the interruption killed.

    A job still 'running' after its instance is gone is orphaned: cancel, then retry. A job that
    failed for a system reason is retried. Successful, cancelled or script-failed jobs are left.
    """
    picked: list[tuple[JobRef, bool]] = []
    for view in views:
        if view.status in _ORPHANED:
            picked.append((view.ref, True))
        elif view.status == "failed" and view.failure_reason in _RETRYABLE_FAILURES:
            picked.append((view.ref, False))
    return tuple(picked)


def summarize(refs: Sequence[JobRef]) -> str:
    return ", ".join(f"{r.project}#{r.job_id}" for r in refs) or "none"
