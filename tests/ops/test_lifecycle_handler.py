"""The terminate lifecycle handler against stubbed SSM, Auto Scaling and CloudWatch clients."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from moto import mock_aws

from runnerfleet.aws.drain_metrics import CloudWatchCounter
from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import ActionRecord, ActionRecords, DrainCommands
from runnerfleet.drain import DrainLimits
from runnerfleet.handlers.lifecycle import config_from_env
from runnerfleet.ops.drain import Clock, DrainConfig, DrainDeps, RetryLater, handle_terminate
from tests.ops.events import load_event
from tests.ops.stubs import ANY, FakeClock, client, metric, stubbed

T0 = 1795435200.0  # the fixtures' event time
TOKEN = "87654321-4321-4321-4321-210987654321"
INSTANCE = "i-1234567890abcdef0"
CMD = "c0ffee00-1111-2222-3333-444455556666"
RECORD = f"/runnerfleet/dev/drain-actions/{TOKEN}"
CFG = DrainConfig(
    fleet="dev",
    document="dev-drain",
    group="my-asg",
    limits=DrainLimits(heartbeat_timeout_s=600, max_drain_s=7200, unreachable_timeout_s=15),
)


def setup(start: float = T0) -> tuple[DrainDeps, Any, Any, Any, FakeClock]:
    ssm, asg, cw = client("ssm"), client("autoscaling"), client("cloudwatch")
    clock = FakeClock(start)
    deps = DrainDeps(
        records=ActionRecords(ssm, "/runnerfleet/dev/drain-actions"),
        commands=DrainCommands(ssm, log_group="/runnerfleet/dev/drain"),
        actions=LifecycleActions(asg),
        metrics=CloudWatchCounter(cw, "Runnerfleet", "dev"),
        clock=Clock(now=clock.now, sleep=clock.sleep),
    )
    return deps, ssm, asg, cw, clock


def send_params() -> dict[str, Any]:
    return {
        "InstanceIds": [INSTANCE],
        "DocumentName": "dev-drain",
        "TimeoutSeconds": 60,
        "Comment": f"drain {TOKEN}",
        "Parameters": {
            "AutoScalingGroupName": ["my-asg"],
            "LifecycleHookName": ["my-lifecycle-hook"],
            "LifecycleActionToken": [TOKEN],
            "HeartbeatSeconds": ["200"],
            "HeartbeatTimeoutSeconds": ["600"],
            "MaxDrainSeconds": ["7200"],
        },
        "CloudWatchOutputConfig": {
            "CloudWatchLogGroupName": "/runnerfleet/dev/drain",
            "CloudWatchOutputEnabled": True,
        },
    }


def put(overwrite: bool) -> dict[str, Any]:
    return {"Name": RECORD, "Value": ANY, "Type": "String", "Overwrite": overwrite}


def invocation(status: str, details: str, code: int = -1) -> dict[str, Any]:
    return {
        "CommandId": CMD,
        "InstanceId": INSTANCE,
        "Status": status,
        "StatusDetails": details,
        "ResponseCode": code,
    }


def test_sends_the_drain_document_once_and_returns_when_it_runs() -> None:
    deps, ssm, asg, cw, _ = setup()
    with stubbed(ssm, asg, cw) as (s, _a, c):
        s.add_response("put_parameter", {"Version": 1}, put(False))
        s.add_response("send_command", {"Command": {"CommandId": CMD}}, send_params())
        s.add_response("put_parameter", {"Version": 2}, put(True))
        c.add_response("put_metric_data", {}, metric("DrainCommandsSent"))
        s.add_client_error("get_command_invocation", "InvocationDoesNotExist")
        s.add_response(
            "get_command_invocation",
            invocation("InProgress", "In Progress"),
            {"CommandId": CMD, "InstanceId": INSTANCE},
        )
        out = handle_terminate(load_event("terminate-lifecycle-action"), deps, CFG, T0 + 100)
    assert out == {"status": "draining", "command_id": CMD}


def test_eventbridge_retry_while_the_first_run_holds_the_lease_is_a_duplicate() -> None:
    deps, ssm, asg, cw, _ = setup()
    live = ActionRecord(TOKEN, INSTANCE, "sent", T0 + 50, command_id=CMD)
    with stubbed(ssm, asg, cw) as (s, _a, c):
        s.add_client_error("put_parameter", "ParameterAlreadyExists")
        s.add_response("get_parameter", {"Parameter": {"Name": RECORD, "Value": live.to_json()}})
        c.add_response("put_metric_data", {}, metric("DrainDuplicates"))
        out = handle_terminate(load_event("terminate-lifecycle-action"), deps, CFG, T0 + 100)
    assert out == {"status": "duplicate", "command_id": CMD}


def test_retry_after_the_lease_expired_resumes_without_sending_again() -> None:
    deps, ssm, asg, cw, _ = setup()
    stale = ActionRecord(TOKEN, INSTANCE, "sent", T0 - 1, command_id=CMD)
    with stubbed(ssm, asg, cw) as (s, _a, _c):
        s.add_client_error("put_parameter", "ParameterAlreadyExists")
        s.add_response("get_parameter", {"Parameter": {"Name": RECORD, "Value": stale.to_json()}})
        s.add_response("put_parameter", {"Version": 3}, put(True))
        s.add_response("get_command_invocation", invocation("Success", "Success", 0))
        out = handle_terminate(load_event("terminate-lifecycle-action"), deps, CFG, T0 + 100)
    assert out["status"] == "draining"


def test_ssm_unreachable_is_reported_then_abandoned_after_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deps, ssm, asg, cw, clock = setup()
    caplog.set_level(logging.INFO, logger="runnerfleet.drain")
    with stubbed(ssm, asg, cw) as (s, a, c):
        s.add_response("put_parameter", {"Version": 1}, put(False))
        s.add_client_error("send_command", "InvalidInstanceId", expected_params=send_params())
        c.add_response("put_metric_data", {}, metric("DrainUnreachable"))
        for _ in range(2):  # again at each poll (5 s) until the 15 s give-up timeout
            s.add_client_error("send_command", "InvalidInstanceId")
        a.add_response(
            "complete_lifecycle_action",
            {},
            {
                "LifecycleHookName": "my-lifecycle-hook",
                "AutoScalingGroupName": "my-asg",
                "LifecycleActionToken": TOKEN,
                "LifecycleActionResult": "ABANDON",
            },
        )
        s.add_response("put_parameter", {"Version": 2}, put(True))
        c.add_response("put_metric_data", {}, metric("DrainAbandoned"))
        out = handle_terminate(load_event("terminate-lifecycle-action"), deps, CFG, T0 + 100)
    assert out["status"] == "abandoned"
    assert clock.t == T0 + 15  # it waited the whole unreachable timeout, no more
    errors = [json.loads(r.message) for r in caplog.records if r.levelno == logging.ERROR]
    assert [e["event"] for e in errors] == ["drain_unreachable", "drain_abandoned"]
    assert errors[0]["reason"] == "InvalidInstanceId"


def test_undelivered_command_past_the_deadline_asks_lambda_to_retry() -> None:
    deps, ssm, asg, cw, _ = setup()
    with stubbed(ssm, asg, cw) as (s, _a, c):
        s.add_response("put_parameter", {"Version": 1}, put(False))
        s.add_response("send_command", {"Command": {"CommandId": CMD}})
        s.add_response("put_parameter", {"Version": 2}, put(True))
        c.add_response("put_metric_data", {}, metric("DrainCommandsSent"))
        with pytest.raises(RetryLater):
            handle_terminate(load_event("terminate-lifecycle-action"), deps, CFG, T0 + 2)


def test_failed_drain_script_is_reported_loudly() -> None:
    deps, ssm, asg, cw, _ = setup()
    with stubbed(ssm, asg, cw) as (s, _a, c):
        s.add_response("put_parameter", {"Version": 1}, put(False))
        s.add_response("send_command", {"Command": {"CommandId": CMD}})
        s.add_response("put_parameter", {"Version": 2}, put(True))
        c.add_response("put_metric_data", {}, metric("DrainCommandsSent"))
        s.add_response("get_command_invocation", invocation("Failed", "Failed", 1))
        c.add_response("put_metric_data", {}, metric("DrainFailures"))
        out = handle_terminate(load_event("terminate-lifecycle-action"), deps, CFG, T0 + 100)
    assert out["status"] == "failed"


def test_other_groups_launch_events_and_bad_events() -> None:
    deps, ssm, asg, cw, _ = setup()
    with stubbed(ssm, asg, cw) as (_s, _a, c):
        other = load_event("terminate-lifecycle-action", AutoScalingGroupName="someone-else")
        assert handle_terminate(other, deps, CFG, T0 + 100)["status"] == "ignored"
        launch = load_event("launch-lifecycle-action")
        assert handle_terminate(launch, deps, CFG, T0 + 100)["status"] == "ignored"
        c.add_response("put_metric_data", {}, metric("DrainFailures"))
        bad = load_event("terminate-lifecycle-action", LifecycleActionToken="short")
        assert handle_terminate(bad, deps, CFG, T0 + 100)["status"] == "rejected"


def test_config_from_env() -> None:
    cfg = config_from_env(
        {
            "RUNNERFLEET_FLEET": "dev",
            "RUNNERFLEET_DRAIN_DOCUMENT": "d",
            "RUNNERFLEET_HEARTBEAT_TIMEOUT_S": "300",
        }
    )
    assert cfg.limits.heartbeat_timeout_s == 300 and cfg.limits.give_up_after_s == 120
    with pytest.raises(KeyError, match="RUNNERFLEET_DRAIN_DOCUMENT"):
        config_from_env({"RUNNERFLEET_FLEET": "dev"})


def test_handler_module_keeps_lambda_dependencies_pure() -> None:
    import subprocess
    import sys

    code = (
        "import sys, runnerfleet.handlers.lifecycle, runnerfleet.handlers.spot; "
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'runnerfleet.envfile'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_record_pruning_is_best_effort(caplog: pytest.LogCaptureFixture) -> None:
    from runnerfleet.handlers.lifecycle import RECORD_RETENTION_S, _prune_old_records

    class Records:
        def __init__(self) -> None:
            self.calls: list[float] = []

        def prune(self, *, older_than: float, limit: int) -> int:
            self.calls.append(older_than)
            raise RuntimeError("AccessDenied")

    deps, *_rest, clock = setup()
    records = Records()
    deps.records = records  # type: ignore[assignment]
    caplog.set_level(logging.INFO, logger="runnerfleet.drain")
    _prune_old_records(deps)  # must not raise
    assert records.calls == [clock.t - RECORD_RETENTION_S]
    assert "drain_records_prune_failed" in caplog.text


def test_both_drain_handlers_build_their_real_deps_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cold start: one set of adapters per warm container, the lifecycle one for each handler."""
    from runnerfleet.handlers import lifecycle, spot

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    env = {"RUNNERFLEET_FLEET": "dev", "RUNNERFLEET_DRAIN_DOCUMENT": "d", "RUNNERFLEET_GROUP": "g"}
    monkeypatch.setattr(lifecycle, "_DEPS", {})
    monkeypatch.setattr(spot, "_DEPS", {})
    with mock_aws():  # credentials for the clients; no call is made
        drain = lifecycle._real_deps(config_from_env(env), env)
        assert isinstance(drain.actions, LifecycleActions)
        assert isinstance(drain.records, ActionRecords) and isinstance(
            drain.commands, DrainCommands
        )
        assert lifecycle._real_deps(config_from_env(env), env) is drain
        spotted = spot._real_deps(spot.SpotConfig.from_env(env), env)
        assert isinstance(spotted.membership, LifecycleActions) and spotted.jobs is None
        assert spot._real_deps(spot.SpotConfig.from_env(env), env) is spotted
