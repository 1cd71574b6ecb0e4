"""The one confirmation of a deletion: the user types the name of what goes (or --yes)."""

from __future__ import annotations

import click


def typed_name(kind: str, name: str, *, yes: bool) -> bool:
    """True on ``--yes``, or when the user types ``name`` exactly (surrounding blanks aside)."""
    if yes:
        return True
    typed = click.prompt(
        f"Type the {kind} name ({name}) to delete it", default="", show_default=False
    )
    return bool(typed.strip() == name)
