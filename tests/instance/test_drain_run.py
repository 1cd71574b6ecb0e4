"""The drain document's shell, as SSM would run it, and the spot watch, on a pretend instance.

The drain's steps over time (heartbeats, budget, spot, failed calls) are the scenario table's
(tests/drain); these are the edges: idempotence, leftovers, a completion that keeps failing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from runnerfleet.stack.bootstrap import BootstrapSettings, render_spot_watch, render_user_data
from runnerfleet.stack.drain_document import (
    DrainSettings,
    render_drain_document,
    substitute_parameters,
)
from tests.instance.harness import INSTANCE_ID, Instance

ACTION_TOKEN = "87654321-4321-4321-4321-210987654321"
Settings = Callable[..., BootstrapSettings]


def _drain(instance: Instance, heartbeat: str = "1", max_drain: str = "30", **env: str) -> str:
    document = render_drain_document(
        DrainSettings(asg_name="rf-dev-asg", terminate_hook_name="rf-dev-term")
    )
    values = {
        "LifecycleActionToken": ACTION_TOKEN,
        "HeartbeatSeconds": heartbeat,
        "MaxDrainSeconds": max_drain,
        "HeartbeatTimeoutSeconds": "30",
    }
    script = substitute_parameters(document, values)
    defaults = {"RUNNERFLEET_DRAIN_POLL_SECONDS": "1", "RUNNERFLEET_RETRY_SECONDS": "0"}
    # SSM may start runCommand with /bin/sh: run it that way
    result = instance.run(script, interpreter="sh", **{**defaults, **env})
    out = f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    for slip in ("command not found", "syntax error", "unbound variable", "No such file"):
        assert slip not in out, out  # strict mode must fail on purpose, never by accident
    return out


@pytest.fixture
def booted(instance: Instance, settings_for: Settings) -> Instance:
    result = instance.run(render_user_data(settings_for()))
    assert result.returncode == 0, result.stderr
    instance.log.unlink()
    return instance


def test_drain_of_one_action_runs_once(booted: Instance) -> None:
    assert _drain(booted).startswith("exit 0")
    out = _drain(booted)
    assert out.startswith("exit 0") and "already drained" in out
    assert booted.count("aws", "autoscaling", "complete-lifecycle-action") == 1
    assert booted.count("systemctl", "stop", "--no-block", "gitlab-runner") == 1


def test_leftover_managers_are_reported_for_prune(booted: Instance) -> None:
    out = _drain(booted, STUB_UNREGISTER_KEEP="1")
    assert out.startswith("exit 0") and "runnerfleet runners prune" in out


def test_failed_completion_fails_the_command_loudly(booted: Instance) -> None:
    out = _drain(booted, STUB_COMPLETE_EXIT="1")
    assert out.startswith("exit 1"), out
    assert booted.count("aws", "autoscaling", "complete-lifecycle-action") == 3
    assert re.search(r"ERROR: drain failed at step complete .*complete-lifecycle-action", out)


def test_document_shape_and_parameter_patterns() -> None:
    doc = render_drain_document(
        DrainSettings(asg_name="rf-dev-asg", terminate_hook_name="rf-dev-term")
    )
    assert doc["schemaVersion"] == "2.2"
    (step,) = doc["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert int(step["inputs"]["timeoutSeconds"]) > 10800
    for name, spec in doc["parameters"].items():
        assert spec["type"] == "String"
        assert re.fullmatch(spec["allowedPattern"], spec["default"]), name
        assert not re.fullmatch(spec["allowedPattern"], "x'; reboot; '"), name
    assert re.fullmatch(doc["parameters"]["LifecycleActionToken"]["allowedPattern"], ACTION_TOKEN)
    assert render_drain_document(DrainSettings("a", "b")) == render_drain_document(
        DrainSettings("a", "b")
    )


def test_spot_warning_stops_taking_jobs_at_once(instance: Instance, settings_for: Settings) -> None:
    instance.imds.values["spot/instance-action"] = (
        '{"action":"terminate","time":"2026-11-23T20:00:00Z"}'
    )
    result = instance.run(render_spot_watch(settings_for()), RUNNERFLEET_SPOT_POLL_SECONDS="0")
    assert result.returncode == 0, result.stderr
    assert instance.names()[0] == "systemctl stop"
    assert instance.calls()[0] == ["systemctl", "stop", "--no-block", "gitlab-runner"]
    (metric,) = instance.find("aws", "cloudwatch", "put-metric-data")
    assert metric[metric.index("--metric-name") + 1] == "SpotInterruptionWarning"
    assert '"event":"SpotInterruptionWarning"' in result.stderr and INSTANCE_ID in result.stderr
    assert (instance.root / "var/lib/runnerfleet/interruption-notice").exists()


def test_rebalance_recommendation_acts_once(instance: Instance, settings_for: Settings) -> None:
    instance.imds.values["events/recommendations/rebalance"] = (
        '{"noticeTime":"2026-11-23T20:00:00Z"}'
    )
    env = {"RUNNERFLEET_SPOT_POLL_SECONDS": "0", "RUNNERFLEET_SPOT_MAX_POLLS": "3"}
    result = instance.run(render_spot_watch(settings_for()), **env)
    assert result.returncode == 0, result.stderr
    assert instance.count("systemctl", "stop", "--no-block", "gitlab-runner") == 1
    assert instance.count("aws", "cloudwatch", "put-metric-data") == 1


def test_quiet_spot_watch_does_nothing(instance: Instance, settings_for: Settings) -> None:
    env = {"RUNNERFLEET_SPOT_POLL_SECONDS": "0", "RUNNERFLEET_SPOT_MAX_POLLS": "2"}
    result = instance.run(render_spot_watch(settings_for()), **env)
    assert result.returncode == 0, result.stderr
    assert instance.calls() == []
    paths = [p for _, p, _ in instance.imds.requests]
    assert paths.count("/latest/meta-data/spot/instance-action") == 2
