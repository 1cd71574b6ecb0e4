"""The Auto Scaling group's scaling activities (launches and terminations) in a time window,
and when an instance was launched according to EC2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import aws_call

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_ec2 import EC2Client

INSTANCE_RE = re.compile(r"\bi-[0-9a-f]{8,17}\b")
MAX_PAGES = 20  # 100 activities a page, newest first: far more than one job's wait


@dataclass(frozen=True, slots=True)
class Activity:
    started_at: float
    ended_at: float | None
    kind: str  # "launch", "terminate" or "other"
    instance_id: str | None
    status: str  # Successful, InProgress, Failed, ...
    description: str

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "kind": self.kind,
            "instance_id": self.instance_id,
            "status": self.status,
            "description": self.description,
        }


def activities_between(
    autoscaling: AutoScalingClient, group: str, start: float, end: float
) -> list[Activity]:
    """The group's activities that started in [start, end], oldest first."""

    def read() -> list[Activity]:
        found: list[Activity] = []
        pages = autoscaling.get_paginator("describe_scaling_activities").paginate(
            AutoScalingGroupName=group, PaginationConfig={"MaxItems": MAX_PAGES * 100}
        )
        for page in pages:
            rows = [_activity(row) for row in page.get("Activities", [])]
            found += [a for a in rows if start <= a.started_at <= end]
            if rows and min(a.started_at for a in rows) < start:
                break  # newest first: the rest is older than the window
        return sorted(found, key=lambda a: a.started_at)

    return aws_call(read, f"reading the scaling activities of {group}")


def _activity(row: Any) -> Activity:
    description = str(row.get("Description", ""))
    found = INSTANCE_RE.search(description)
    ended = row.get("EndTime")
    return Activity(
        started_at=row["StartTime"].timestamp(),
        ended_at=ended.timestamp() if ended is not None else None,
        kind=_kind(description),
        instance_id=found.group(0) if found else None,
        status=str(row.get("StatusCode", "")),
        description=description,
    )


def _kind(description: str) -> str:
    if description.startswith("Launching"):
        return "launch"
    return "terminate" if description.startswith("Terminating") else "other"


def launch_times(ec2: EC2Client, instance_ids: list[str]) -> dict[str, float]:
    """EC2's LaunchTime of each instance it still knows (terminated ones go after ~1 hour)."""
    if not instance_ids:
        return {}
    try:
        answer = ec2.describe_instances(InstanceIds=instance_ids)
    except ClientError:
        return {}  # an id EC2 no longer knows fails the whole call: none is better than an error
    return {
        i["InstanceId"]: i["LaunchTime"].timestamp()
        for r in answer.get("Reservations", [])
        for i in r.get("Instances", [])
        if "LaunchTime" in i
    }
