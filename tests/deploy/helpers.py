"""Shared pieces of the deploy tests: a small template, a spec, a recording reporter."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.aws.artifacts import Artefact
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.stackstatus import StackEvent
from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.ops.deploy import RenderedStack, Settings
from runnerfleet.ops.target import Capabilities, Target, no_gitlab
from runnerfleet.sandbox import emulator
from runnerfleet.sandbox.emulator import sandbox_spec
from runnerfleet.sandbox.state import SandboxState
from tests.conftest import EXAMPLES

# A fixed, fake artefact: tests of the engine do not need the real 900 KiB zip.
CODE = (b"PK-not-really-a-zip", "0" * 64)


def small_template(param_name: str) -> dict[str, Any]:
    """Resources moto creates for real, wired like the fleet's: parameters and the code key."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "InstanceType": {"Type": "String", "Default": "t3.medium"},
            "CodeKey": {"Type": "String"},
            "GitlabToken": {"Type": "String", "NoEcho": True, "Default": "none"},
        },
        "Resources": {
            "Settings": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": param_name,
                    "Type": "String",
                    "Value": {"Ref": "InstanceType"},
                },
            },
            "Code": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": param_name + "-code",
                    "Type": "String",
                    "Value": {"Ref": "CodeKey"},
                },
            },
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        },
        "Outputs": {
            "LogGroup": {"Value": {"Ref": "Logs"}},
            "InstanceType": {"Value": {"Ref": "InstanceType"}},
        },
    }


def small_synth(extra_resources: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """A Synthesizer: the instance type is a parameter, as in the fleet template."""

    def synth(spec: FleetSpec, artefact: Artefact) -> RenderedStack:
        template = small_template(f"/runnerfleet/{spec.stack}/settings")
        template["Resources"].update(extra_resources or {})
        params = {"InstanceType": spec.instances.types[0], "CodeKey": artefact.key}
        return RenderedStack(template=template, parameters=params)

    return synth


def dev_spec(bucket: str, **updates: Any) -> FleetSpec:
    """examples/dev.yaml with a unique stack name, pointed at the test bucket."""
    spec = load_environment(EXAMPLES / "dev.yaml")
    state = SandboxState(
        endpoint="http://127.0.0.1:1",
        pid=0,
        port=1,
        region="us-east-1",
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=("subnet-0123456789abcdef0",),
        bucket=bucket,
        log_file="",
    )
    spec = sandbox_spec(spec, state)
    name = f"t-{uuid.uuid4().hex[:10]}"
    return spec.model_copy(update={"stack_name": name, **updates})


def with_instance_type(spec: FleetSpec, instance_type: str) -> FleetSpec:
    return spec.model_copy(
        update={"instances": spec.instances.model_copy(update={"types": (instance_type,)})}
    )


@dataclass
class Recorder:
    """A Reporter that keeps everything it is told."""

    steps: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, StackEvent]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    def step(self, env: str, text: str) -> None:
        self.steps.append((env, text))

    def begin(self, env: str, total: int) -> None:
        self.totals[env] = total

    def event(self, env: str, event: StackEvent) -> None:
        self.events.append((env, event))

    def said(self, fragment: str) -> bool:
        return any(fragment in text for _env, text in self.steps)

    @contextmanager
    def live(self) -> Iterator[None]:
        yield


def fast_settings(**kwargs: Any) -> Settings:
    return Settings(sleep=lambda _s: None, poll_s=0.01, timeout_s=5, **kwargs)


def target_of(factory: ClientFactory, **capabilities: Any) -> Target:
    """A target on the factory's AWS without GitLab; emulated ones lack what moto lacks."""
    if factory.target.endpoint_url is not None and not capabilities:
        capabilities = {
            "termination_protection": False,
            "resolves_ssm_parameters": False,
            "instance_refresh": False,
            "poll_s": 0.05,
        }
    return Target(factory, no_gitlab("not in this test"), capabilities=Capabilities(**capabilities))


def sandbox_state(endpoint: str, seeded: emulator.Seeded) -> SandboxState:
    """The state a `sandbox start` would record, pointing at the test's moto server."""
    return SandboxState(
        endpoint=endpoint,
        pid=-1,  # not ours to stop: the session fixture owns the server
        port=int(endpoint.rsplit(":", 1)[1]),
        region="us-east-1",
        vpc_id=seeded.vpc_id,
        subnet_ids=seeded.subnet_ids,
        bucket=seeded.bucket,
        log_file="",
    )
