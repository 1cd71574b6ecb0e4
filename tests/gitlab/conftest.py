"""Fixtures: a seeded GitLab stand-in on loopback, python-gitlab against it, SSM under moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import gitlab
import pytest
from moto import mock_aws

from runnerfleet.envfile import FleetSpec, load_environment
from runnerfleet.gitlab.apply import Registrar
from runnerfleet.gitlab.client import connect
from runnerfleet.gitlab.tokens import TokenStore
from runnerfleet.sandbox.standin import GitLabStandIn

ADMIN_PAT = "glpat-admin-0000000000"
PAT = "glpat-maint-1111111111"
READ_ONLY_PAT = "glpat-read-22222222222"
STACK = "runnerfleet-test"

BASE = """\
name: test
aws: {account_id: "123456789012", region: us-east-1}
network: {vpc_id: vpc-0a1b2c3d4e5f60718, subnet_ids: [subnet-0a1b2c3d4e5f60711]}
runner:
  gitlab_url: URL
  docker: {image: alpine:3.20}
  gitlab_token: {env: GITLAB_TOKEN}
artifacts: {bucket: runnerfleet-artifacts-test}
kms_key_id: alias/runnerfleet-test
"""


@pytest.fixture
def standin() -> Iterator[GitLabStandIn]:
    with GitLabStandIn() as server:
        state = server.state
        state.add_access_token(ADMIN_PAT, scopes=("api",), admin=True)
        state.add_access_token(PAT, scopes=("create_runner", "manage_runner", "read_api"))
        state.add_access_token(READ_ONLY_PAT, scopes=("read_api",))
        state.add_group(7, "acme")
        state.add_project(42, "acme/backend", group_id=7)
        state.add_project(43, "acme/frontend", group_id=7)
        state.add_project(99, "solo/tool")
        yield server


@pytest.fixture
def gl(standin: GitLabStandIn) -> gitlab.Gitlab:
    return connect(standin.url, PAT)


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def store(ssm: Any) -> TokenStore:
    return TokenStore(ssm, f"/runnerfleet/{STACK}", "alias/runnerfleet-test")


@pytest.fixture
def registrar(gl: gitlab.Gitlab, standin: GitLabStandIn, store: TokenStore) -> Registrar:
    return Registrar(
        gl=gl, url=standin.url, store=store, stack=STACK, environment="test", environ={}
    )


def write_env(tmp_path: Path, url: str, registrations: str, name: str = "env.yaml") -> Path:
    path = tmp_path / name
    path.write_text(BASE.replace("URL", url) + "registrations:\n" + registrations)
    return path


def make_spec(tmp_path: Path, url: str, registrations: str) -> FleetSpec:
    return load_environment(write_env(tmp_path, url, registrations))


THREE = """\
  - {name: backend, type: project, project_id: 42, tags: [docker, backend]}
  - {name: frontend, type: project, project_id: 43, tags: [docker], run_untagged: true}
  - {name: platform, type: group, group_id: 7, tags: [aws], maximum_timeout: 3600}
"""
