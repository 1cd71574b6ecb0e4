"""The deployed drain document, sent with SendCommand, drains a busy runner on a twin instance."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import gitlab
import pytest

from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.sandbox.twin.front import Route
from runnerfleet.sandbox.twin.instances import InstanceRuntime
from runnerfleet.sandbox.twin.runcommand import RunCommandService
from runnerfleet.sandbox.twin.ssmdocs import moto_documents
from runnerfleet.sandbox.twin.ssmroute import ssm_route
from runnerfleet.stack.drain_document import render_drain_document
from runnerfleet.stack.userdata import drain_settings
from tests.sandbox.twin.conftest import REGION, Served
from tests.sandbox.twin.runtime_support import (
    ACCOUNT,
    PROJECT,
    Recorder,
    create_runners,
    dev_spec,
    front,  # noqa: F401 - fixtures
    gl,  # noqa: F401
    launch_template_data,
    needs_aws_cli,
    needs_tools,
    recorder,  # noqa: F401
    routes,  # noqa: F401
    runtime,  # noqa: F401
    standin,  # noqa: F401
    wait_for,
)
from tests.sandbox.twin.test_instances import _running_jobs

INSTANCE = "i-0dddddddddddddd01"
pytestmark = [needs_aws_cli, needs_tools]


def _calls(seen: Recorder, action: str, token: str) -> list[dict[str, list[str]]]:
    return [
        params
        for name, params in seen.calls
        if name == action and params.get("LifecycleActionToken") == [token]
    ]


@pytest.fixture
def service(
    runtime: InstanceRuntime,  # noqa: F811
    routes: dict[str, Route],  # noqa: F811
) -> Iterator[RunCommandService]:
    commands = RunCommandService(runtime, moto_documents(ACCOUNT, REGION))
    routes["ssm"] = ssm_route(commands)
    yield commands
    commands.close()


def test_the_drain_document_drains_a_busy_runner(
    service: RunCommandService,
    front: Served,  # noqa: F811
    gl: gitlab.Gitlab,  # noqa: F811
    standin: GitLabStandIn,  # noqa: F811
    recorder: Recorder,  # noqa: F811
) -> None:
    instances = service.instances
    spec = dev_spec(standin.url)
    runners = create_runners(gl, front, spec)
    address = instances.start(INSTANCE, f"{spec.stack}-asg", launch_template_data(spec))
    assert wait_for(lambda: _running_jobs(address) == 0, 90)
    ssm: Any = front.client("ssm")
    document = render_drain_document(drain_settings(spec))
    ssm.create_document(Content=json.dumps(document), Name="dev-drain", DocumentType="Command")
    job = standin.enqueue_job(PROJECT, tags=["docker"], duration=12.0)
    assert wait_for(lambda: _running_jobs(address) == 1, 30)

    token = str(uuid.uuid4())
    command_id = ssm.send_command(
        InstanceIds=[INSTANCE],
        DocumentName="dev-drain",
        Parameters={"LifecycleActionToken": [token], "HeartbeatSeconds": ["3"]},
        TimeoutSeconds=60,
    )["Command"]["CommandId"]

    def _ended() -> dict[str, Any] | None:
        inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=INSTANCE)
        return inv if inv["Status"] not in ("Pending", "InProgress") else None

    inv = wait_for(_ended, 90, 0.5)
    assert inv, "the drain still runs after 90 s"
    assert (inv["Status"], inv["ResponseCode"], inv["PluginName"]) == ("Success", 0, "DrainRunner")
    assert "lifecycle action completed: CONTINUE" in inv["StandardOutputContent"]
    # the job finished (SIGQUIT: no abort), the lifecycle action was kept alive, then completed
    assert standin.state.jobs[job.id].status == "success"
    assert _calls(recorder, "RecordLifecycleActionHeartbeat", token)
    [complete] = _calls(recorder, "CompleteLifecycleAction", token)
    assert complete["LifecycleActionResult"] == ["CONTINUE"]
    # this instance's runner manager is gone from GitLab, the runner no longer serves
    for runner in runners:
        assert gl.http_get(f"/runners/{runner.id}/managers") == []
    assert _running_jobs(address) is None
