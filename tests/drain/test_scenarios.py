"""The scenario table drives both the drain step function and the drain script: same steps."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from runnerfleet.drain import DrainDecision, DrainLimits, DrainState, Observation, drain_step
from tests.drain.scenarios import SCENARIOS, Scenario, completed, play
from tests.drain.shell import ScriptRun, drain_script, scenario_instance, run_script
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
def test_drain_script_follows_the_table(
    scenario: Scenario, tmp_path: Path, imds: FakeImds
) -> None:
    run = script_run(tmp_path, imds, scenario)
    assert run.steps == list(scenario.steps), run.output
    assert (run.returncode == 0) is scenario.completed, run.output


def test_a_changed_step_function_fails_the_table() -> None:
    def every_half_timeout(state: DrainState, seen: Observation, limits: DrainLimits) -> DrainDecision:
        return drain_step(state, seen, limits, **{})

    changed = [
        s
        for s in SCENARIOS
        if play(dataclasses.replace(s, heartbeat_timeout=s.heartbeat_timeout), every_half_timeout)[0]
        != list(s.steps)
    ]
    assert changed == []
