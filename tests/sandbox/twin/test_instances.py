"""A twin instance boots from the real user data: bootstrap, real AWS CLI, runner agent."""

from __future__ import annotations

import os
from pathlib import Path

import gitlab
import httpx
from prometheus_client.parser import text_string_to_metric_families

from runnerfleet.sandbox.standin import GitLabStandIn
from runnerfleet.sandbox.twin.instances import InstanceRuntime
from runnerfleet.stack.system_id import system_id_for_instance
from tests.sandbox.twin.conftest import Served
from tests.sandbox.twin.runtime_support import (
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

INSTANCE = "i-0123456789abcdef0"
pytestmark = [needs_aws_cli, needs_tools]


def _running_jobs(address: str) -> float | None:
    try:
        body = httpx.get(f"http://{address}:9252/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    samples = [s for f in text_string_to_metric_families(body) for s in f.samples]
    jobs = [s for s in samples if s.name == "gitlab_runner_jobs"]
    return sum(s.value for s in jobs if s.labels["state"] == "running") if jobs else None


def _marked_processes(instance_id: str) -> list[int]:
    marker = f"RUNNERFLEET_TWIN_INSTANCE={instance_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_instance_boots_from_the_real_user_data(
    runtime: InstanceRuntime,  # noqa: F811
    front: Served,  # noqa: F811
    gl: gitlab.Gitlab,  # noqa: F811
    standin: GitLabStandIn,  # noqa: F811
    recorder: Recorder,  # noqa: F811
) -> None:
    spec = dev_spec(standin.url)
    runners = create_runners(gl, front, spec)
    address = runtime.start(INSTANCE, f"{spec.stack}-asg", launch_template_data(spec))
    instance = runtime.get(INSTANCE)
    assert instance is not None and address.startswith("127.0.") and address != "127.0.0.1"
    assert wait_for(lambda: instance.boot_status() is not None, 90) and instance.boot_status() == 0
    # the runner verified under this instance's system_id, from the instance's own address
    for runner in runners:
        managers = gl.http_get(f"/runners/{runner.id}/managers")
        assert [(m["system_id"], m["ip_address"]) for m in managers] == [
            (system_id_for_instance(INSTANCE), address)
        ]
    assert wait_for(lambda: _running_jobs(address) is not None)
    assert _running_jobs(address) == 0
    # the launch action completed by instance id, the stack signalled, as on AWS
    complete = dict(recorder.calls)["CompleteLifecycleAction"]
    assert complete["InstanceId"] == [INSTANCE]
    assert complete["LifecycleActionResult"] == ["CONTINUE"]
    assert dict(recorder.calls)["SignalResource"]["Status"] == ["SUCCESS"]
    # IMDSv2 on the instance's address, tokens required as the template says
    imds = instance.env["RUNNERFLEET_IMDS_URL"]
    assert imds.startswith(f"http://{address}:")
    assert httpx.get(f"{imds}/latest/meta-data/instance-id").status_code == 401


def test_terminated_instance_leaves_nothing_running(
    runtime: InstanceRuntime,  # noqa: F811
    front: Served,  # noqa: F811
    gl: gitlab.Gitlab,  # noqa: F811
    standin: GitLabStandIn,  # noqa: F811
) -> None:
    spec = dev_spec(standin.url)
    create_runners(gl, front, spec)
    address = runtime.start(INSTANCE, f"{spec.stack}-asg", launch_template_data(spec))
    assert wait_for(lambda: _running_jobs(address) is not None, 90)
    assert _running_jobs(address) == 0
    assert _marked_processes(INSTANCE)  # the runner's supervisor and the agent
    runtime.stop(INSTANCE)
    assert runtime.address_of(INSTANCE) is None
    assert _marked_processes(INSTANCE) == []
    assert _running_jobs(address) is None
