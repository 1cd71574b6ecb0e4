"""Writing the client configuration (.ovpn) where the operator asked, readable by them only."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.errors import SpecError
from runnerfleet.files import PRIVATE_MODE, write_file


def write_profile(path: Path, config: str, *, overwrite: bool = False) -> Path:
    if path.exists() and not overwrite:
        raise SpecError(f"{path} exists", hint="pass --force to replace it, or choose --out")
    text = config if config.endswith("\n") else config + "\n"
    write_file(path, text, mode=PRIVATE_MODE, enforce=True)
    return path
