"""The local Lambda runtime through the twin's endpoint: deployed code really runs."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from runnerfleet.aws.artifacts import build_zip
from runnerfleet.sandbox.twin.instances import TwinEndpoint
from runnerfleet.sandbox.twin.lambdalogs import moto_log_sink
from runnerfleet.sandbox.twin.lambdaroute import lambda_route
from runnerfleet.sandbox.twin.lambdas import LocalLambdas, moto_functions
from tests.sandbox.twin.conftest import REGION, Served
from tests.sandbox.twin.runtime_support import ACCOUNT, deploy_function, wait_for

FUNCTION_CODE = """
import os, time
import boto3

CALLS = {"n": 0}  # lives as long as the warm container


def handler(event, context):
    CALLS["n"] += 1
    action = event.get("action")
    if action == "fail":
        raise ValueError("bad input: " + str(event.get("why")))
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "ssm":
        ssm = boto3.client("ssm")
        if "put" in event:
            ssm.put_parameter(Name=event["name"], Value=event["put"], Type="String", Overwrite=True)
        return ssm.get_parameter(Name=event["name"])["Parameter"]["Value"]
    print("handled call", CALLS["n"])
    return {
        "n": CALLS["n"],
        "greeting": os.environ.get("GREETING"),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "name": context.function_name,
        "request_id": context.aws_request_id,
        "pid": os.getpid(),
    }
"""


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def twin(serve_front: Any, tmp_path: Path) -> Iterator[tuple[Served, LocalLambdas]]:
    routes: dict[str, Any] = {}
    served = serve_front(DomainDispatcherApplication(create_backend_app), routes)
    lambdas = LocalLambdas(
        tmp_path / "home",
        moto_functions(ACCOUNT, REGION),
        lambda: TwinEndpoint(served.endpoint, REGION, ACCOUNT),
        log_sink=moto_log_sink(ACCOUNT, REGION),
    )
    routes["lambda"] = lambda_route(lambdas)
    yield served, lambdas
    lambdas.close()


def _invoke(served: Served, name: str, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    out = served.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **extra
    )
    out["Body"] = json.loads(out.pop("Payload").read() or b"null")
    return dict(out)


@pytest.fixture
def fn(twin: tuple[Served, LocalLambdas]) -> Served:
    served, _ = twin
    # moto builds its SSM backend (AWS's public parameters) on first use: seconds, not ours
    served.client("ssm").describe_parameters(MaxResults=1)
    served.name = deploy_function(  # type: ignore[attr-defined]
        served,
        "echo",
        _zip({"fn.py": FUNCTION_CODE}),
        Timeout=6,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    return served


def test_a_warm_container_runs_the_deployed_code_with_its_environment(fn: Served) -> None:
    first = _invoke(fn, fn.name, {}, LogType="Tail")
    second = _invoke(fn, fn.name, {})
    assert first["StatusCode"] == 200 and "FunctionError" not in first
    assert first["Body"]["greeting"] == "hello" and first["Body"]["name"] == fn.name
    assert 0 < first["Body"]["remaining_ms"] <= 6000
    assert (first["Body"]["n"], second["Body"]["n"]) == (1, 2)  # module state persists
    assert first["Body"]["pid"] == second["Body"]["pid"]
    log = base64.b64decode(first["LogResult"]).decode()
    request_id = first["Body"]["request_id"]
    assert f"START RequestId: {request_id}" in log and "handled call 1" in log
    assert f"END RequestId: {request_id}" in log


def test_a_failing_function_answers_its_error(fn: Served) -> None:
    out = _invoke(fn, fn.name, {"action": "fail", "why": "no key"})
    assert (out["StatusCode"], out["FunctionError"]) == (200, "Unhandled")
    assert out["Body"]["errorType"] == "ValueError"
    assert out["Body"]["errorMessage"] == "bad input: no key"
    assert any("fn.py" in line for line in out["Body"]["stackTrace"])


def test_an_invocation_past_its_timeout_kills_the_container(fn: Served) -> None:
    warm = _invoke(fn, fn.name, {})["Body"]["pid"]
    out = _invoke(fn, fn.name, {"action": "sleep", "seconds": 30})
    assert out["FunctionError"] == "Unhandled"
    assert "Task timed out after 6.00 seconds" in out["Body"]["errorMessage"]
    fresh = _invoke(fn, fn.name, {})["Body"]
    assert fresh["n"] == 1 and fresh["pid"] != warm  # a new container, caches empty


def test_the_function_calls_aws_through_the_twin(fn: Served) -> None:
    event = {"action": "ssm", "name": "/twin/test", "put": "from-lambda"}
    assert _invoke(fn, fn.name, event)["Body"] == "from-lambda"
    assert fn.client("ssm").get_parameter(Name="/twin/test")["Parameter"]["Value"] == "from-lambda"


def test_event_invocations_run_in_the_background(fn: Served) -> None:
    event = {"action": "ssm", "name": "/twin/async", "put": "later"}
    out = fn.client("lambda").invoke(
        FunctionName=fn.name, InvocationType="Event", Payload=json.dumps(event).encode()
    )
    assert out["StatusCode"] == 202

    def _value() -> str | None:
        try:
            return str(fn.client("ssm").get_parameter(Name="/twin/async")["Parameter"]["Value"])
        except ClientError:
            return None

    assert wait_for(_value, 30) == "later"
    dry = fn.client("lambda").invoke(FunctionName=fn.name, InvocationType="DryRun")
    assert dry["StatusCode"] == 204


def test_new_configuration_means_a_new_container(fn: Served) -> None:
    before = _invoke(fn, fn.name, {})["Body"]
    fn.client("lambda").update_function_configuration(
        FunctionName=fn.name, Environment={"Variables": {"GREETING": "changed"}}
    )
    after = _invoke(fn, fn.name, {})["Body"]
    assert after["greeting"] == "changed" and after["pid"] != before["pid"]


def test_bad_invocations_are_refused_as_lambda_refuses_them(fn: Served) -> None:
    client = fn.client("lambda")
    with pytest.raises(ClientError) as missing:
        client.invoke(FunctionName="nope", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as garbled:
        client.invoke(FunctionName=fn.name, Payload=b"{not json")
    assert garbled.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_a_missing_handler_module_is_an_init_error(twin: tuple[Served, LocalLambdas]) -> None:
    served, _ = twin
    name = deploy_function(served, "broken", _zip({"other.py": "x = 1\n"}))
    out = _invoke(served, name, {})
    assert out["FunctionError"] == "Unhandled"
    assert out["Body"]["errorType"] == "Runtime.ImportModuleError"


def test_the_project_artefact_runs_its_handler_from_the_zip(
    twin: tuple[Served, LocalLambdas],
) -> None:
    served, _ = twin
    code, _digest = build_zip()
    name = deploy_function(
        served, "autoscaler", code, handler="runnerfleet.handlers.autoscaler.handler"
    )
    out = _invoke(served, name, {})
    # no configuration in its environment: the handler says so, from the unzipped artefact
    assert out["FunctionError"] == "Unhandled"
    trace = "".join(out["Body"]["stackTrace"])
    assert f"/lambda/{name}/code/" in trace and "runnerfleet/handlers/autoscaler.py" in trace


def test_the_function_logs_reach_cloudwatch_logs(fn: Served) -> None:
    request_id = _invoke(fn, fn.name, {})["Body"]["request_id"]
    events = fn.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{fn.name}")["events"]
    messages = [e["message"] for e in events]
    assert f"START RequestId: {request_id} Version: $LATEST" in messages
    assert "handled call 1" in messages
    assert any(m.startswith(f"REPORT RequestId: {request_id}") for m in messages)
