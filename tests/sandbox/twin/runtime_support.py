"""Shared pieces of the twin runtime tests: a front over in-process moto that records the
lifecycle and signal calls instances make, the GitLab stand-in, and a booted instance.

Fixtures are imported by the test modules that use them (``from ... import fixture``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gitlab
import pytest
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from runnerfleet.envfile.loader import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.sandbox.standin import GitLabStandIn, StandInState
from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply, Route
from runnerfleet.sandbox.twin.instances import InstanceRuntime, TwinEndpoint, find_aws_cli
from runnerfleet.sandbox.twin.shims import runner_release
from runnerfleet.stack import launch, userdata
from tests.conftest import EXAMPLES
from tests.sandbox.twin.conftest import REGION, Served

ACCOUNT = "123456789012"
ADMIN_TOKEN = "glpat-runtime-admin-0000"
PROJECT = 1234  # examples/dev.yaml's registrations: a project runner and a group runner
GROUP = 42
AWS_CLI = find_aws_cli()
needs_aws_cli = pytest.mark.skipif(
    AWS_CLI is None, reason="the AWS CLI v2 is not installed (Debian: apt-get install awscli)"
)
needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("curl", "flock", "sha256sum", "bash")),
    reason="the instance scripts need curl, flock, sha256sum and bash",
)


@dataclass
class Recorder:
    """Auto Scaling and CloudFormation calls the front answered itself, by action."""

    calls: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    def autoscaling(self, request: AwsRequest, moto: Passthrough) -> Reply:
        return self._record(request, "http://autoscaling.amazonaws.com/doc/2011-01-01/")

    def cloudformation(self, request: AwsRequest, moto: Passthrough) -> Reply:
        if request.action != "SignalResource":
            return moto()
        return self._record(request, "http://cloudformation.amazonaws.com/doc/2010-05-15/")

    def _record(self, request: AwsRequest, namespace: str) -> Reply:
        self.calls.append((request.action, request.form()))
        body = (
            f'<{request.action}Response xmlns="{namespace}"><{request.action}Result/>'
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
            f"</{request.action}Response>"
        )
        return Reply(200, [("Content-Type", "text/xml")], body.encode())


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def routes(recorder: Recorder) -> dict[str, Route]:
    """The front's routes: a test may add one (the front reads this dict on every request)."""
    return {"autoscaling": recorder.autoscaling, "cloudformation": recorder.cloudformation}


@pytest.fixture
def front(serve_front: Callable[..., Served], routes: dict[str, Route]) -> Served:
    moto = DomainDispatcherApplication(create_backend_app)
    return serve_front(moto, routes)


@pytest.fixture
def standin() -> Iterator[GitLabStandIn]:
    state = StandInState()
    state.add_access_token(ADMIN_TOKEN, scopes=("api", "create_runner"), admin=True)
    state.add_project(PROJECT, "acme/backend")
    state.add_group(GROUP, "acme")
    with GitLabStandIn(state) as server:
        yield server


@pytest.fixture
def gl(standin: GitLabStandIn) -> gitlab.Gitlab:
    client = gitlab.Gitlab(standin.url, private_token=ADMIN_TOKEN)
    client.auth()
    return client


def dev_spec(gitlab_url: str) -> FleetSpec:
    """examples/dev.yaml as the sandbox deploys it: its GitLab and its gitlab-runner."""
    spec = load_environment(EXAMPLES / "dev.yaml")
    url, digest = runner_release()
    runner = spec.runner.model_copy(
        update={"gitlab_url": gitlab_url, "download_url": url, "sha256": digest}
    )
    return spec.model_copy(update={"runner": runner})


def launch_template_data(spec: FleetSpec) -> dict[str, Any]:
    """The template's LaunchTemplateData, with the user data as EC2 stores it (base64)."""
    import base64

    text = userdata.user_data(spec)["Fn::Base64"]
    data = launch.launch_template(spec, {})["Properties"]["LaunchTemplateData"]
    return {
        "InstanceType": "t3.medium",
        "MetadataOptions": data["MetadataOptions"],
        "UserData": base64.b64encode(text.encode()).decode(),
    }


def create_runners(gl: gitlab.Gitlab, front: Served, spec: FleetSpec) -> list[Any]:
    """The spec's registrations created in GitLab, their glrt- tokens in SSM (as deploy does)."""
    runners = []
    for registration in spec.registrations:
        target = (
            {"runner_type": "group_type", "group_id": registration.group_id}
            if registration.group_id
            else {"runner_type": "project_type", "project_id": registration.project_id}
        )
        runner = gl.user.runners.create({**target, "tag_list": list(registration.tags)})
        front.client("ssm").put_parameter(
            Name=spec.token_parameter(registration),
            Value=runner.token,
            Type="SecureString",
            Overwrite=True,
        )
        runners.append(runner)
    return runners


@pytest.fixture
def runtime(tmp_path: Path, front: Served) -> Iterator[InstanceRuntime]:
    endpoint = TwinEndpoint(front.endpoint, REGION, ACCOUNT)
    instances = InstanceRuntime(tmp_path / "home", endpoint, aws_cli=AWS_CLI)
    yield instances
    instances.shutdown()


def wait_for(predicate: Callable[[], Any], timeout_s: float = 60.0, every_s: float = 0.2) -> Any:
    """The predicate's first truthy value, or its last value after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(every_s)
        value = predicate()
    return value


CODE_BUCKET = "twin-function-code"
FUNCTION_ROLE = "twin-test-function"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def deploy_function(
    served: Served, base: str, code: bytes, handler: str = "fn.handler", **extra: Any
) -> str:
    """A function created from ``code`` in S3, as deploy creates one; under a fresh name
    (moto in-process outlives one test), with the bucket and role it needs."""
    name = f"{base}-{uuid.uuid4().hex[:8]}"
    with contextlib.suppress(ClientError):
        served.client("s3").create_bucket(Bucket=CODE_BUCKET)
    with contextlib.suppress(ClientError):
        served.client("iam").create_role(
            RoleName=FUNCTION_ROLE, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
        )
    served.client("s3").put_object(Bucket=CODE_BUCKET, Key=f"{name}.zip", Body=code)
    served.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/{FUNCTION_ROLE}",
        Handler=handler,
        Code={"S3Bucket": CODE_BUCKET, "S3Key": f"{name}.zip"},
        **extra,
    )
    return name
