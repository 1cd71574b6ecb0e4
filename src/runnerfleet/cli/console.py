"""The two rich consoles every command prints through: results to stdout, talk to stderr."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emulated_banner(endpoint: str) -> None:
    """Every command that talks to the sandbox says so, loudly, before anything else."""
    err.print(f"[bold yellow]EMULATED[/] AWS sandbox at {endpoint}: nothing here is real AWS.")
