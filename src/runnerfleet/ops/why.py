"""``runnerfleet why JOB ENVFILE``: why a job waited, from GitLab's and AWS's own records.

The job's timeline comes from GitLab (created, started, finished, the runner manager that
picked it: system_id ``r_`` + the last 12 hex digits of the instance id). Around it, from AWS:
the autoscaler's decision records (its log group, ``aws.decision_log``) and the group's
scaling activities (launches: when an instance was asked for and when it was InService).
``verdict`` reads them as one line; it is pure, so every case is a unit test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runnerfleet.aws.activities import Activity, activities_between, launch_times
from runnerfleet.aws.decision_log import DecisionLog, DecisionRecord
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.gitlab.client import connect
from runnerfleet.gitlab.jobs import Job, JobRef, fetch_job, parse_job_ref, project_path
from runnerfleet.ops.fleet import fleet_of
from runnerfleet.ops.fleet_view import autoscaler_log_group
from runnerfleet.ops.runners import live_instance_ids
from runnerfleet.ops.target import Target
from runnerfleet.scaling.types import ReasonCode
from runnerfleet.stack.system_id import matches_instance

LOOKBACK_S = 600.0  # decisions and launches shortly before the job count: they made room
QUICK_S = 30.0  # a job picked this fast did not wait for capacity
AT_MAX = ReasonCode.AT_MAX.value
QUEUE_UNKNOWN = ReasonCode.QUEUE_UNKNOWN.value


@dataclass(frozen=True, slots=True)
class Story:
    job: Job
    instance_id: str | None  # the instance whose runner picked the job
    decisions: tuple[DecisionRecord, ...]
    activities: tuple[Activity, ...]
    verdict: str
    now: float

    @property
    def waited_s(self) -> float:
        return (self.job.started_at or self.now) - self.job.created_at

    def timeline(self) -> list[tuple[float, str, str]]:
        """(when, source, what), oldest first."""
        job = self.job
        events = [(job.created_at, "gitlab", f"job {job.id} created ({job.name})")]
        for d in self.decisions:
            events.append((d.at, "autoscaler", _decision_text(d)))
        for a in self.activities:
            events += _activity_events(a)
        if job.started_at is not None:
            by = self.instance_id or job.system_id or "an unknown runner"
            events.append((job.started_at, "gitlab", f"job picked by {by}"))
        if job.finished_at is not None:
            events.append((job.finished_at, "gitlab", f"job {job.status}"))
        return sorted(events, key=lambda e: e[0])

    def to_json(self) -> dict[str, Any]:
        job = self.job
        return {
            "schema": "runnerfleet.why/1",
            "job": {
                "id": job.id,
                "project_id": job.project_id,
                "project": job.project_path,
                "name": job.name,
                "status": job.status,
                "tags": list(job.tags),
                "created_at": job.created_at,
                "started_at": job.started_at,
                "finished_at": job.finished_at,
                "system_id": job.system_id,
                "runner": job.runner,
            },
            "instance_id": self.instance_id,
            "waited_s": round(self.waited_s, 1),
            "verdict": self.verdict,
            "timeline": [{"at": at, "source": s, "what": w} for at, s, w in self.timeline()],
            "decisions": [d.to_json() for d in self.decisions],
            "activities": [a.to_json() for a in self.activities],
        }


def _decision_text(d: DecisionRecord) -> str:
    text = f"{d.action} {d.desired_before} -> {d.desired}"
    return f"{text}: {'; '.join(d.reasons)}" if d.reasons else text


def _activity_events(a: Activity) -> list[tuple[float, str, str]]:
    events = [(a.started_at, "autoscaling", a.description)]
    if a.kind == "launch" and a.ended_at is not None and a.status == "Successful":
        events.append((a.ended_at, "autoscaling", f"{a.instance_id} InService (booted)"))
    return events


def explain_job(spec: FleetSpec, target: Target, job_text: str, *, now: float) -> Story:
    job = find_job(spec, target, job_text)
    fleet = fleet_of(spec, target)
    start, end = job.created_at - LOOKBACK_S, (job.started_at or now) + 1.0
    activities = activities_between(target.clients.client("autoscaling"), fleet.group, start, end)
    log_group = autoscaler_log_group(fleet.log_groups)
    decisions = []
    if log_group is not None:
        decisions = DecisionLog(target.clients.client("logs"), log_group).since(start, end)
    live = live_instance_ids(target.clients, spec.stack) or []
    instance = picked_instance(job, [*(a.instance_id or "" for a in activities), *live])
    activities += ec2_launch(target, instance, activities)
    verdict_text = verdict(job, instance, decisions, activities, now=now)
    return Story(job, instance, tuple(decisions), tuple(activities), verdict_text, now)


def ec2_launch(target: Target, instance: str | None, known: Sequence[Activity]) -> list[Activity]:
    """The picking instance's EC2 launch time when no scaling activity names it (an emulator
    records none; AWS keeps six weeks of them)."""
    if instance is None or any(a.instance_id == instance for a in known):
        return []
    launched = launch_times(target.clients.client("ec2"), [instance]).get(instance)
    if launched is None:
        return []
    text = f"Launching a new EC2 instance: {instance} (EC2 launch time; no scaling activity)"
    return [Activity(launched, None, "launch", instance, "Unknown", text)]


def find_job(spec: FleetSpec, target: Target, job_text: str) -> Job:
    """The job among the projects the fleet serves; refused with the fix when not there."""
    ref = parse_job_ref(job_text, target.gitlab.url)
    gl = connect(target.gitlab.url, target.gitlab.token(target.clients.client("ssm")))
    projects = fleet_projects(spec)
    paths = {pid: project_path(gl, pid) or f"project {pid}" for pid in projects}
    candidates = _candidates(ref, paths)
    for pid in candidates:
        job = fetch_job(gl, pid, paths[pid], ref.job_id)
        if job is not None:
            return job
    where = ", ".join(f"{paths[p]} ({p})" for p in candidates) or "none"
    raise SpecError(
        f"job {ref.job_id} not found in the fleet's projects: {where}",
        hint="check the job number (GitLab shows it as #N on the job page), or pass its URL",
    )


def fleet_projects(spec: FleetSpec) -> list[int]:
    """The projects the registrations serve (the ones the queue policy reads, too)."""
    return sorted({r.project_id for r in spec.registrations if r.project_id is not None})


def _candidates(ref: JobRef, paths: dict[int, str]) -> list[int]:
    if ref.project_path is None:
        return list(paths)
    matching = [pid for pid, path in paths.items() if path == ref.project_path]
    if not matching:
        served = ", ".join(sorted(paths.values())) or "none"
        raise SpecError(
            f"job {ref.job_id} is a job of {ref.project_path}, which this environment's "
            f"registrations do not serve (they serve: {served})",
            hint="pass the environment file of the fleet that runs that project's jobs",
        )
    return matching


def picked_instance(job: Job, instance_ids: Sequence[str]) -> str | None:
    """The instance whose runner has the job's system_id (None: not one of this group's)."""
    system_id = job.system_id
    if system_id is None:
        return None
    return next((i for i in sorted(set(instance_ids)) if matches_instance(system_id, i)), None)


def verdict(
    job: Job,
    instance: str | None,
    decisions: Sequence[DecisionRecord],
    activities: Sequence[Activity],
    *,
    now: float,
) -> str:
    """One line: why the job waited as long as it did (or still waits)."""
    started = job.started_at
    waited = (started or now) - job.created_at
    launch = _launch_of(instance, activities)
    if launch is not None and launch.started_at >= job.created_at:  # launched for it, however fast
        return _booted(job, launch)
    if started is not None and waited < QUICK_S:
        return f"picked at once: a free slot was there ({waited:.0f}s in the queue)"
    if launch is not None and launch.started_at >= job.created_at - LOOKBACK_S:
        return _booted(job, launch)
    cause = _cause(decisions)
    if started is None:
        return f"still waiting after {waited:.0f}s: {cause or 'no runner has picked it yet'}"
    if cause:
        return f"waited {waited:.0f}s: {cause}"
    return (
        f"waited {waited:.0f}s for a busy runner to free a slot: the autoscaler saw "
        "enough capacity and launched no instance for it"
    )


def _launch_of(instance: str | None, activities: Sequence[Activity]) -> Activity | None:
    return next((a for a in activities if a.kind == "launch" and a.instance_id == instance), None)


def _booted(job: Job, launch: Activity) -> str:
    asked = launch.started_at - job.created_at
    when = f"{abs(asked):.0f}s {'before' if asked < 0 else 'after'} the job was created"
    if launch.ended_at is None:  # no scaling activity: EC2's launch time only
        return (
            f"no capacity until instance {launch.instance_id}, launched at "
            f"{_clock(launch.started_at)} ({when}), picked it at {_clock(job.started_at)}"
        )
    boot = launch.ended_at - launch.started_at
    return (
        f"no capacity until instance {launch.instance_id} booted at {_clock(launch.ended_at)} "
        f"(launched {when}, {boot:.0f}s to boot)"
    )


def _cause(decisions: Sequence[DecisionRecord]) -> str:
    """What the autoscaler's records say held capacity back, worst first."""
    if not decisions:
        return "no autoscaler decision was logged meanwhile (is its schedule enabled?)"
    if any(AT_MAX in d.codes for d in decisions):
        top = max(d.desired for d in decisions)
        return f"max size reached: the group stayed at its maximum ({top} instances)"
    if any(d.scrape_failures for d in decisions):
        worst = max(d.scrape_failures for d in decisions)
        return f"scrape failures: up to {worst} runner(s) unreadable, so capacity was unknown"
    if any(QUEUE_UNKNOWN in d.codes for d in decisions):
        return "queue unknown: the autoscaler could not read GitLab's pending jobs"
    return ""


def _clock(at: float | None) -> str:
    if at is None:
        return "?"
    return datetime.fromtimestamp(at, tz=UTC).strftime("%H:%M:%SZ")
