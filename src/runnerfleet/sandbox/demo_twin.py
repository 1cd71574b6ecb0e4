"""What the demo sees of the running twin, as any client would: the deployed group through the
twin's AWS endpoint (boto3), jobs and runners through the stand-in's GitLab REST API (httpx).
Every figure of the demo's report is read here; nothing is taken from inside the twin.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.standin.seed import SANDBOX_ACCESS_TOKEN
from runnerfleet.sandbox.state import SandboxState

log = logging.getLogger("runnerfleet.demo")
Say = Callable[[str], None]
GROUP_TYPE = "AWS::AutoScaling::AutoScalingGroup"
_DESIRED = re.compile(r"changing the desired capacity from (\d+) to (\d+)")
_SHRINK = re.compile(r"shrinking the capacity from (\d+) to (\d+)")


class TwinClients:
    """The twin's endpoint and the stand-in, reached over HTTP with the sandbox's keys."""

    def __init__(self, state: SandboxState) -> None:
        if not state.gitlab_url:
            raise SandboxError("the demo's twin runs no GitLab stand-in")
        self.gitlab_url = state.gitlab_url
        factory = ClientFactory(
            AwsTarget(region=state.region, endpoint_url=state.endpoint, max_attempts=2)
        )
        self.asg = factory.client("autoscaling")
        self.ssm = factory.client("ssm")
        self.cfn = factory.client("cloudformation")
        self._http = httpx.Client(
            base_url=f"{state.gitlab_url}/api/v4",
            headers={"PRIVATE-TOKEN": SANDBOX_ACCESS_TOKEN},
            timeout=10,
            trust_env=False,  # loopback only: never through a proxy
        )

    def close(self) -> None:
        self._http.close()

    # ---- AWS: the deployed group ----

    def group_of(self, stack: str) -> str:
        """The physical name of the stack's Auto Scaling group."""
        resources = self.cfn.describe_stack_resources(StackName=stack)["StackResources"]
        for resource in resources:
            if resource.get("ResourceType") == GROUP_TYPE:
                return str(resource["PhysicalResourceId"])
        raise SandboxError(f"the stack {stack} has no Auto Scaling group")

    def instances(self, group: str) -> dict[str, tuple[str, str]]:
        """Instance id -> (lifecycle state, instance type); empty once the group is gone."""
        found = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        groups = found["AutoScalingGroups"]
        if not groups:
            return {}
        return {
            i["InstanceId"]: (i["LifecycleState"], i.get("InstanceType", "?"))
            for i in groups[0]["Instances"]
        }

    def desired(self, group: str) -> int | None:
        groups = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        found = groups["AutoScalingGroups"]
        return int(found[0]["DesiredCapacity"]) if found else None

    def activities(self, group: str) -> list[dict[str, Any]]:
        pages = self.asg.get_paginator("describe_scaling_activities")
        found = pages.paginate(AutoScalingGroupName=group)
        return [dict(a) for page in found for a in page["Activities"]]

    def tokens_left(self, stack: str) -> int:
        """Runner token parameters of the stack still in SSM."""
        prefix = f"/runnerfleet/{stack}/runners"
        pages = self.ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [prefix]}]
        )
        return sum(len(page["Parameters"]) for page in pages)

    # ---- GitLab: the stand-in ----

    def create_pipeline(
        self, project_id: int, jobs: int, seconds: int, tags: tuple[str, ...]
    ) -> int:
        variables = [
            {"key": "RUNNERFLEET_SANDBOX_JOBS", "value": str(jobs)},
            {"key": "RUNNERFLEET_SANDBOX_JOB_SECONDS", "value": str(seconds)},
            {"key": "RUNNERFLEET_SANDBOX_TAGS", "value": ",".join(tags)},
        ]
        body = {"ref": "main", "variables": variables}
        return int(self._get_json("POST", f"/projects/{project_id}/pipeline", json=body)["id"])

    def pipeline_jobs(self, project_id: int, pipeline_id: int) -> list[dict[str, Any]]:
        path = f"/projects/{project_id}/pipelines/{pipeline_id}/jobs"
        return list(self._get_json("GET", path, params={"per_page": 100}))

    def runners(self) -> list[dict[str, Any]]:
        return list(self._get_json("GET", "/runners/all", params={"per_page": 100}))

    def managers(self, runner_id: int) -> list[dict[str, Any]]:
        return list(self._get_json("GET", f"/runners/{runner_id}/managers"))

    def _get_json(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._http.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise SandboxError(f"GitLab stand-in: {method} {path}: HTTP {answer.status_code}")
        return answer.json()


def capacity_changes(activities: list[dict[str, Any]]) -> tuple[int, int]:
    """(scale-outs, scale-ins) the group's activities record: desired capacity raised, and
    lowered or shrunk (each request counted once, however many instances it moved)."""
    outs: set[str] = set()
    ins: set[str] = set()
    for activity in activities:
        cause = str(activity.get("Cause", ""))
        if (match := _DESIRED.search(cause)) is not None:
            (outs if int(match[2]) > int(match[1]) else ins).add(cause)
        elif _SHRINK.search(cause) is not None:
            ins.add(cause)
    return len(outs), len(ins)


def launches(activities: list[dict[str, Any]]) -> int:
    return sum(1 for a in activities if str(a.get("Description", "")).startswith("Launching"))


@dataclass
class GroupWatch:
    """A thread that polls the group every second and says what changed, as it changes."""

    clients: TwinClients
    group: str
    say: Say
    period_s: float = 1.0
    types: dict[str, str] = field(default_factory=dict)  # every instance seen -> its type
    most_in_service: int = 0
    _states: dict[str, str] = field(default_factory=dict)
    _desired: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> GroupWatch:
        self._thread = threading.Thread(target=self._run, name="demo-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.poll()
            except Exception as exc:  # the group may be gone: the watch only reports
                log.debug("group watch: %s", exc)

    def poll(self) -> None:
        desired = self.clients.desired(self.group)
        if desired is not None and desired != self._desired and self._desired is not None:
            self.say(f"    {self.group}: desired capacity {self._desired} -> {desired}")
        self._desired = desired
        now = self.clients.instances(self.group)
        for instance_id, (state, kind) in sorted(now.items()):
            self.types[instance_id] = kind
            if self._states.get(instance_id) != state:
                self.say(f"    {instance_id} ({kind}): {state}")
        for instance_id in sorted(set(self._states) - set(now)):
            self.say(f"    {instance_id}: left the group")
        self._states = {i: s for i, (s, _k) in now.items()}
        in_service = sum(1 for s in self._states.values() if s == "InService")
        self.most_in_service = max(self.most_in_service, in_service)


def wait_until(what: str, check: Callable[[], Any], timeout_s: float, period_s: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; a SandboxError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(period_s)
