"""The scenario table drives both the drain step function and the drain script: same steps."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from runnerfleet.drain import DrainDecision, DrainLimits, DrainState, Observation, drain_step
from tests.drain.scenarios import SCENARIOS, Scenario, completed, play
from tests.drain.shell import TOKEN, ScriptRun, drain_script, run_script, scenario_instance
from tests.instance.harness import FakeImds, serve_imds

IDS = [s.name for s in SCENARIOS]


@pytest.fixture
def imds() -> Iterator[FakeImds]:
    missing = [tool for tool in ("curl", "flock") if shutil.which(tool) is None]
    if missing:  # the script runs these for real; every Linux CI image has them
        pytest.skip(f"missing on this machine: {', '.join(missing)}")
    yield from serve_imds()


def script_run(tmp: Path, imds: FakeImds, scenario: Scenario, script: str = "") -> ScriptRun:
    instance = scenario_instance(tmp, imds, scenario)
    run = run_script(instance, scenario, script or drain_script(scenario))
    for slip in ("command not found", "syntax error", "unbound variable", "No such file"):
        assert slip not in run.output, run.output  # strict mode fails on purpose only
    return run


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_step_function_follows_the_table(scenario: Scenario) -> None:
    steps, state = play(scenario)
    assert steps == list(scenario.steps)
    assert completed(state) is scenario.completed


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_drain_script_follows_the_table(scenario: Scenario, tmp_path: Path, imds: FakeImds) -> None:
    run = script_run(tmp_path, imds, scenario)
    assert run.steps == list(scenario.steps), run.output
    assert (run.returncode == 0) is scenario.completed, run.output


def test_the_table_catches_a_step_function_changed_alone() -> None:
    def blind_to_spot(state: DrainState, seen: Observation, limits: DrainLimits) -> DrainDecision:
        return drain_step(state, dataclasses.replace(seen, kill_at=None), limits)

    broken = [s.name for s in SCENARIOS if play(s, blind_to_spot)[0] != list(s.steps)]
    assert "spot notice: unregister before the reclaim" in broken


def test_the_table_catches_a_script_changed_alone(tmp_path: Path, imds: FakeImds) -> None:
    (scenario,) = [s for s in SCENARIOS if s.name == "spot notice: unregister before the reclaim"]
    lead = "SPOT_UNREGISTER_LEAD_SECONDS=30"
    script = drain_script(scenario)
    assert lead in script
    run = script_run(
        tmp_path, imds, scenario, script.replace(lead, "SPOT_UNREGISTER_LEAD_SECONDS=0")
    )
    assert run.steps != list(scenario.steps)


def test_lifecycle_calls_name_the_action_and_the_region(tmp_path: Path, imds: FakeImds) -> None:
    scenario = SCENARIOS[2]  # jobs longer than the heartbeat cadence
    run = script_run(tmp_path, imds, scenario)
    (complete,) = run.instance.find("aws", "autoscaling", "complete-lifecycle-action")
    heartbeat = run.instance.find("aws", "autoscaling", "record-lifecycle-action-heartbeat")[0]
    for call in (complete, heartbeat):
        assert call[call.index("--lifecycle-action-token") + 1] == TOKEN
        assert call[call.index("--auto-scaling-group-name") + 1] == "rf-dev-asg"
        assert call[call.index("--lifecycle-hook-name") + 1] == "rf-dev-term"
        assert call[call.index("--region") + 1] == "eu-west-1"
    assert complete[complete.index("--lifecycle-action-result") + 1] == "CONTINUE"
    assert "--all-runners" in run.instance.find("gitlab-runner", "unregister")[0]
    assert "running jobs: 3" in run.output  # the sum over every running series of the runner


def test_aborted_jobs_past_the_kill_grace_get_sigkill(tmp_path: Path, imds: FakeImds) -> None:
    (scenario,) = [s for s in SCENARIOS if s.name == "aborted jobs outlive the kill grace"]
    run = script_run(tmp_path, imds, scenario)
    calls = run.instance.names()
    kill = run.instance.index("systemctl", "kill", "--kill-who=main", "--signal=SIGKILL")
    assert kill < run.instance.index("gitlab-runner", "unregister"), calls
