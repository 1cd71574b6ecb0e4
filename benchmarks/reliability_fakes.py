"""Fake adapters of the reliability benchmark: they act on the World instead of AWS and GitLab."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runnerfleet.asgmodel.types import FleetEvent
from runnerfleet.aws.lifecycle_ssm import ActionRecord, Claim
from runnerfleet.drain import CommandStatus, JobRef, JobView
from runnerfleet.scaling.types import LifecycleState

if TYPE_CHECKING:
    from benchmarks.reliability_world import World

GITLAB = "https://gitlab.example.com"


class FakeRecords:
    """ActionRecords' semantics (create-if-absent, lease, resume) in memory."""

    def __init__(self) -> None:
        self.rows: dict[str, ActionRecord] = {}

    def claim(self, token: str, instance_id: str, *, now: float, lease_s: float) -> Claim:
        current = self.rows.get(token)
        if current is None:
            self.rows[token] = ActionRecord(
                token, instance_id, "claimed", now + lease_s, started_at=now
            )
            return Claim("new", self.rows[token])
        if current.state == "abandoned" or current.lease_until > now or current.command_id:
            return Claim("duplicate", current)
        return Claim("resume", current)

    def save(self, record: ActionRecord) -> None:
        self.rows[record.token] = record


def lifecycle_payload(event: FleetEvent, world: World) -> dict[str, Any]:
    token = f"{zlib.crc32(f'{event.instance_id}@{event.at}'.encode()):012d}"
    return {
        "id": f"ev-{token}",
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "time": _iso(event.at),
        "detail": {
            "LifecycleActionToken": f"00000000-0000-4000-8000-{token}",
            "AutoScalingGroupName": "bench",
            "LifecycleHookName": "drain",
            "EC2InstanceId": event.instance_id,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
        },
    }


def spot_payload(event: FleetEvent, world: World) -> dict[str, Any]:
    return {
        "id": f"spot-{event.instance_id}",
        "time": _iso(event.at),
        "detail-type": "EC2 Spot Instance Interruption Warning",
        "detail": {"instance-id": event.instance_id, "instance-action": "terminate"},
    }


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Commands:
    def __init__(self, world: World) -> None:
        self.world = world

    def send(self, instance_id: str, document: str, parameters: Any, comment: str) -> str:
        runner = self.world.runners.get(instance_id)
        if document == "drain":
            self.world.start_drain(instance_id, parameters["LifecycleActionToken"])
        elif runner is not None:
            runner.accepting = False  # the spot stop: no new jobs at once
        return f"{document}:{instance_id}"

    def status(self, command_id: str, instance_id: str) -> tuple[CommandStatus, str]:
        document = command_id.split(":", 1)[0]
        runner = self.world.runners.get(instance_id)
        if document == "spot":
            jobs = runner.jobs if runner else []
            listing = "".join(
                f"url={GITLAB}/acme/app/-/jobs/{j.job_id} state=running\n" for j in jobs
            )
            return CommandStatus.SUCCEEDED, listing
        done = runner is None or runner.completed
        return (CommandStatus.SUCCEEDED if done else CommandStatus.RUNNING), ""


class Actions:
    def __init__(self, world: World) -> None:
        self.world = world

    def complete(self, group: str, hook: str, token: str, result: str) -> bool:
        raise AssertionError("the benchmark never expects the Lambda to ABANDON")


class Members:
    def __init__(self, world: World) -> None:
        self.world = world

    def group_of(self, instance_id: str) -> str | None:
        state = self.world.fleet.state_of(instance_id)
        return None if state is LifecycleState.TERMINATED else "bench"


class Jobs:
    def __init__(self, world: World) -> None:
        self.world = world

    def owns(self, ref: JobRef) -> bool:
        return ref.url.startswith(GITLAB + "/")

    def job(self, ref: JobRef) -> JobView:
        job = self.world.jobs[ref.job_id]
        return JobView(ref, job.status, job.failure_reason)

    def cancel(self, ref: JobRef) -> None:
        self.world.jobs[ref.job_id].status = "canceled"

    def retry(self, ref: JobRef) -> int:
        job = self.world.jobs[ref.job_id]
        if job.retried:
            raise AssertionError(f"job {ref.job_id} retried twice")
        job.retried = True
        self.world.tally.spot_retried += 1
        return ref.job_id


class Metrics:
    def count(self, name: str, value: float = 1.0) -> None:
        return None
