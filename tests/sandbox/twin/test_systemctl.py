"""The systemctl shim: services as recorded processes, stopped with the unit's KillSignal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox.twin.runtime_support import wait_for

SERVICE = """#!/bin/bash
# records the signal it got, then exits (after a drain of 1 s on SIGQUIT)
trap 'echo quit >>"$OUT"; sleep 1; exit 0' QUIT
trap 'echo term >>"$OUT"; exit 143' TERM
echo started >>"$OUT"
while true; do sleep 0.1; done
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    script = tmp_path / "service.sh"
    script.write_text(SERVICE)
    script.chmod(0o755)
    return tmp_path


def unit(root: Path, *lines: str) -> None:
    body = "\n".join(
        ["[Service]", f"ExecStart={root / 'service.sh'}", f"Environment=OUT={root / 'out'}", *lines]
    )
    (root / "etc/systemd/system/demo.service").write_text(body + "\n")


def systemctl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RUNNERFLEET_ROOT": str(root),
        "RUNNERFLEET_TWIN_PID": str(os.getpid()),
    }
    return subprocess.run(
        [sys.executable, "-m", "runnerfleet.sandbox.twin.shims.systemctl", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def events(root: Path) -> list[str]:
    out = root / "out"
    return out.read_text().split() if out.exists() else []


def main_pid(root: Path) -> int:
    return int((root / "run/twin-systemd/demo.service.pid").read_text().split()[1])


def test_stop_sends_the_drop_in_kill_signal_and_waits(root: Path) -> None:
    unit(root)
    dropin = root / "etc/systemd/system/demo.service.d"
    dropin.mkdir()
    (dropin / "kill.conf").write_text("[Service]\nKillSignal=SIGQUIT\nTimeoutStopSec=infinity\n")
    assert systemctl(root, "start", "demo").returncode == 0
    assert wait_for(lambda: events(root) == ["started"], 10)
    assert systemctl(root, "is-active", "demo").stdout.strip() == "active"
    began = time.monotonic()
    assert systemctl(root, "stop", "demo").returncode == 0
    assert time.monotonic() - began >= 1.0  # it waited for the 1 s drain
    assert events(root) == ["started", "quit"]
    assert systemctl(root, "is-active", "demo").returncode == 3


def test_without_the_drop_in_stop_is_sigterm(root: Path) -> None:
    unit(root)
    systemctl(root, "start", "demo")
    assert wait_for(lambda: events(root) == ["started"], 10)
    systemctl(root, "stop", "demo")
    assert events(root) == ["started", "term"]


def test_restart_always_brings_back_a_killed_service(root: Path) -> None:
    unit(root, "Restart=always", "RestartSec=0.2")
    systemctl(root, "start", "demo")
    assert wait_for(lambda: events(root) == ["started"], 10)
    first = main_pid(root)
    os.kill(first, 9)  # not through systemctl: systemd restarts it
    assert wait_for(lambda: events(root).count("started") == 2, 10)
    assert main_pid(root) != first
    systemctl(root, "stop", "demo")
    assert systemctl(root, "is-active", "demo").returncode == 3


def test_kill_main_and_enable_link(root: Path) -> None:
    unit(root)
    assert systemctl(root, "enable", "--now", "demo").returncode == 0
    link = root / "etc/systemd/system/multi-user.target.wants/demo.service"
    assert link.is_symlink()
    assert wait_for(lambda: events(root) == ["started"], 10)
    systemctl(root, "kill", "--kill-who=main", "--signal=SIGQUIT", "demo")
    assert wait_for(lambda: "quit" in events(root), 10)
    assert systemctl(root, "disable", "demo").returncode == 0 and not link.exists()


def test_unknown_unit_and_verb_fail_clearly(root: Path) -> None:
    missing = systemctl(root, "start", "nothing")
    assert missing.returncode == 5 and "Unit nothing.service not found" in missing.stderr
    odd = systemctl(root, "isolate", "rescue.target")
    assert odd.returncode == 1 and "not emulated" in odd.stderr
