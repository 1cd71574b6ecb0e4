"""``runnerfleet autoscale``: the command against moto with fake runners on loopback."""

from __future__ import annotations

import pytest

from runnerfleet.aws.clients import ClientFactory
from runnerfleet.cli import compose
from runnerfleet.cli.main import main
from runnerfleet.envfile import load_environment
from runnerfleet.ops.target import Target, no_gitlab
from runnerfleet.scaling import QueuePolicy, Schedule
from runnerfleet.scaling.settings import policy_from_scaling
from runnerfleet.stack.wiring import scaling_settings
from tests.autoscaler.conftest import make_group
from tests.autoscaler.runner_server import Endpoint, render_metrics, runner_server
from tests.conftest import EXAMPLES


def test_scaling_config_matches_the_environment_file() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    raw = scaling_settings(spec)
    assert 1234 in raw["projects"] and {"backend", "docker"} <= set(raw["tags"])
    policy = policy_from_scaling(raw)
    assert isinstance(policy, Schedule) and isinstance(policy.base, QueuePolicy)
    assert dict(policy.periods[0].overrides) == {"min_instances": 1, "idle_count": 4}


def test_autoscale_command_dry_run_then_apply(
    aws: ClientFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    spec = load_environment(EXAMPLES / "dev.yaml")
    group = make_group(aws, desired=2, max_size=6, name=f"{spec.stack}-asg").ids
    with runner_server() as server:
        hosts = {
            group[0]: server.add("127.0.0.1", 0, Endpoint(render_metrics(3))),
            group[1]: server.add("127.0.0.1", 0, Endpoint(render_metrics(0))),
        }
        target = Target(aws, no_gitlab("unused"), metrics_address=lambda iid, _ip: hosts.get(iid))
        monkeypatch.setattr(compose, "environment", lambda spec, *_a: (spec, target))
        assert main(["autoscale", str(EXAMPLES / "dev.yaml"), "--dry-run"]) == 0
        dry = capsys.readouterr()
        assert main(["autoscale", str(EXAMPLES / "dev.yaml")]) == 0
        applied = capsys.readouterr()
    assert group[0] in dry.out and "3/4" in dry.out and "desired 2 ->" in dry.out
    assert "dry run: nothing changed" in dry.err
    assert "queue unknown" in dry.err  # no GitLab token in the test environment
    assert "SetInstanceProtection(True)" in applied.err  # the busy runner gets protection
