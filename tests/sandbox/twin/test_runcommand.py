"""Run Command through the twin's endpoint: documents' shell steps really run on an instance."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from runnerfleet.sandbox.twin.front import Route
from runnerfleet.sandbox.twin.instances import InstanceRuntime
from runnerfleet.sandbox.twin.runcommand import RunCommandService
from runnerfleet.sandbox.twin.ssmdocs import moto_documents
from runnerfleet.sandbox.twin.ssmroute import ssm_route
from tests.sandbox.twin.conftest import REGION, Served
from tests.sandbox.twin.runtime_support import (
    ACCOUNT,
    front,  # noqa: F401 - fixtures
    needs_aws_cli,
    recorder,  # noqa: F401
    routes,  # noqa: F401
    runtime,  # noqa: F401
    wait_for,
)

pytestmark = needs_aws_cli
INSTANCE = "i-0aaaaaaaaaaaaaaa1"
IDLE_USER_DATA = {"UserData": base64.b64encode(b"#!/bin/bash\nexit 0\n").decode()}


class Clock:
    """Real time plus a jump the test can make (delivery timeouts without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ssm(
    runtime: InstanceRuntime,  # noqa: F811
    routes: dict[str, Route],  # noqa: F811
    front: Served,  # noqa: F811
    clock: Clock,
) -> Iterator[Any]:
    service = RunCommandService(runtime, moto_documents(ACCOUNT, REGION), clock=clock)
    routes["ssm"] = ssm_route(service)
    runtime.start(INSTANCE, "group", IDLE_USER_DATA)
    yield front.client("ssm")
    service.close()


def _shell(ssm: Any, *commands: str, **extra: Any) -> str:
    out = ssm.send_command(
        InstanceIds=[INSTANCE],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": list(commands), **extra.pop("Parameters", {})},
        **extra,
    )
    return str(out["Command"]["CommandId"])


def _finished(ssm: Any, command_id: str, timeout_s: float = 30) -> dict[str, Any]:
    def _done() -> dict[str, Any] | None:
        inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=INSTANCE)
        return None if inv["Status"] in ("Pending", "InProgress", "Cancelling") else inv

    found = wait_for(_done, timeout_s, 0.1)
    assert found, f"command {command_id} still runs after {timeout_s}s"
    return dict(found)


def test_a_shell_step_runs_on_the_instance_with_its_status_and_output(
    ssm: Any,
    runtime: InstanceRuntime,  # noqa: F811
) -> None:
    command_id = _shell(ssm, "echo hello from $RUNNERFLEET_TWIN_INSTANCE", "echo oops >&2", "pwd")
    inv = _finished(ssm, command_id)
    instance = runtime.get(INSTANCE)
    assert instance is not None
    assert (inv["Status"], inv["StatusDetails"], inv["ResponseCode"]) == ("Success", "Success", 0)
    assert inv["StandardOutputContent"] == f"hello from {INSTANCE}\n{instance.root}\n"
    assert inv["StandardErrorContent"] == "oops\n"
    assert inv["PluginName"] == "runShellScript" and inv["DocumentName"] == "AWS-RunShellScript"
    assert inv["ExecutionStartDateTime"].endswith("Z") and inv["ExecutionElapsedTime"]


def test_a_failing_step_reports_its_exit_status(ssm: Any) -> None:
    inv = _finished(ssm, _shell(ssm, "echo partial", "exit 3"))
    assert (inv["Status"], inv["StatusDetails"], inv["ResponseCode"]) == ("Failed", "Failed", 3)
    assert inv["StandardOutputContent"] == "partial\n"


def test_output_is_capped_as_aws_caps_it(ssm: Any) -> None:
    command_id = _shell(
        ssm, "head -c 30000 /dev/zero | tr '\\0' o", "head -c 9000 /dev/zero | tr '\\0' e >&2"
    )
    inv = _finished(ssm, command_id)
    assert len(inv["StandardOutputContent"]) == 24_000
    assert len(inv["StandardErrorContent"]) == 8_000
    listed = ssm.list_command_invocations(CommandId=command_id, Details=True)
    [row] = listed["CommandInvocations"]
    assert row["Status"] == "Success" and len(row["CommandPlugins"][0]["Output"]) == 2_500


def test_a_step_past_its_timeout_is_killed(ssm: Any) -> None:
    started = time.monotonic()
    command_id = _shell(ssm, "sleep 60", Parameters={"executionTimeout": ["1"]})
    inv = _finished(ssm, command_id)
    assert (inv["Status"], inv["StatusDetails"]) == ("TimedOut", "Execution Timed Out")
    assert time.monotonic() - started < 20


def test_cancel_ends_a_running_command(ssm: Any) -> None:
    command_id = _shell(ssm, "echo started", "sleep 60")
    assert wait_for(
        lambda: (
            ssm.get_command_invocation(CommandId=command_id, InstanceId=INSTANCE)["Status"]
            == "InProgress"
        ),
        10,
        0.05,
    )
    ssm.cancel_command(CommandId=command_id)
    inv = _finished(ssm, command_id)
    assert (inv["Status"], inv["StatusDetails"]) == ("Cancelled", "Cancelled")
    [listed] = ssm.list_commands(CommandId=command_id)["Commands"]
    assert listed["Status"] == "Cancelled" and listed["InstanceIds"] == [INSTANCE]


def test_a_stopped_instance_gets_the_command_when_it_starts(
    ssm: Any,
    runtime: InstanceRuntime,  # noqa: F811
) -> None:
    runtime.power_off(INSTANCE)
    command_id = _shell(ssm, "echo late")
    time.sleep(0.5)
    pending = ssm.get_command_invocation(CommandId=command_id, InstanceId=INSTANCE)
    assert (pending["Status"], pending["ResponseCode"], pending["ExecutionStartDateTime"]) == (
        "Pending",
        -1,
        "",
    )
    runtime.power_on(INSTANCE)
    assert _finished(ssm, command_id)["StandardOutputContent"] == "late\n"


def test_undelivered_commands_time_out_or_are_undeliverable(
    ssm: Any,
    runtime: InstanceRuntime,  # noqa: F811
    clock: Clock,
) -> None:
    runtime.power_off(INSTANCE)
    late = _shell(ssm, "echo never", TimeoutSeconds=30)
    gone = _shell(ssm, "echo never", TimeoutSeconds=600)
    clock.offset = 31  # the first command's delivery timeout passes
    inv = _finished(ssm, late)
    assert (inv["Status"], inv["StatusDetails"], inv["ResponseCode"]) == (
        "TimedOut",
        "Delivery Timed Out",
        -1,
    )
    runtime.stop(INSTANCE)  # terminated before the second could be delivered
    inv = _finished(ssm, gone)
    assert (inv["Status"], inv["StatusDetails"], inv["ResponseCode"]) == (
        "Failed",
        "Undeliverable",
        -1,
    )


def test_instances_that_are_gone_or_never_were_are_refused(
    ssm: Any,
    runtime: InstanceRuntime,  # noqa: F811
) -> None:
    with pytest.raises(ClientError) as never:
        ssm.send_command(
            InstanceIds=["i-0000000000000dead"],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": ["true"]},
        )
    assert never.value.response["Error"]["Code"] == "InvalidInstanceId"
    runtime.stop(INSTANCE)
    with pytest.raises(ClientError) as gone:
        _shell(ssm, "true")
    assert gone.value.response["Error"]["Code"] == "InvalidInstanceId"


def test_a_deployed_document_runs_with_its_parameters_checked_and_substituted(
    ssm: Any,
) -> None:
    content = {
        "schemaVersion": "2.2",
        "description": "greets",
        "parameters": {
            "Who": {"type": "String", "allowedPattern": "^[a-z]+$"},
            "Greeting": {"type": "String", "default": "hello"},
        },
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "Greet",
                "inputs": {"runCommand": ["echo '{{ Greeting }}, {{Who}}'"]},
            }
        ],
    }
    ssm.create_document(Content=json.dumps(content), Name="Greet", DocumentType="Command")
    out = ssm.send_command(
        InstanceIds=[INSTANCE], DocumentName="Greet", Parameters={"Who": ["ops"]}
    )
    inv = _finished(ssm, out["Command"]["CommandId"])
    assert inv["StandardOutputContent"] == "hello, ops\n" and inv["PluginName"] == "Greet"
    for bad, code in (
        ({"Who": ["Ops!"]}, "InvalidParameters"),
        ({"Who": ["ops"], "Extra": ["x"]}, "InvalidParameters"),
        ({}, "InvalidParameters"),
    ):
        with pytest.raises(ClientError) as refused:
            ssm.send_command(InstanceIds=[INSTANCE], DocumentName="Greet", Parameters=bad)
        assert refused.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as missing:
        ssm.send_command(InstanceIds=[INSTANCE], DocumentName="NoSuchDocument")
    assert missing.value.response["Error"]["Code"] == "InvalidDocument"


def test_unknown_commands_and_invocations_are_errors(ssm: Any) -> None:
    with pytest.raises(ClientError) as unknown:
        ssm.get_command_invocation(
            CommandId="00000000-0000-0000-0000-000000000000", InstanceId=INSTANCE
        )
    assert unknown.value.response["Error"]["Code"] == "InvalidCommandId"
    command_id = _shell(ssm, "true")
    with pytest.raises(ClientError) as elsewhere:
        ssm.get_command_invocation(CommandId=command_id, InstanceId="i-0000000000000beef")
    assert elsewhere.value.response["Error"]["Code"] == "InvocationDoesNotExist"
