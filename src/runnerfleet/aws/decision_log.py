"""The autoscaler's decision records, read back from its CloudWatch Logs group.

Every evaluation of the autoscaler function logs one JSON line, its summary
(``ops.autoscale.Evaluation.summary``). Lambda ships the function's output to its log group,
so the records need no new resource and no new permission for the function; an operator
reads them with ``logs:FilterLogEvents``. The runtime prefixes a line with level, time and
request id: the record is the JSON object from the first ``{`` on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import error_code, translate

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

# A term every summary carries and no other line of the function does (a filter pattern term).
RECORD_TERM = '"desired_before"'
MAX_EVENTS = 2000  # one evaluation a minute: a day and more


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One evaluation as the autoscaler logged it."""

    at: float  # epoch seconds of the log event
    action: str
    desired_before: int
    desired: int
    policy: str
    reasons: tuple[str, ...]
    codes: tuple[str, ...]
    pending_jobs: int | None
    scrape_failures: int
    errors: tuple[str, ...]
    trigger: str

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "action": self.action,
            "desired_before": self.desired_before,
            "desired": self.desired,
            "policy": self.policy,
            "reasons": list(self.reasons),
            "codes": list(self.codes),
            "pending_jobs": self.pending_jobs,
            "scrape_failures": self.scrape_failures,
            "errors": list(self.errors),
            "trigger": self.trigger,
        }


def parse_record(message: str, at: float) -> DecisionRecord | None:
    """The record in one log line; None for any other line (or a damaged one)."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        raw = json.loads(message[start:])
        return from_summary(raw, at) if isinstance(raw, dict) else None
    except (ValueError, TypeError, KeyError):
        return None


def from_summary(raw: Mapping[str, Any], at: float) -> DecisionRecord:
    """A record from an evaluation's summary; KeyError/ValueError when it is not one."""
    pending = raw.get("pending_jobs")
    return DecisionRecord(
        at=at,
        action=str(raw["action"]),
        desired_before=int(raw["desired_before"]),
        desired=int(raw["desired"]),
        policy=str(raw.get("policy", "")),
        reasons=_strings(raw.get("reasons")),
        codes=_strings(raw.get("codes")),
        pending_jobs=None if pending is None else int(pending),
        scrape_failures=int(raw.get("scrape_failures") or 0),
        errors=_strings(raw.get("errors")),
        trigger=str(raw.get("trigger", "")),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value)


class DecisionLog:
    """Reads the decision records of one autoscaler log group."""

    def __init__(self, logs: CloudWatchLogsClient, group: str) -> None:
        self._logs = logs
        self._group = group

    def since(self, start: float, end: float | None = None) -> list[DecisionRecord]:
        """Every record from ``start`` (to ``end``), oldest first; none when nothing logged."""
        kwargs: dict[str, Any] = {
            "logGroupName": self._group,
            "startTime": int(start * 1000),
            "filterPattern": RECORD_TERM,
        }
        if end is not None:
            kwargs["endTime"] = int(end * 1000)
        try:
            events = self._events(kwargs)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []  # the function has not run yet
            raise translate(
                exc, f"reading the autoscaler's log group {self._group}",
                "allow logs:FilterLogEvents on it for your identity",
            ) from exc  # fmt: skip
        return sorted(_records(events), key=lambda r: r.at)

    def _events(self, kwargs: dict[str, Any]) -> list[Mapping[str, Any]]:
        pages = self._logs.get_paginator("filter_log_events").paginate(
            **kwargs, PaginationConfig={"MaxItems": MAX_EVENTS}
        )
        return [event for page in pages for event in page.get("events", [])]


def _records(events: Iterable[Mapping[str, Any]]) -> Iterable[DecisionRecord]:
    for event in events:
        record = parse_record(str(event.get("message", "")), event["timestamp"] / 1000.0)
        if record is not None:
            yield record
