"""A deployed fleet for the view commands (``fleet``, ``why``): a stack on the moto server
with its group and the autoscaler's log group, runners on loopback, the GitLab stand-in with
one project registration. The stand-in's clock can be moved to date a job in the past."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.envfile import FleetSpec, load_environment
from runnerfleet.ops.runners import create_runners
from runnerfleet.ops.target import GitLabAccess, Target
from runnerfleet.sandbox.standin import GitLabStandIn, StandInState
from runnerfleet.stack.system_id import system_id_for_instance
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server
from tests.conftest import REPO
from tests.gitlab.conftest import BASE, PAT

SCHEMAS = REPO / "docs" / "schemas"
REGION = "us-east-1"
REGISTRATION = "  - {name: backend, type: project, project_id: 42, tags: [docker]}\n"


def validator(name: str) -> Draft202012Validator:
    """The documented schema ``name``, with the schemas it refers to."""
    schemas = [json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.schema.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas
    )
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, registry=registry)


def template(stack: str) -> dict[str, Any]:
    return {
        "Resources": {
            "LT": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
                },
            },
            "AutoScalingGroup": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "0",
                    "MaxSize": "4",
                    "DesiredCapacity": "2",
                    "AvailabilityZones": [f"{REGION}a"],
                    "LaunchTemplate": {
                        "LaunchTemplateId": {"Ref": "LT"},
                        "Version": {"Fn::GetAtt": ["LT", "LatestVersionNumber"]},
                    },
                },
            },
            "AutoscalerLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": f"/aws/lambda/{stack}-autoscaler"},
            },
        }
    }


@dataclass
class Deployed:
    spec: FleetSpec
    envfile: Path
    aws: ClientFactory
    instances: list[str]
    standin: GitLabStandIn
    hosts: dict[str, str]
    clock_offset: list[float] = field(default_factory=lambda: [0.0])  # the stand-in's, in s

    def at(self, offset: float) -> None:
        """Move the stand-in's clock ``offset`` seconds from now (negative: the past)."""
        self.clock_offset[0] = offset

    def target(self, gitlab: GitLabAccess | None = None) -> Target:
        access = gitlab or GitLabAccess(url=self.standin.url, token=lambda _ssm: PAT)
        return Target(self.aws, access, metrics_address=lambda iid, _ip: self.hosts.get(iid))


def deploy_stack(aws: ClientFactory, stack: str) -> list[str]:
    body = json.dumps(template(stack))
    aws.client("cloudformation").create_stack(StackName=stack, TemplateBody=body)
    groups = aws.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    group = next(g for g in groups if g["AutoScalingGroupName"].startswith(stack))
    return sorted(i["InstanceId"] for i in group["Instances"])


def log_decisions(aws: ClientFactory, stack: str, now: float) -> None:
    """Two evaluations as the function's runtime logs them, between other lines."""
    logs, group, stream = aws.client("logs"), f"/aws/lambda/{stack}-autoscaler", "2026/12/02/x"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    summary = {"group": stack, "policy": "queue", "codes": [], "errors": [], "terminate": []}
    first = {**summary, "action": "scale_out", "desired_before": 1, "desired": 2}
    first |= {"reasons": ["3 pending job(s) need 1 more instance"], "pending_jobs": 3}
    second = {**summary, "action": "hold", "desired_before": 2, "desired": 2, "reasons": []}
    events = [
        (now - 130, "START RequestId: 1 Version: $LATEST"),
        (now - 120, f"[INFO]\t2026-12-02T12:00:00Z\t1\t{json.dumps(first)}"),
        (now - 60, f"[INFO]\t2026-12-02T12:01:00Z\t2\t{json.dumps(second)}"),
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(at * 1000), "message": text} for at, text in events],
    )


@pytest.fixture
def deployed(tmp_path: Path, moto_endpoint: str) -> Iterator[Deployed]:
    aws = ClientFactory(AwsTarget(region=REGION, endpoint_url=moto_endpoint, max_attempts=1))
    name = f"fv{uuid.uuid4().hex[:8]}"
    offset = [0.0]
    state = StandInState(clock=lambda: time.time() + offset[0])
    with GitLabStandIn(state) as standin, runner_server() as server:
        standin.state.add_access_token(PAT, scopes=("create_runner", "manage_runner", "read_api"))
        standin.state.add_project(42, "acme/backend")
        envfile = tmp_path / "env.yaml"
        text = BASE.replace("name: test", f"name: {name}").replace("URL", standin.url)
        envfile.write_text(text + "registrations:\n" + REGISTRATION)
        spec = load_environment(envfile)
        instances = deploy_stack(aws, spec.stack)
        hosts = {
            instances[0]: server.add("127.0.0.1", 0, Endpoint(render_metrics(3))),
            instances[1]: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))),
        }
        yield Deployed(spec, envfile, aws, instances, standin, hosts, offset)


def register_manager(deployed: Deployed) -> str:
    """The registration's runner, with the first instance's manager; returns its token."""
    create_runners(deployed.spec, deployed.target(), show_plan=lambda _plan: None)
    token = next(iter(deployed.standin.state.runners.values())).token
    body = {"token": token, "system_id": system_id_for_instance(deployed.instances[0])}
    requests.post(f"{deployed.standin.url}/api/v4/runners/verify", json=body, timeout=5)
    return token
