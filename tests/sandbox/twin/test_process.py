"""`runnerfleet sandbox start | status --json | stop` run the twin process, stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from runnerfleet.cli.main import main
from runnerfleet.sandbox.emulator import TOKEN_PARAMETER
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
        started = _cli("start", "--schedule-factor", "6")
        assert started.returncode == 0, started.stderr
        assert "schedules: 6 times faster" in started.stdout
        status = _cli("status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        recorded = json.loads((Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json").read_text())
        assert doc["aws_endpoint"] == recorded["endpoint"]
        assert str(doc["aws_endpoint"]).startswith("http://127.0.0.1:")
        assert (doc["region"], doc["account_id"]) == ("us-east-1", "123456789012")
        assert str(doc["gitlab_url"]).startswith("http://127.0.0.1:") and doc["gitlab_token"]
        assert process.is_twin(int(doc["pid"]))  # the twin process, not a bare moto server
        assert doc["schedule_factor"] == 6
        cmdline = Path(f"/proc/{doc['pid']}/cmdline").read_bytes().split(b"\0")
        assert cmdline[cmdline.index(b"--schedule-factor") + 1] == b"6"
        ec2 = _client(doc, "ec2")
        assert doc["vpc_id"] in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
        # the deployed functions read the stand-in with its token, seeded as a SecureString
        ssm = _client(doc, "ssm")
        seeded = ssm.get_parameter(Name=TOKEN_PARAMETER, WithDecryption=True)["Parameter"]
        assert (seeded["Type"], seeded["Value"]) == ("SecureString", doc["gitlab_token"])
        assert _cli("stop").returncode == 0
        assert not process.alive(int(doc["pid"]))
        gone = _cli("status", "--json")
        assert gone.returncode == 7 and json.loads(gone.stdout) == {"running": False}
    finally:
        for key in ("pid", "gitlab_pid"):
            pid = int(str(recorded.get(key, 0)))
            if pid > 1 and process.alive(pid):
                os.kill(pid, signal.SIGKILL)


def _client(doc: dict[str, object], service: str) -> Any:
    """A boto3 client configured from `sandbox status --json` alone."""
    return boto3.client(
        service,
        region_name=str(doc["region"]),
        endpoint_url=str(doc["aws_endpoint"]),
        aws_access_key_id=str(doc["aws_access_key_id"]),
        aws_secret_access_key=str(doc["aws_secret_access_key"]),
    )


def _twin_refuses(tmp_path: Path, *args: str) -> str:
    """Run the twin with bad arguments: it must exit 2 before it is ready; its stderr."""
    home = ["--home", str(tmp_path), "--ready-file", str(tmp_path / "ready")]
    result = subprocess.run(
        [sys.executable, "-m", "runnerfleet.sandbox.twin", *home, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and not (tmp_path / "ready").exists()
    return result.stderr


def test_the_twin_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    assert "loopback" in _twin_refuses(tmp_path, "--host", "0.0.0.0")


@pytest.mark.parametrize("factor", ["0", "-2", "61", "nan"])
def test_start_refuses_a_schedule_factor_out_of_range(
    factor: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "start", "--schedule-factor", factor]) == 7
    message = capsys.readouterr().err
    assert "schedule factor" in message and "at most 60" in message
    assert "--schedule-factor 6" in message  # the fix
    assert not (Path(os.environ["RUNNERFLEET_HOME"]) / "sandbox.json").exists()


def test_the_twin_refuses_a_schedule_factor_out_of_range(tmp_path: Path) -> None:
    stderr = _twin_refuses(tmp_path, "--schedule-factor", "0")
    assert "--schedule-factor must be above 0" in stderr
