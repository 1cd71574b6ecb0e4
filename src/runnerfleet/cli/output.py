"""Writing a command's output file: a clear error instead of a traceback, owner-only on request."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.files import PRIVATE_MODE, write_file


def write_output(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``text`` to ``path``; ``private`` files are created 0600 and never wider."""
    write_file(path, text, mode=PRIVATE_MODE if private else 0o644, enforce=private)
