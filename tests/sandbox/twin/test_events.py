"""The twin's EventBridge: rules from moto, patterns, targets' input, schedules, PutEvents."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from runnerfleet.aws.artifacts import build_zip
from runnerfleet.sandbox.twin.events import LocalEventBus, events_route, moto_rules
from runnerfleet.sandbox.twin.eventschedule import Never, parse_schedule
from runnerfleet.sandbox.twin.instances import TwinEndpoint
from runnerfleet.sandbox.twin.lambdaroute import lambda_route
from runnerfleet.sandbox.twin.lambdas import LocalLambdas, moto_functions
from tests.sandbox.twin.conftest import REGION, Served
from tests.sandbox.twin.runtime_support import ACCOUNT, deploy_function, wait_for

T0 = datetime(2026, 12, 2, 12, 1, 30, tzinfo=UTC).timestamp()


class RecordedLambdas:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []

    def invoke(self, function_name: str, payload: bytes, invocation_type: str) -> tuple[int, bytes]:
        self.calls.append((function_name, json.loads(payload), invocation_type))
        return 202, b""


def _fn_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


@pytest.fixture
def served(serve_front: Any) -> tuple[Served, dict[str, Any]]:
    routes: dict[str, Any] = {}
    return serve_front(DomainDispatcherApplication(create_backend_app), routes), routes


@pytest.fixture
def bus(
    served: tuple[Served, dict[str, Any]],
) -> Iterator[tuple[Any, LocalEventBus, RecordedLambdas]]:
    front, routes = served
    lambdas = RecordedLambdas()
    local = LocalEventBus(moto_rules(ACCOUNT, REGION), lambdas, ACCOUNT, REGION, schedule_factor=60)
    routes["events"] = events_route(local)
    yield front.client("events"), local, lambdas


def _rule(client: Any, *, target: dict[str, Any] | None = None, **rule: Any) -> str:
    """A rule under a fresh name (moto in-process outlives one test), one Lambda target."""
    name = f"twin-{uuid.uuid4().hex[:8]}"
    client.put_rule(Name=name, **rule)
    client.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": _fn_arn(name), **(target or {})}])
    return name


def test_schedule_expressions_read_as_eventbridge_writes_them() -> None:
    assert parse_schedule("rate(1 minute)").next_after(T0) == T0 + 60
    assert parse_schedule("rate(2 hours)").next_after(T0) == T0 + 7200
    five = parse_schedule("cron(0/5 * * * ? *)").next_after(T0)
    assert datetime.fromtimestamp(five, tz=UTC).strftime("%H:%M") == "12:05"
    # 2026-12-02 is a Wednesday; EventBridge's 1 is SUNDAY, so 2-6 is MON-FRI and 1 is SUN
    weekday = parse_schedule("cron(0 9 ? * 2-6 *)").next_after(T0)
    assert datetime.fromtimestamp(weekday, tz=UTC).strftime("%a %H:%M") == "Thu 09:00"
    sunday = parse_schedule("cron(0 9 ? * 1 *)").next_after(T0)
    assert datetime.fromtimestamp(sunday, tz=UTC).strftime("%a") == "Sun"
    for bad in ("rate(0 minutes)", "cron(* * * *)", "every minute"):
        assert isinstance(parse_schedule(bad), Never)


def test_a_matching_event_reaches_enabled_rules_with_their_input(
    bus: tuple[Any, LocalEventBus, RecordedLambdas],
) -> None:
    client, local, lambdas = bus
    pattern = json.dumps(
        {"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance-terminate Lifecycle Action"]}
    )
    whole = _rule(client, EventPattern=pattern)
    detail = _rule(client, EventPattern=pattern, target={"InputPath": "$.detail"})
    constant = _rule(client, EventPattern=pattern, target={"Input": '{"fixed": true}'})
    shaped = _rule(
        client,
        EventPattern=pattern,
        target={
            "InputTransformer": {
                "InputPathsMap": {"iid": "$.detail.EC2InstanceId"},
                "InputTemplate": '{"instance": <iid>, "text": "<iid> goes"}',
            }
        },
    )
    paused = _rule(client, EventPattern=pattern, State="DISABLED")
    other = _rule(client, EventPattern=json.dumps({"source": ["aws.ec2"]}))
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling",
        "account": ACCOUNT,
        "time": "2026-12-02T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"EC2InstanceId": "i-0123456789abcdef0", "LifecycleActionToken": "t"},
    }
    local.publish(event)
    got = {name: (payload, kind) for name, payload, kind in lambdas.calls}
    assert got[whole] == (event, "Event")
    assert got[detail][0] == event["detail"]
    assert got[constant][0] == {"fixed": True}
    iid = "i-0123456789abcdef0"
    assert got[shaped][0] == {"instance": iid, "text": f"{iid} goes"}
    assert paused not in got and other not in got


def test_put_events_delivers_and_refuses_what_eventbridge_refuses(
    bus: tuple[Any, LocalEventBus, RecordedLambdas],
) -> None:
    client, _, lambdas = bus
    name = _rule(
        client, EventPattern=json.dumps({"source": ["acme.ci"], "detail": {"kind": ["push"]}})
    )
    out = client.put_events(
        Entries=[
            {"Source": "acme.ci", "DetailType": "Push", "Detail": '{"kind": "push"}'},
            {"Source": "acme.ci", "DetailType": "Push", "Detail": '{"kind": "tag"}'},
            {"Source": "aws.autoscaling", "DetailType": "x", "Detail": "{}"},
            {"Source": "acme.ci", "DetailType": "Push", "Detail": "not json"},
        ]
    )
    assert out["FailedEntryCount"] == 2
    assert "EventId" in out["Entries"][0] and "EventId" in out["Entries"][1]
    assert out["Entries"][2]["ErrorCode"] == "NotAuthorizedForSourceException"
    assert out["Entries"][3]["ErrorCode"] == "MalformedDetail"
    [(_, payload, _)] = [c for c in lambdas.calls if c[0] == name]
    assert payload["detail"] == {"kind": "push"} and payload["id"] == out["Entries"][0]["EventId"]
    with pytest.raises(ClientError) as too_many:
        client.put_events(Entries=[{"Source": "a.b", "DetailType": "x", "Detail": "{}"}] * 11)
    assert too_many.value.response["Error"]["Code"] == "ValidationException"


def test_schedules_fire_faster_by_the_factor_and_not_when_disabled(
    bus: tuple[Any, LocalEventBus, RecordedLambdas],
) -> None:
    client, local, lambdas = bus
    every_minute = _rule(client, ScheduleExpression="rate(1 minute)")
    paused = _rule(client, ScheduleExpression="rate(1 minute)", State="DISABLED")
    for second in (0.0, 0.5, 1.01, 1.5, 2.02, 2.5):  # factor 60: a minute is a second
        local.tick(T0 + second)
    fired = [payload for name, payload, _ in lambdas.calls if name == every_minute]
    assert len(fired) == 2
    assert fired[0]["detail-type"] == "Scheduled Event" and fired[0]["source"] == "aws.events"
    assert fired[0]["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{every_minute}"]
    assert not [c for c in lambdas.calls if c[0] == paused]
    client.disable_rule(Name=every_minute)  # `aws events disable-rule` pauses the autoscaler
    local.tick(T0 + 3.5)
    assert len([c for c in lambdas.calls if c[0] == every_minute]) == 2


def test_a_scheduled_rule_invokes_the_autoscaler_from_the_artefact(
    served: tuple[Served, dict[str, Any]], tmp_path: Path
) -> None:
    front, routes = served
    lambdas = LocalLambdas(
        tmp_path / "home",
        moto_functions(ACCOUNT, REGION),
        lambda: TwinEndpoint(front.endpoint, REGION, ACCOUNT),
    )
    local = LocalEventBus(moto_rules(ACCOUNT, REGION), lambdas, ACCOUNT, REGION, schedule_factor=60)
    routes.update({"events": events_route(local), "lambda": lambda_route(lambdas)})
    try:
        name = _deploy_autoscaler(front)
        events = front.client("events")
        rule = f"{name}-schedule"
        events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")
        events.put_targets(Rule=rule, Targets=[{"Id": "autoscaler", "Arn": _fn_arn(name)}])
        paused = f"{name}-paused"
        events.put_rule(Name=paused, ScheduleExpression="rate(1 minute)", State="DISABLED")
        events.put_targets(Rule=paused, Targets=[{"Id": "a", "Arn": _fn_arn(name)}])
        for second in (0.0, 1.1):
            local.tick(T0 + second)
        assert wait_for(lambda: lambdas.invocations, 60)
        time.sleep(1)
        assert [f for f, _ in lambdas.invocations] == [name]  # once: the paused rule is silent
        log = tmp_path / "home/lambda" / name / "function.log"
        assert wait_for(lambda: "runnerfleet/handlers/autoscaler.py" in log.read_text(), 30)
    finally:
        lambdas.close()


def _deploy_autoscaler(front: Served) -> str:
    handler = "runnerfleet.handlers.autoscaler.handler"
    return deploy_function(front, "autoscaler", build_zip()[0], handler, Timeout=30)
