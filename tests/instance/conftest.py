"""Fixtures for the on-instance script tests (see harness.py)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.stack.bootstrap import BootstrapSettings, DockerSettings, Registration
from tests.instance.harness import (
    TOKEN_A,
    TOKEN_B,
    FakeImds,
    Instance,
    machine_arch,
    make_instance,
    runner_download,
    serve_imds,
)


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    missing = [tool for tool in ("curl", "flock", "sha256sum") if shutil.which(tool) is None]
    if missing:  # the scripts run these for real; every Linux CI image has them
        pytest.skip(f"missing on this machine: {', '.join(missing)}")
    yield from serve_imds()


@pytest.fixture
def instance(tmp_path: Path, imds: FakeImds) -> Instance:
    inst = make_instance(tmp_path, imds)
    inst.put_ssm("/runnerfleet/rf-dev/runners/ci-a", TOKEN_A)
    inst.put_ssm("/runnerfleet/rf-dev/runners/ci-b", TOKEN_B)
    return inst


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., BootstrapSettings]:
    url, digest = runner_download(tmp_path)

    def build(**changes: Any) -> BootstrapSettings:
        base = BootstrapSettings(
            stack_name="rf-dev",
            gitlab_url="https://gitlab.example.com",
            runner_version="17.11.1",
            runner_sha256=digest,
            runner_arch=machine_arch(),
            download_url=url,
            docker=DockerSettings(
                image="registry.gitlab.com/acme/job:2026.11",
                volumes=("/cache", "/var/run/docker.sock:/var/run/docker.sock"),
            ),
            registrations=(
                Registration(name="ci-a", token_parameter="/runnerfleet/rf-dev/runners/ci-a"),
                Registration(
                    name="ci-b",
                    token_parameter="/runnerfleet/rf-dev/runners/ci-b",
                    limit=2,
                    tags=("docker", "linux"),
                ),
            ),
            asg_name="rf-dev-asg",
            bootstrap_log_group="/runnerfleet/rf-dev/bootstrap",
            runner_log_group="/runnerfleet/rf-dev/runner",
            launch_hook_name="rf-dev-launch",
            signal_cloudformation=True,
            spot_watch=True,
            warm_pool=True,
            metric_namespace="Runnerfleet",
        )
        return dataclasses.replace(base, **changes)

    return build
