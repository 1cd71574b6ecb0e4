"""Lambda handlers: configuration from the environment, the webhook's token check, packaging."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.handlers import autoscaler as handler
from runnerfleet.handlers import webhook as wh
from runnerfleet.ops import autoscale_env as ah
from runnerfleet.scaling import IdlePolicy, Schedule
from tests.autoscaler.conftest import Group, instance_ids, make_group
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server
from tests.conftest import REPO

SECRET = "webhook-secret-for-tests-only"


@pytest.fixture(autouse=True)
def _fresh_containers() -> Iterator[None]:
    handler._cache.clear()
    ah.SecureParameters._cache.clear()
    wh._last_trigger.clear()
    yield
    handler._cache.clear()
    ah.SecureParameters._cache.clear()
    wh._last_trigger.clear()
    while _ACTIVE:
        _ACTIVE.pop().deactivate()


def _env(group: str, **extra: str) -> dict[str, str]:
    scaling = {"policy": "idle", "idle_count": 0, "idle_time_s": 0, "cooldown_s": 0}
    return {
        ah.ENV_ASG: group,
        ah.ENV_STACK: "stack-h",
        ah.ENV_SCALING: json.dumps({"scaling": scaling, "concurrent": 4, "tags": ["docker"]}),
        ah.ENV_TIMEOUT: "1",
        ah.ENV_DEADLINE: "3",
        **extra,
    }


def test_config_from_env_names_what_is_missing_or_wrong() -> None:
    with pytest.raises(ah.ConfigError, match="RUNNERFLEET_GROUP, RUNNERFLEET_SCALING"):
        ah.config_from_env({ah.ENV_STACK: "s"})
    with pytest.raises(ah.ConfigError, match="idle_cuont"):
        ah.config_from_env(_env("g", **{ah.ENV_POLICY: '{"policy": "idle", "idle_cuont": 1}'}))
    config = ah.config_from_env(_env("g"))
    assert isinstance(config.policy, IdlePolicy) and config.policy.concurrent == 4
    assert config.pending is None
    assert config.scrape.timeout_s == 1.0 and config.scrape.port == 9252


def test_policy_override_schedule_and_queue_settings_from_env() -> None:
    policy = {
        "policy": "schedule",
        "base": {"policy": "queue", "idle_count": 1},
        "periods": [
            {"cron": "* 8-18 * * 1-5", "timezone": "Europe/Berlin", "overrides": {"idle_count": 6}}
        ],
    }
    scaling = {"scaling": {"policy": "queue"}, "tags": ["docker", "linux"], "projects": [7]}
    env = _env(
        "g",
        **{
            ah.ENV_SCALING: json.dumps(scaling),
            ah.ENV_POLICY: json.dumps(policy),
            ah.ENV_GITLAB_URL: "https://gitlab.example.com",
            ah.ENV_PROJECTS: "12, 34",
            ah.ENV_TOKEN_PARAM: "/fleet/gitlab-read-token",
        },
    )
    config = ah.config_from_env(env)
    assert isinstance(config.policy, Schedule)
    assert config.pending is not None and config.pending.project_ids == (12, 34)
    assert config.pending.tags == frozenset({"docker", "linux"})


def test_run_from_env_scrapes_decides_applies_and_publishes(aws: ClientFactory) -> None:
    group = make_group(aws, desired=2)
    busy, idle = group.ids
    with runner_server() as server:
        hosts = {
            busy: server.add("127.0.0.1", 0, Endpoint(render_metrics(2))),
            idle: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))),
        }
        summary = ah.run_from_env(_env(group.name), aws, lambda iid, _ip: hosts[iid]).summary()
    assert summary["action"] == "scale_in" and summary["terminate"] == [idle]
    assert instance_ids(aws, group.name) == [busy]
    assert any("stack status" in note for note in summary["notes"])  # no such stack in moto
    json.dumps(summary)  # the Lambda returns it: must be JSON


_ACTIVE: list[Stubber] = []


@functools.cache
def _clients() -> dict[str, Any]:
    session = boto3.session.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
    )
    return {name: session.client(name) for name in ("ssm", "lambda")}


class _Fake:
    """A factory whose clients are Stubber-checked: parameters match the real service model."""

    def __init__(self) -> None:
        self.clients = _clients()
        self.stubs = {name: Stubber(c) for name, c in self.clients.items()}
        _ACTIVE.extend(self.stubs.values())
        self.stubs["ssm"].add_response(
            "get_parameter",
            {"Parameter": {"Name": "/fleet/webhook", "Type": "SecureString", "Value": SECRET}},
            {"Name": "/fleet/webhook", "WithDecryption": True},
        )
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name: str) -> Any:
        return self.clients[name]


def _event(token: str | None, status: str = "pending", kind: str = "Job Hook") -> dict[str, Any]:
    headers = {"content-type": "application/json", "x-gitlab-event": kind}
    if token is not None:
        headers["X-Gitlab-Token"] = token
    body = {"object_kind": "build", "build_id": 42, "build_status": status, "runner": None}
    return {
        "headers": headers,
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST"}},
    }


WH_ENV = {wh.ENV_SECRET_PARAM: "/fleet/webhook", wh.ENV_FUNCTION: "fleet-autoscaler"}


@pytest.mark.parametrize("token", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_webhook_refuses_a_wrong_token_and_never_echoes_the_secret(token: str | None) -> None:
    fake = _Fake()
    response = wh.handle(_event(token), WH_ENV, fake, now=100.0)  # type: ignore[arg-type]
    assert response["statusCode"] == 401
    assert SECRET not in json.dumps(response)


def test_webhook_pending_job_invokes_the_autoscaler_once_per_interval() -> None:
    fake = _Fake()
    fake.stubs["lambda"].add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": "fleet-autoscaler", "InvocationType": "Event", "Payload": ANY},
    )
    first = wh.handle(_event(SECRET), WH_ENV, fake, now=100.0)  # type: ignore[arg-type]
    assert first["statusCode"] == 202 and json.loads(first["body"])["mode"] == "async"
    again = wh.handle(_event(SECRET), WH_ENV, fake, now=105.0)  # type: ignore[arg-type]
    assert "moments ago" in again["body"]
    fake.stubs["lambda"].assert_no_pending_responses()


def test_webhook_ignores_deeply_nested_json_instead_of_crashing() -> None:
    fake = _Fake()
    event = {**_event(SECRET), "body": "[" * 100_000 + "]" * 100_000}
    response = wh.handle(event, WH_ENV, fake, now=1.0)  # type: ignore[arg-type]
    assert response["statusCode"] == 202 and "not a Job Hook" in response["body"]


@pytest.mark.parametrize(
    ("status", "kind"), [("success", "Job Hook"), ("running", "Job Hook"), ("pending", "Push Hook")]
)
def test_webhook_ignores_events_that_need_no_capacity(status: str, kind: str) -> None:
    fake = _Fake()
    response = wh.handle(_event(SECRET, status, kind), WH_ENV, fake, now=1.0)  # type: ignore[arg-type]
    assert response["statusCode"] == 202 and "ignored" in response["body"]


def test_webhook_evaluates_in_process_without_a_function_name(aws: ClientFactory) -> None:
    group: Group = make_group(aws, desired=0)
    aws.client("ssm").put_parameter(Name="/fleet/webhook", Value=SECRET, Type="SecureString")
    env = {**_env(group.name), wh.ENV_SECRET_PARAM: "/fleet/webhook"}
    response = wh.handle(_event(SECRET), env, aws, now=1.0)
    assert response["statusCode"] == 200 and json.loads(response["body"])["action"] == "hold"


def test_handlers_import_no_pydantic_spec_or_cli() -> None:
    code = (
        "import sys, runnerfleet.handlers.autoscaler, runnerfleet.handlers.webhook\n"
        # (httpx imports rich and click only if present, for its own CLI: not a dependency)
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml')"
        " or m.startswith(('runnerfleet.envfile', 'runnerfleet.cli')))\n"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_webhook_reads_base64_bodies_and_refuses_other_methods() -> None:
    import base64

    fake = _Fake()
    fake.stubs["lambda"].add_response(
        "invoke",
        {"StatusCode": 202},
        {"FunctionName": "fleet-autoscaler", "InvocationType": "Event", "Payload": ANY},
    )
    event = _event(SECRET)
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert wh.handle(event, WH_ENV, fake, now=1.0)["statusCode"] == 202  # type: ignore[arg-type]
    fake.stubs["lambda"].assert_no_pending_responses()
    get = {**_event(SECRET), "requestContext": {"http": {"method": "GET"}}}
    assert wh.handle(get, WH_ENV, fake, now=99.0)["statusCode"] == 405  # type: ignore[arg-type]
