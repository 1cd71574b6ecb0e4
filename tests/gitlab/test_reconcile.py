"""The deploy-facing entry points: plan, create before the stack update, delete after."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from runnerfleet.aws.clients import AwsTarget, ClientFactory
from runnerfleet.cli.compose import gitlab_access, sandbox_target
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.gitlab.client import connect
from runnerfleet.ops.registrations import (
    after_instances_refreshed,
    before_stack_update,
    prepare_registrations,
    registrations_digest,
)
from runnerfleet.ops.target import Target
from runnerfleet.sandbox.standin import SANDBOX_ACCESS_TOKEN, GitLabStandIn, seed_for_spec
from runnerfleet.sandbox.state import SandboxState
from tests.gitlab.conftest import PAT, THREE, make_spec


@pytest.fixture
def factory() -> Iterator[ClientFactory]:
    with mock_aws():
        yield ClientFactory(AwsTarget(region="us-east-1"))


def _real(spec: FleetSpec, factory: ClientFactory, env: dict[str, str]) -> Target:
    return Target(factory, gitlab_access(spec, environ=env))


def test_deploy_sequence(tmp_path: Path, standin: GitLabStandIn, factory: ClientFactory) -> None:
    env = {"GITLAB_TOKEN": PAT}
    spec = make_spec(tmp_path, standin.url, THREE)
    first = prepare_registrations(spec, _real(spec, factory, env), environ=env)
    assert standin.state.runners == {}  # planning changes nothing
    before_stack_update(first)
    digest = registrations_digest(first.registrar.store.list())
    assert len(standin.state.runners) == 3
    moved = make_spec(tmp_path, standin.url, THREE.replace("project_id: 43", "project_id: 99"))
    second = prepare_registrations(moved, _real(moved, factory, env), environ=env)
    assert second.plan.instances_affected
    before_stack_update(second)
    assert len(standin.state.runners) == 4  # the old frontend runner still serves
    new_digest = registrations_digest(second.registrar.store.list())
    assert new_digest != digest and SANDBOX_ACCESS_TOKEN not in new_digest
    after_instances_refreshed(second)
    assert len(standin.state.runners) == 3
    assert not prepare_registrations(moved, _real(moved, factory, env), environ=env).plan.changes


def test_sandbox_uses_the_standin_token(tmp_path: Path, factory: ClientFactory) -> None:
    with GitLabStandIn() as sandbox_gitlab:
        spec = make_spec(tmp_path, sandbox_gitlab.url, THREE)
        seed_for_spec(sandbox_gitlab.state, spec)
        state = SandboxState(
            "http://127.0.0.1:1", 0, 1, "us-east-1", "vpc-1", (), "b", "", gitlab_url=None
        )
        target = dataclasses.replace(
            sandbox_target(state, gitlab_url=sandbox_gitlab.url), clients=factory
        )
        sync = prepare_registrations(
            spec, target, environ={"GITLAB_TOKEN": "glpat-a-real-token-never-sent"}
        )
        before_stack_update(sync)
        assert len(sandbox_gitlab.state.runners) == 3
        assert connect(sandbox_gitlab.url, SANDBOX_ACCESS_TOKEN).version()[0] == "17.11.0-standin"
