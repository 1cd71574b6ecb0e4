"""Fetching the fleet's bootstrap, runner and drain logs from CloudWatch Logs (boto3 adapter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import error_code, translate


@dataclass(frozen=True, slots=True)
class LogLine:
    at: float
    group: str
    stream: str
    message: str

    def render(self) -> str:
        stamp = datetime.fromtimestamp(self.at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{stamp} {self.stream} {self.message.rstrip()}"


class FleetLogs:
    """Log events of the fleet's log groups; streams are named after the instance id."""

    def __init__(self, logs: Any) -> None:
        self._logs = logs

    def fetch(
        self, groups: list[str], *, since: float, instance_id: str | None = None, limit: int = 500
    ) -> list[LogLine]:
        """The newest ``limit`` lines since ``since`` across ``groups``, oldest first."""
        lines: list[LogLine] = []
        for group in groups:
            lines += self._group(group, since, instance_id, limit)
        lines.sort(key=lambda line: line.at)
        return lines[-limit:]

    def _group(
        self, group: str, since: float, instance_id: str | None, limit: int
    ) -> list[LogLine]:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(since * 1000)}
        if instance_id:
            streams = self._streams(group, instance_id)
            if not streams:
                return []
            kwargs["logStreamNames"] = streams
        pages = self._logs.get_paginator("filter_log_events").paginate(
            **kwargs, PaginationConfig={"MaxItems": limit * 4}
        )
        out: list[LogLine] = []
        try:
            for page in pages:
                out += [
                    LogLine(
                        e["timestamp"] / 1000.0,
                        group,
                        e.get("logStreamName", ""),
                        e.get("message", ""),
                    )
                    for e in page.get("events", [])
                ]
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []  # no instance has written to this group yet
            raise translate(
                exc,
                f"reading log group {group}",
                "check logs:FilterLogEvents is allowed for your identity",
            ) from exc
        return out

    def _streams(self, group: str, prefix: str) -> list[str]:
        """Streams of one instance (named after its id; the agent may add a suffix)."""
        try:
            out = self._logs.describe_log_streams(
                logGroupName=group, logStreamNamePrefix=prefix, limit=50
            )
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []
            raise translate(
                exc, f"listing streams of {group}", "check logs:DescribeLogStreams is allowed"
            ) from exc
        return [str(s["logStreamName"]) for s in out.get("logStreams", [])]
