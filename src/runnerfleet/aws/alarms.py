"""The fleet's CloudWatch alarms that are in ALARM now.

The fleet template leaves alarm names to CloudFormation, which names each
``<stack>-<logical id>-<suffix>``: the stack's alarms are those with the prefix ``<stack>-``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runnerfleet.aws.awscall import aws_call

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


@dataclass(frozen=True, slots=True)
class AlarmView:
    name: str
    reason: str  # CloudWatch's StateReason
    since: float  # epoch seconds of the last state change

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason, "since": self.since}


def alarms_in_alarm(cloudwatch: CloudWatchClient, stack: str) -> list[AlarmView]:
    def read() -> list[Any]:
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=f"{stack}-", StateValue="ALARM"
        )
        return [
            a for p in pages for a in [*p.get("MetricAlarms", []), *p.get("CompositeAlarms", [])]
        ]

    rows = aws_call(
        read, "reading the fleet's alarms", "allow cloudwatch:DescribeAlarms for your identity"
    )
    firing = (a for a in rows if a.get("StateValue") == "ALARM")  # emulators may not filter
    return sorted((_view(a) for a in firing), key=lambda a: a.name)


def _view(alarm: Any) -> AlarmView:
    changed = alarm.get("StateUpdatedTimestamp")
    return AlarmView(
        name=str(alarm["AlarmName"]),
        reason=str(alarm.get("StateReason", "")),
        since=changed.timestamp() if changed is not None else 0.0,
    )
