"""The two rich consoles every command prints through: results to stdout, talk to stderr."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from runnerfleet.cli.output import write_output

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit(text: str, output: Path | None) -> None:
    """A generated file: to ``output``, or verbatim to stdout (no markup, no wrapping)."""
    if output is None:
        out.print(text, markup=False, highlight=False, emoji=False, end="")
        return
    write_output(output, text)
    err.print(f"wrote {escape(str(output))}")


def emulated_banner(endpoint: str) -> None:
    """Every command that talks to the sandbox says so, loudly, before anything else."""
    err.print(f"[bold yellow]EMULATED[/] AWS sandbox at {endpoint}: nothing here is real AWS.")
