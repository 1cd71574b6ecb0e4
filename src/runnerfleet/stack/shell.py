"""Deterministic shell rendering: quoting, template slots, embedded files.

Templates live in ``stack/scripts`` and mark slots as ``@@NAME@@`` (bash itself uses ``$``,
so ``string.Template`` would fight it). Every value goes through ``quote`` before it lands in
a script, and a missing or leftover slot is a bug that fails loudly.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from importlib import resources

_SLOT_RE = re.compile(r"@@([A-Z_]+)@@")


def quote(value: str | int | bool) -> str:
    """One shell word for ``value``; booleans become ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "," in text:  # shlex leaves commas bare; shellcheck reads them as a mistake (SC2054)
        return "'" + text.replace("'", "'\\''") + "'"
    return shlex.quote(text)


def assign(name: str, value: str | int | bool | None) -> str:
    return f"{name}={quote('' if value is None else value)}"


def array(name: str, values: Iterable[str]) -> str:
    return f"{name}=({' '.join(quote(v) for v in values)})"


def load_template(name: str) -> str:
    return resources.files("runnerfleet.stack").joinpath("scripts", name).read_text("utf-8")


def fill(template: str, slots: Mapping[str, str]) -> str:
    """Replace every ``@@NAME@@``; unknown or unused slots are errors."""
    used = set(_SLOT_RE.findall(template))
    if used != set(slots):
        raise ValueError(f"template slots {sorted(used)} != given {sorted(slots)}")
    return _SLOT_RE.sub(lambda m: slots[m.group(1)], template)


def heredoc(command: str, body: str, delimiter: str) -> str:
    """``command <<'DELIM'`` with ``body`` verbatim (quoted delimiter: no expansion)."""
    if not body.endswith("\n"):
        body += "\n"
    if delimiter in body.splitlines():
        raise ValueError(f"heredoc delimiter {delimiter} occurs in its body")
    return f"{command} <<'{delimiter}'\n{body}{delimiter}"


def shared_lib() -> str:
    """lib.sh (log, fail, IMDSv2 helpers), inlined so every script stands alone."""
    return load_template("lib.sh").rstrip("\n")
