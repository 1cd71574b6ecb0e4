"""The twin's EventBridge: events delivered to the rules' targets, schedules fired.

Rules and targets are moto's (what ``deploy`` created, ``aws events disable-rule`` changes);
patterns are matched with moto's own matcher. An event (from PutEvents through the front, or
the world's Auto Scaling and spot events) goes to every ENABLED rule of its bus whose pattern
matches; a scheduled rule fires a "Scheduled Event" when its ``rate(...)`` or ``cron(...)``
comes due. Lambda targets are invoked asynchronously through the local Lambda runtime, with
``Input``, ``InputPath`` or ``InputTransformer`` applied. Schedules run ``schedule_factor``
times faster than real time (the sandbox's documented shortcut); a missed run is not caught
up, as EventBridge does not. Delivery is best effort and logged: a failing target never stops
the others.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runnerfleet.sandbox.twin.eventschedule import Schedule, parse_schedule
from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply, Route, error_reply
from runnerfleet.sandbox.twin.world import LambdaRuntime

log = logging.getLogger("runnerfleet.twin.events")
DEFAULT_BUS = "default"


@dataclass(frozen=True)
class RuleView:
    """One rule as the bus needs it."""

    name: str
    arn: str
    bus: str
    enabled: bool
    schedule: str  # "" for a pattern rule
    targets: tuple[Mapping[str, Any], ...]
    matches: Callable[[Mapping[str, Any]], bool]


RuleSource = Callable[[], list[RuleView]]


def moto_rules(account_id: str, region: str) -> RuleSource:
    """Every rule of every bus, read from moto's events backend at each use."""

    def _rules() -> list[RuleView]:
        from moto.events.models import events_backends

        backend = events_backends[account_id][region]
        return [
            _view(bus_name, rule)
            for bus_name, bus in list(backend.event_buses.items())
            for rule in list(bus.rules.values())
        ]

    return _rules


def _view(bus: str, rule: Any) -> RuleView:
    pattern = rule.event_pattern
    return RuleView(
        name=str(rule.name),
        arn=str(rule.arn),
        bus=bus,
        enabled=rule.state == "ENABLED",
        schedule=str(rule.scheduled_expression or ""),
        targets=tuple(dict(t) for t in rule.targets),
        matches=lambda event: bool(pattern.get_pattern()) and pattern.matches_event(event),
    )


@dataclass
class Delivery:
    """One event handed to one target (for diagnosis and tests)."""

    rule: str
    target: str
    event_id: str
    detail_type: str
    status: int = 0


@dataclass
class LocalEventBus:
    """The world's ``EventBus``."""

    rules: RuleSource
    lambdas: LambdaRuntime
    account_id: str
    region: str
    schedule_factor: float = 1.0
    clock: Callable[[], float] = time.time
    delivered: list[Delivery] = field(default_factory=list)
    _schedules: dict[str, tuple[str, Schedule, float]] = field(default_factory=dict)
    _started: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, event: Mapping[str, Any]) -> None:
        """Deliver ``event`` (an EventBridge envelope) to the matching enabled rules."""
        bus = str(event.get("event-bus-name") or DEFAULT_BUS)
        plain = {k: v for k, v in event.items() if k != "event-bus-name"}
        for rule in self.rules():
            if rule.bus == bus and rule.enabled and not rule.schedule and rule.matches(plain):
                self._deliver(rule, plain)

    def tick(self, now: float) -> None:
        """Fire every enabled schedule that came due (at most once per tick)."""
        virtual = self._virtual(now)
        for rule in self.rules():
            if rule.schedule and rule.enabled and self._due(rule, virtual):
                self._deliver(rule, self._scheduled_event(rule, now))

    def envelope(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """A PutEvents entry as the event the rules see."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": self.account_id,
            "time": _stamp(entry.get("Time") or self.clock()),
            "region": self.region,
            "resources": list(entry.get("Resources") or []),
            "detail": json.loads(entry.get("Detail") or "{}"),
            "event-bus-name": _bus_name(str(entry.get("EventBusName") or DEFAULT_BUS)),
        }

    # ---- inside ----

    def _virtual(self, now: float) -> float:
        """Schedule time: real time since the bus started, ``schedule_factor`` times faster."""
        with self._lock:
            if self._started is None:
                self._started = now
            return self._started + (now - self._started) * self.schedule_factor

    def _due(self, rule: RuleView, virtual: float) -> bool:
        with self._lock:
            known = self._schedules.get(rule.arn)
            if known is None or known[0] != rule.schedule:
                schedule = parse_schedule(rule.schedule)
                self._schedules[rule.arn] = (rule.schedule, schedule, schedule.next_after(virtual))
                return False
            _, schedule, next_at = known
            if virtual < next_at:
                return False
            self._schedules[rule.arn] = (rule.schedule, schedule, schedule.next_after(virtual))
            return True

    def _scheduled_event(self, rule: RuleView, now: float) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": _stamp(now),
            "region": self.region,
            "resources": [rule.arn],
            "detail": {},
        }

    def _deliver(self, rule: RuleView, event: Mapping[str, Any]) -> None:
        for target in rule.targets:
            record = Delivery(rule.name, str(target.get("Id", "")), str(event.get("id", "")),
                              str(event.get("detail-type", "")))  # fmt: skip
            try:
                record.status = self._to_target(target, event)
            except Exception:
                log.exception("rule %s: target %s failed", rule.name, record.target)
                record.status = 500
            self.delivered = [*self.delivered[-499:], record]

    def _to_target(self, target: Mapping[str, Any], event: Mapping[str, Any]) -> int:
        arn = str(target.get("Arn", ""))
        if not arn.startswith("arn:aws:lambda:"):
            log.warning("target %s: only Lambda targets are delivered in the sandbox", arn)
            return 0
        payload = json.dumps(target_input(target, event)).encode()
        status, _ = self.lambdas.invoke(lambda_name(arn), payload, "Event")
        return status


def lambda_name(arn: str) -> str:
    """The function of a Lambda ARN (``...:function:NAME`` or ``...:function:NAME:QUALIFIER``)."""
    parts = arn.split(":")
    return parts[6] if len(parts) > 6 else arn


def target_input(target: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """What the target receives: the event, or its ``Input`` / ``InputPath`` / transformer."""
    if target.get("Input"):
        return json.loads(str(target["Input"]))
    if target.get("InputPath"):
        return json_path(event, str(target["InputPath"]))
    transformer = target.get("InputTransformer")
    if transformer:
        return _transform(transformer, event)
    return dict(event)


def json_path(document: Any, path: str) -> Any:
    """The simple JSONPath EventBridge takes (``$``, ``$.a.b``); None when absent."""
    node = document
    for part in [p for p in path.lstrip("$").split(".") if p]:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _transform(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """``<name>`` slots filled as EventBridge fills them: inside a JSON string as raw text,
    elsewhere as a JSON value (a string value gets its quotes)."""
    values = {
        name: json_path(event, str(path))
        for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    template = str(transformer.get("InputTemplate", ""))

    def _fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if _inside_string(template, match.start()) and isinstance(value, str):
            return value
        return json.dumps(value)

    text = re.sub(r"<([A-Za-z0-9_.\-]+)>", _fill, template)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _inside_string(text: str, at: int) -> bool:
    """Whether position ``at`` of a JSON text is inside a string literal."""
    inside, escaped = False, False
    for char in text[:at]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            inside = not inside
    return inside


def _bus_name(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


def _stamp(at: Any) -> str:
    if isinstance(at, datetime):
        at = at.timestamp()
    return datetime.fromtimestamp(float(at), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the front's ``events`` route: PutEvents here, the rest of EventBridge is moto's ----

MAX_ENTRIES = 10
JSON_TYPE = "application/x-amz-json-1.1"


def events_route(bus: LocalEventBus) -> Route:
    def _route(request: AwsRequest, moto: Passthrough) -> Reply:
        if request.action != "PutEvents":
            return moto()
        try:
            entries = list(json.loads(request.body or b"{}").get("Entries") or [])
        except (ValueError, AttributeError):
            return error_reply(request, 400, "ValidationException", "The body is not JSON.")
        if not 1 <= len(entries) <= MAX_ENTRIES:
            message = f"Entries takes 1 to {MAX_ENTRIES} entries, not {len(entries)}."
            return error_reply(request, 400, "ValidationException", message)
        results = [put_entry(bus, entry) for entry in entries]
        body = {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}
        return Reply(
            200, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(body).encode()
        )

    return _route


def put_entry(bus: LocalEventBus, entry: Mapping[str, Any]) -> dict[str, str]:
    """One PutEvents entry: published, or the per-entry error EventBridge gives."""
    problem = _entry_problem(entry)
    if problem:
        return {"ErrorCode": problem[0], "ErrorMessage": problem[1]}
    event = bus.envelope(entry)
    bus.publish(event)
    return {"EventId": str(event["id"])}


def _entry_problem(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    missing = [k for k in ("Source", "DetailType", "Detail") if not entry.get(k)]
    if missing:
        return "InvalidArgument", f"Parameter(s) {', '.join(missing)} is/are not valid."
    if str(entry["Source"]).startswith("aws."):
        return "NotAuthorizedForSourceException", "Not authorized for the source."
    try:
        detail = json.loads(str(entry["Detail"]))
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    return None
