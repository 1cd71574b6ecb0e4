"""Options shared by many commands, importable without any heavy dependency (so that a
command module, and with it ``COMMAND --help``, loads fast)."""

from __future__ import annotations

from typing import Annotated

import typer

SandboxFlag = Annotated[
    bool,
    typer.Option(
        "--sandbox", help="Use the embedded AWS emulator (start it: runnerfleet sandbox start)."
    ),
]
