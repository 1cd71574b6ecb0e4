"""The sandbox demo end to end, shortened: the report's invariants must hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.sandbox.demo import DemoOptions, run_demo
from tests.conftest import EXAMPLES


@pytest.mark.slow
def test_short_demo_keeps_every_promise(capsys: pytest.CaptureFixture[str]) -> None:
    options = DemoOptions(
        envfile=EXAMPLES / "dev.yaml",
        window_s=900,
        speed=120,
        max_job_s=300,
        live=False,
        real_time_limit_s=120,
    )
    report = run_demo(options, cli=main)
    assert report.jobs > 10 and report.jobs_succeeded == report.jobs
    assert report.jobs_killed == 0
    assert report.runners_left_registered == 0 and report.managers_left_registered == 0
    assert report.instances_left == 0 and report.finished_in_time
    assert report.instance_hours > 0 and report.ok
    captured = capsys.readouterr()
    assert "CREATE_COMPLETE" in captured.out + captured.err  # deployed through change sets
    assert "glrt-" not in captured.out + captured.err  # no token in any output


def test_demo_leaves_no_emulator_behind(tmp_path: Path) -> None:
    """A demo that fails early (missing file) still stops everything it started."""
    with pytest.raises(Exception, match="no such environment file"):
        run_demo(DemoOptions(envfile=tmp_path / "missing.yaml"), cli=main)
    assert not (Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json").exists()


def test_demo_cli_rejects_missing_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "demo", "--env", "nowhere.yaml"]) == 7
    assert "no such environment file" in capsys.readouterr().err
