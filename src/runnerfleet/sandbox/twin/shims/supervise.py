"""Run one command for the twin and make sure it cannot outlive it.

    python -m runnerfleet.sandbox.twin.shims.supervise -- COMMAND [ARG...]

The twin starts every on-instance script it runs (the user data, Run Command steps) through
this wrapper: the command runs in a process group of its own; SIGTERM to the wrapper sends
SIGTERM to that group and SIGKILL two seconds later; and when the twin process
(``RUNNERFLEET_TWIN_PID``) is gone the group is killed. The wrapper exits with the command's
status (128 + N for a signal, as a shell reports it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from runnerfleet.sandbox.twin.shims.systemctl import POLL_S, signal_group, twin_gone

GRACE_S = 2.0


def _linger(group: int, seconds: float = 1.0) -> None:
    """Give the group's last members (a ``tee`` flushing a log) a moment to end by themselves."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.killpg(group, 0)
        except OSError:
            return
        time.sleep(0.05)


def supervise(command: list[str]) -> int:
    child = subprocess.Popen(command, process_group=0)
    kill_at: list[float] = []

    def _terminate(signum: int, frame: object) -> None:
        signal_group(child.pid, signal.SIGTERM)
        kill_at.append(time.monotonic() + GRACE_S)

    signal.signal(signal.SIGTERM, _terminate)
    while child.poll() is None:
        if twin_gone() or (kill_at and time.monotonic() > kill_at[0]):
            signal_group(child.pid, signal.SIGKILL)
        time.sleep(POLL_S)
    _linger(child.pid)
    signal_group(child.pid, signal.SIGKILL)  # what the command left running goes with it
    code = child.returncode
    return 128 - code if code < 0 else code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("supervise: a command is required", file=sys.stderr)
        return 2
    return supervise(args)


if __name__ == "__main__":
    raise SystemExit(main())
