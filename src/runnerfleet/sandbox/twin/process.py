"""Starting and stopping the sandbox's background processes, by PID, never by name.

``spawn_twin`` starts ``python -m runnerfleet.sandbox.twin`` detached (it survives the command
that started it) and waits for its ready file; ``stop_process`` ends one recorded PID after
checking, through /proc, that it still is the process we started (PIDs are recycled).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from runnerfleet.errors import SandboxError

HOST = "127.0.0.1"
TWIN_MODULE = "runnerfleet.sandbox.twin"
READY_FLAG = "--ready-file"


@dataclass(frozen=True)
class Started:
    endpoint: str
    pid: int
    port: int
    log_file: Path


def spawn_twin(
    home: Path, region: str, port: int, wait_s: float, extra: tuple[str, ...] = ()
) -> Started:
    """Start the twin on 127.0.0.1:``port`` (0: any free port) and wait until it is ready;
    ``extra`` are more arguments of ``python -m runnerfleet.sandbox.twin``."""
    home.mkdir(parents=True, exist_ok=True)
    ready = home / "twin.ready"
    ready.unlink(missing_ok=True)
    log = home / "sandbox.log"
    args = ["--host", HOST, "--port", str(port), "--region", region, "--home", str(home), *extra]
    proc = _detached([sys.executable, "-m", TWIN_MODULE, *args, READY_FLAG, str(ready)], log)
    try:
        info = _wait_ready(proc, ready, wait_s, log)
    except BaseException:
        terminate(proc.pid)
        raise
    endpoint = str(info["endpoint"])
    return Started(endpoint, proc.pid, int(endpoint.rsplit(":", 1)[1]), log)


def _detached(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the command that started it; stop ends it
        )


def _wait_ready(
    proc: subprocess.Popen[bytes], ready: Path, wait_s: float, log: Path
) -> dict[str, object]:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(
                f"the sandbox twin exited at start (code {proc.returncode})",
                hint=f"read {log}; is moto[server] installed?",
            )
        if ready.exists():
            return dict(json.loads(ready.read_text(encoding="utf-8")))
        time.sleep(0.1)
    raise SandboxError(
        f"the sandbox twin was not ready within {wait_s:.0f} s",
        hint=f"read {log}, then retry `runnerfleet sandbox start`",
    )


def is_twin(pid: int) -> bool:
    return is_ours(pid, TWIN_MODULE.encode(), READY_FLAG.encode())


def is_ours(pid: int, program: bytes, marker: bytes) -> bool:
    """Guard against a recycled PID: the process must run ``program`` with ``marker``."""
    if pid <= 1:  # 0, -1 and 1 would signal groups, everyone, or init
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        args = cmdline.read_bytes().split(b"\0")
        return program in args and marker in args
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return sys.platform != "linux"  # no /proc to check: trust the state file


def terminate(pid: int, wait_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still alive after ``wait_s``."""
    for sig, wait in ((signal.SIGTERM, wait_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child: reap it
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))
