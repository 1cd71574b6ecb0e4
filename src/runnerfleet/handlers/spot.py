"""Lambda: spot interruption warnings and rebalance recommendations (EventBridge, aws.ec2).

Both make the instance stop taking new jobs at once (Run Command of the spot document, which sends
SIGQUIT through systemd and prints the runner's /debug/jobs/list). Each event is counted in a
metric. After an interruption, jobs the instance was running are retried through the GitLab API
when the environment allows it (RUNNERFLEET_RETRY_LOST_JOBS=1 and a GitLab token parameter).
Events are de-duplicated by EventBridge event id, so a job is never retried twice.

Environment variables (set by the stack):

- ``RUNNERFLEET_FLEET``: the fleet (stack) name; metric dimension ``Fleet``. Required.
- ``RUNNERFLEET_GROUP``: the Auto Scaling group; other instances are ignored. Required.
- ``RUNNERFLEET_SPOT_DOCUMENT``: an SSM document (no parameters) that stops taking jobs and prints
  /debug/jobs/list. Optional: without it, AWS-RunShellScript runs ``FALLBACK_COMMANDS``.
- ``RUNNERFLEET_RECORD_PREFIX``: SSM path of the dedupe records;
  default ``/runnerfleet/<fleet>/drain-actions``.
- ``RUNNERFLEET_METRIC_NAMESPACE``: default ``Runnerfleet``.
- ``RUNNERFLEET_RETRY_LOST_JOBS``: ``1`` to retry lost jobs; default ``0``.
- ``RUNNERFLEET_GITLAB_URL``: e.g. ``https://gitlab.example.com`` (needed for retries).
- ``RUNNERFLEET_GITLAB_TOKEN_PARAMETER``: SSM SecureString with a token that may cancel and retry
  jobs (api scope) (needed for retries).
- ``RUNNERFLEET_DELIVERY_TIMEOUT_S`` (default 60), ``RUNNERFLEET_COMMAND_LOG_GROUP`` (optional).

Give the function a timeout of at least 240 s when retries are on: it waits for the interruption.
Metrics: SpotInterruptionWarnings, SpotRebalanceRecommendations, SpotStopFailures,
LostJobsRetried, LostJobsNotRetried.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runnerfleet.aws.lifecycle_ssm import ActionRecord, Undeliverable
from runnerfleet.drain import (
    CommandStatus,
    JobRef,
    JobView,
    SpotEvent,
    jobs_to_retry,
    parse_job_list,
    parse_spot_event,
    plan_spot_response,
)
from runnerfleet.handlers.drain_support import aws_drain_adapters, built_once, deadline_of, require
from runnerfleet.ops.drain import Clock, Commands, Counter, Records, report

FALLBACK_DOCUMENT = "AWS-RunShellScript"
# Stop taking jobs now (the unit's SIGQUIT drop-in lets running jobs go on), then list them.
FALLBACK_COMMANDS = (
    "systemctl stop --no-block gitlab-runner; "
    "curl -fsS --max-time 3 http://127.0.0.1:9252/debug/jobs/list || true"
)


class Membership(Protocol):
    def group_of(self, instance_id: str) -> str | None: ...


class JobsApi(Protocol):
    def owns(self, ref: JobRef) -> bool: ...
    def job(self, ref: JobRef) -> JobView: ...
    def cancel(self, ref: JobRef) -> None: ...
    def retry(self, ref: JobRef) -> int: ...


@dataclass(frozen=True)
class SpotConfig:
    fleet: str
    group: str
    document: str
    retry_lost_jobs: bool = False

    @staticmethod
    def from_env(env: Mapping[str, str]) -> SpotConfig:
        return SpotConfig(
            fleet=require(env, "RUNNERFLEET_FLEET"),
            group=require(env, "RUNNERFLEET_GROUP"),
            document=env.get("RUNNERFLEET_SPOT_DOCUMENT", "").strip(),
            retry_lost_jobs=env.get("RUNNERFLEET_RETRY_LOST_JOBS", "0") == "1",
        )


@dataclass
class SpotDeps:
    records: Records
    commands: Commands
    membership: Membership
    metrics: Counter
    clock: Clock
    jobs: JobsApi | None = None


def handle_spot(
    event: Mapping[str, Any], deps: SpotDeps, cfg: SpotConfig, deadline: float
) -> dict[str, Any]:
    try:
        ev = parse_spot_event(event)
    except ValueError as exc:
        report("spot_bad_event", failure=True, reason=str(exc), event_id=event.get("id"))
        deps.metrics.count("SpotStopFailures")
        return {"status": "rejected", "reason": str(exc)}
    if ev is None or deps.membership.group_of(ev.instance_id) != cfg.group:
        return {"status": "ignored"}
    now = deps.clock.now()
    key = str(event.get("id") or f"{ev.kind}-{ev.instance_id}-{int(ev.time)}")
    claim = deps.records.claim(key, ev.instance_id, now=now, lease_s=deadline - now + 30)
    if claim.outcome != "new":
        return {"status": "duplicate"}
    plan = plan_spot_response(ev, retry_enabled=cfg.retry_lost_jobs and deps.jobs is not None)
    deps.metrics.count(plan.metric_name)
    report("spot_event", instance=ev.instance_id, kind=str(ev.kind), reason=plan.reason)
    record = _stop(ev, claim.record, deps, cfg)
    if record is None:
        return {"status": "failed"}
    if plan.retry_lost_jobs_at is None or deps.jobs is None:
        return {"status": "stopping", "command_id": record.command_id}
    retried = _retry_lost(ev, record, deps, plan.retry_lost_jobs_at, deadline)
    return {"status": "stopping", "command_id": record.command_id, "retried": retried}


def _stop(
    ev: SpotEvent, record: ActionRecord, deps: SpotDeps, cfg: SpotConfig
) -> ActionRecord | None:
    document, params = cfg.document, {}
    if not document:
        document, params = FALLBACK_DOCUMENT, {"commands": FALLBACK_COMMANDS}
    try:
        command_id = deps.commands.send(ev.instance_id, document, params, f"spot {ev.kind}")
    except Undeliverable as exc:
        deps.metrics.count("SpotStopFailures")
        report("spot_stop_undeliverable", failure=True, instance=ev.instance_id, reason=exc.code)
        return None
    record = replace(record, state="sent", command_id=command_id)
    deps.records.save(record)
    return record


def _retry_lost(
    ev: SpotEvent, record: ActionRecord, deps: SpotDeps, retry_at: float, deadline: float
) -> int:
    assert deps.jobs is not None
    jobs = [r for r in _running_jobs(ev, record, deps, deadline) if deps.jobs.owns(r)]
    if not jobs:
        return 0
    if retry_at > deadline:
        deps.metrics.count("LostJobsNotRetried", len(jobs))
        report(
            "spot_jobs_not_retried",
            failure=True,
            instance=ev.instance_id,
            jobs=[r.job_id for r in jobs],
            reason="the Lambda timeout ends before the interruption; raise it to 240 s or more",
        )
        return 0
    deps.clock.sleep(max(0.0, retry_at - deps.clock.now()))
    picked = jobs_to_retry([deps.jobs.job(r) for r in jobs])
    for ref, cancel_first in picked:
        if cancel_first:
            deps.jobs.cancel(ref)
        deps.jobs.retry(ref)
    if picked:
        deps.metrics.count("LostJobsRetried", len(picked))
        report("spot_jobs_retried", instance=ev.instance_id, jobs=[r.job_id for r, _ in picked])
    return len(picked)


def _running_jobs(
    ev: SpotEvent, record: ActionRecord, deps: SpotDeps, deadline: float
) -> tuple[JobRef, ...]:
    """The jobs the stop script listed, once it has finished (bounded by the deadline)."""
    while deps.clock.now() + 2 <= deadline:
        status, output = deps.commands.status(record.command_id, ev.instance_id)
        if status not in (CommandStatus.PENDING, CommandStatus.RUNNING):
            return parse_job_list(output)
        deps.clock.sleep(2.0)
    return ()


_DEPS: dict[str, SpotDeps] = {}


def _real_deps(cfg: SpotConfig, env: Mapping[str, str]) -> SpotDeps:
    def build() -> SpotDeps:
        aws = aws_drain_adapters(env, cfg.fleet)
        jobs = _gitlab(aws.ssm, cfg, env)
        return SpotDeps(membership=aws.lifecycle_actions(), jobs=jobs, **aws.shared())

    return built_once(_DEPS, build)


def _gitlab(ssm: Any, cfg: SpotConfig, env: Mapping[str, str]) -> JobsApi | None:
    url = env.get("RUNNERFLEET_GITLAB_URL", "")
    parameter = env.get("RUNNERFLEET_GITLAB_TOKEN_PARAMETER", "")
    if not (cfg.retry_lost_jobs and url and parameter):
        return None
    from runnerfleet.handlers.gitlab_jobs import GitLabJobs

    token = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    return GitLabJobs(url, str(token))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: ``runnerfleet.handlers.spot.handler``."""
    cfg = SpotConfig.from_env(os.environ)
    deps = _real_deps(cfg, os.environ)
    return handle_spot(event, deps, cfg, deadline_of(context, deps.clock.now()))
