"""Writing a file the user named: its mode from the moment it exists, one clear error if not.

Every command that writes what the user asked for (a template, a key, a client profile) goes
through ``write_file``, so a missing or read-only directory is one line naming the path and the
fix, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from runnerfleet.errors import SpecError

PRIVATE_MODE = 0o600
HOME_ENV = "RUNNERFLEET_HOME"
CANNOT_WRITE_FIX = "choose a path in a directory that exists and that you can write to"


def write_file(path: Path, data: str | bytes, *, mode: int = 0o644, enforce: bool = False) -> None:
    """Create or replace ``path``; ``enforce`` also narrows an existing file to ``mode``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd = os.open(path, flags, mode)
        with os.fdopen(fd, "wb") as handle:
            if enforce:
                os.fchmod(handle.fileno(), mode)
            handle.write(payload)
    except OSError as exc:
        raise SpecError(
            f"cannot write {path}: {exc.strerror or exc}", hint=CANNOT_WRITE_FIX
        ) from exc


def make_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(
            f"cannot create directory {path}: {exc.strerror or exc}", hint=CANNOT_WRITE_FIX
        ) from exc


def runnerfleet_home() -> Path:
    """Where runnerfleet keeps its own files: ``$RUNNERFLEET_HOME``, default ``~/.runnerfleet``."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".runnerfleet")
