"""Writing the client configuration (.ovpn) where the operator asked, readable by them only."""

from __future__ import annotations

import os
from pathlib import Path

from runnerfleet.errors import SpecError


def write_profile(path: Path, config: str, *, overwrite: bool = False) -> Path:
    if path.exists() and not overwrite:
        raise SpecError(f"{path} exists", hint="pass --force to replace it, or choose --out")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(config if config.endswith("\n") else config + "\n")
    return path
