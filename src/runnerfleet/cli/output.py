"""Writing a command's output file: a clear error instead of a traceback, owner-only on request."""

from __future__ import annotations

import os
from pathlib import Path

from runnerfleet.errors import SpecError

PRIVATE_MODE = 0o600


def write_output(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``text`` to ``path``; ``private`` files are created 0600 and never wider."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(path, flags, PRIVATE_MODE if private else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if private:
                os.fchmod(fh.fileno(), PRIVATE_MODE)  # an existing file keeps no wider mode
            fh.write(text)
    except OSError as exc:
        raise SpecError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="choose a path in a directory that exists and that you can write to",
        ) from exc
