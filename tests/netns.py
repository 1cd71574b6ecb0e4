"""Run a command in a network namespace that holds only loopback, when the machine allows it.

    python -m tests.netns pytest -n 2

The test suite's first line of defence (the in-process guard in tests/conftest.py is the
second): in such a namespace nothing, subprocesses included, can reach beyond 127.0.0.0/8,
because no other interface or route exists. Root gets a new network namespace; any other
user gets a user namespace too, with its own uid and gid mapped to themselves (so file
permissions behave as outside). Where the kernel or a container's seccomp profile refuses
both, the command runs as it is, with a note, and the in-process guard alone applies.
``RUNNERFLEET_NETNS=off`` skips the namespace on purpose.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct
import subprocess
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
IFREQ = "16sh22x"  # struct ifreq: name, flags, padding to 40 bytes
ENV = "RUNNERFLEET_NETNS"


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _map_self(uid: int, gid: int) -> None:
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
        with open(f"/proc/self/{name}", "w", encoding="ascii") as fh:
            fh.write(text)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(IFREQ, b"lo", 0)
        flags = struct.unpack(IFREQ, fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def enter() -> None:
    """Move this process into a loopback-only network namespace, or raise OSError."""
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        try:
            _unshare(CLONE_NEWNET)
            _loopback_up()
            return
        except OSError:
            pass  # a container without CAP_SYS_ADMIN: try a user namespace
    _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    _map_self(uid, gid)
    _loopback_up()


def namespace_possible() -> bool:
    """Whether ``enter`` works here (tried in a child, so this process stays as it is)."""
    probe = [sys.executable, "-c", "from tests.netns import enter; enter()"]
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return (
        subprocess.run(probe, capture_output=True, check=False, cwd=cwd, timeout=30).returncode == 0
    )


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: python -m tests.netns COMMAND [ARG...]")
    if os.environ.get(ENV) not in ("inside", "off"):
        try:
            enter()
            os.environ[ENV] = "inside"
        except (OSError, AttributeError) as exc:
            os.environ[ENV] = "unavailable"
            print(f"note: no network namespace here ({exc}); the in-process guard alone "
                  "keeps the tests on loopback", file=sys.stderr)  # fmt: skip
    os.execvp(argv[0], argv)  # noqa: S606 - runs the command this wrapper was given


if __name__ == "__main__":
    main(sys.argv[1:])
