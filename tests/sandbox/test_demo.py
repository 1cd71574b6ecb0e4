"""The sandbox demo on the twin: the seed's tasks on the deployed environment, then the report.

The slow test runs the whole demo as `runnerfleet sandbox demo` does and checks the report's
figures (read from the deployed group and the stand-in) and that nothing it started survives.
The others fail it on purpose: it must still stop everything it started.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from runnerfleet.errors import SandboxError
from runnerfleet.sandbox.demo import DemoOptions, run_demo
from runnerfleet.sandbox.twin import process
from tests.conftest import EXAMPLES


def _started(lines: list[str]) -> tuple[list[int], str]:
    """The PIDs the demo said it started and its home directory."""
    text = "\n".join(lines)
    twin = re.search(r"twin pid (\d+) at .*stand-in pid (\d+)", text)
    home = re.search(r"its home (\S+)", text)
    assert twin is not None and home is not None, text
    return [int(twin[1]), int(twin[2])], home[1]


def _survivors(home: str) -> list[int]:
    """Processes whose command line names the demo's home (instances, Lambda workers...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if home.encode() in cmdline:
                found.append(int(entry.name))
    return found


def _nothing_left(lines: list[str]) -> None:
    pids, home = _started(lines)
    assert not [pid for pid in pids if process.alive(pid)]
    assert _survivors(home) == [] and not Path(home).exists()
    assert not (Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json").exists()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_demo_walks_the_seed_on_the_deployed_group_and_keeps_every_promise() -> None:
    lines: list[str] = []
    report = run_demo(DemoOptions(envfile=EXAMPLES / "dev.yaml"), lines.append)
    g, gl, walk = report.group, report.gitlab, report.walk
    assert report.ok, report.rows()
    assert g.group == "runnerfleet-dev-asg" and gl.gitlab_url.startswith("http://127.0.0.1:")
    rows = dict(report.rows())
    assert rows["stack / Auto Scaling group"] == "runnerfleet-dev / runnerfleet-dev-asg"
    assert gl.jobs == gl.jobs_succeeded >= 13 and gl.jobs_killed == 0
    assert g.scale_outs >= 1 and g.scale_ins >= 1  # the deployed autoscaler, both ways
    assert g.types_seen[0] == "t3.medium" and g.types_seen[-1] == "t3.large"  # the update
    assert g.relaunched >= 1 and g.most_in_service == 2 and g.launches >= 6
    assert walk.job_status == "success" and walk.via == "the AWS CLI v2"
    assert gl.runners_during == 3  # examples/dev.yaml's two registrations and the added one
    assert (gl.runners_left, gl.managers_left, gl.tokens_left, gl.instances_left) == (0, 0, 0, 0)
    text = "\n".join(lines)
    assert "CREATE_COMPLETE" in text and "DELETE_COMPLETE" in text  # the real deploy engine
    assert "--no-should-decrement-desired-capacity" in text and "Terminating:Wait" in text
    assert "glrt-" not in text and "glpat-" not in text  # no token in any output
    _nothing_left(lines)


def test_a_demo_that_fails_midway_stops_everything_it_started() -> None:
    lines: list[str] = []
    with pytest.raises(SandboxError, match=r"past its time limit|timed out after"):
        run_demo(DemoOptions(envfile=EXAMPLES / "dev.yaml", time_limit_s=4), lines.append)
    _nothing_left(lines)


def test_a_demo_with_no_project_to_run_jobs_in_starts_nothing(tmp_path: Path) -> None:
    envfile = tmp_path / "groups-only.yaml"
    envfile.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\nregistrations:\n"
        "  - name: backend\n    type: group\n    group_id: 77\n    tags: [docker]\n",
        encoding="utf-8",
    )
    lines: list[str] = []
    with pytest.raises(SandboxError, match="registers no project runner"):
        run_demo(DemoOptions(envfile=envfile), lines.append)
    assert lines == []


def test_demo_cli_rejects_missing_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "demo", "--env", "nowhere.yaml"]) == 7
    assert "no such environment file" in capsys.readouterr().err
    assert not (Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json").exists()
