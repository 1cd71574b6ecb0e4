"""`runnerfleet sandbox start|status|stop` as real processes; always stops what it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from runnerfleet.sandbox.state import answers
from runnerfleet.sandbox.twin.process import alive


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runnerfleet.cli.main", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),  # RUNNERFLEET_HOME points at this test's tmp dir
        check=False,
    )


def test_start_status_stop():
    state_file = Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json"
    pid = gitlab_pid = 0
    try:
        started = _cli("start")
        assert started.returncode == 0, started.stderr
        assert "EMULATED" in started.stderr
        recorded = json.loads(state_file.read_text())
        pid, gitlab_pid = recorded["pid"], recorded["gitlab_pid"]
        assert recorded["gitlab_url"].startswith("http://127.0.0.1:")
        assert recorded["endpoint"].startswith("http://127.0.0.1:")
        assert recorded["vpc_id"].startswith("vpc-") and len(recorded["subnet_ids"]) == 2
        assert recorded["bucket"] == "runnerfleet-sandbox-artifacts"
        assert answers(recorded["endpoint"])
        status = _cli("status")
        assert status.returncode == 0 and "running" in status.stdout
        stopped = _cli("stop")
        assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
        assert not state_file.exists()
        assert not alive(pid) and not alive(gitlab_pid)
    finally:
        for started_pid in (pid, gitlab_pid):
            if started_pid > 1 and alive(started_pid):
                os.kill(started_pid, signal.SIGKILL)
