"""`runnerfleet sandbox start | status --json | stop` run the twin process, stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3

from runnerfleet.sandbox.twin import process


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runnerfleet.cli.main", "sandbox", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=os.environ.copy(),  # RUNNERFLEET_HOME points at this test's tmp dir
        check=False,
    )


def test_status_json_points_any_client_at_the_twin() -> None:
    recorded: dict[str, object] = {}
    try:
        started = _cli("start")
        assert started.returncode == 0, started.stderr
        status = _cli("status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        recorded = json.loads((Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json").read_text())
        assert doc["aws_endpoint"] == recorded["endpoint"]
        assert str(doc["aws_endpoint"]).startswith("http://127.0.0.1:")
        assert (doc["region"], doc["account_id"]) == ("us-east-1", "123456789012")
        assert str(doc["gitlab_url"]).startswith("http://127.0.0.1:") and doc["gitlab_token"]
        assert process.is_twin(int(doc["pid"]))  # the twin process, not a bare moto server
        ec2 = boto3.client(
            "ec2",
            region_name=str(doc["region"]),
            endpoint_url=str(doc["aws_endpoint"]),
            aws_access_key_id=str(doc["aws_access_key_id"]),
            aws_secret_access_key=str(doc["aws_secret_access_key"]),
        )
        assert doc["vpc_id"] in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
        assert _cli("stop").returncode == 0
        assert not process.alive(int(doc["pid"]))
        gone = _cli("status", "--json")
        assert gone.returncode == 7 and json.loads(gone.stdout) == {"running": False}
    finally:
        for key in ("pid", "gitlab_pid"):
            pid = int(str(recorded.get(key, 0)))
            if pid > 1 and process.alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_twin_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    args = ["--host", "0.0.0.0", "--home", str(tmp_path), "--ready-file", str(tmp_path / "ready")]
    result = subprocess.run(
        [sys.executable, "-m", "runnerfleet.sandbox.twin", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "loopback" in result.stderr
    assert not (tmp_path / "ready").exists()
