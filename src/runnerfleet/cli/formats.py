"""How a command prints its result: ``--output table`` (the default) or ``--output json``.

Tables fit 80 columns on a terminal (long cells are cut with an ellipsis, never wrapped);
when stdout is not a terminal (a CI log, a pipe) the same rows print as plain lines, columns
separated by two spaces and nothing cut. JSON goes to stdout as one object, one per line
under ``--watch``; its schema is documented in docs/cli-output.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from runnerfleet.cli.console import out

TABLE_WIDTH = 80


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="table (fits 80 columns; plain rows when piped) or json."),
]


def print_json(document: Any, console: Console = out) -> None:
    """One compact JSON object on one line (machines read it; ``jq .`` pretty-prints it)."""
    console.print(json.dumps(document, sort_keys=True), markup=False, highlight=False)


def print_rows(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], console: Console = out
) -> None:
    """A table on a terminal, plain aligned rows otherwise (cells are plain text)."""
    if not console.is_terminal:
        print_plain(title, columns, rows, console)
        return
    from rich.table import Table  # imported when a table is printed: --help stays fast

    table = Table(title=escape(title), box=None, padding=(0, 1), title_justify="left")
    widths = natural_widths(columns, rows)
    widest = widths.index(max(widths))  # the one column that gives way when 80 is too narrow
    room = TABLE_WIDTH - sum(widths) + widths[widest] - 2 * len(columns)
    for n, name in enumerate(columns):
        width = max(room, len(name)) if n == widest else widths[n]
        table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=width)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table, width=min(console.width, TABLE_WIDTH))


def natural_widths(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max(len(c), *(len(r[n]) for r in rows)) for n, c in enumerate(columns)]


def print_plain(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], console: Console = out
) -> None:
    widths = natural_widths(columns, rows)
    console.print(title, markup=False, highlight=False)
    for row in [list(columns), *rows]:
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        console.print(line.rstrip(), markup=False, highlight=False, soft_wrap=True)


def ago(seconds: float | None) -> str:
    """A duration as the largest sensible unit: 42s, 5m, 3h, 2d; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= size):
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def clock_time(at: float) -> str:
    """An epoch time as UTC wall-clock time, e.g. 12:36:29Z."""
    return datetime.fromtimestamp(at, tz=UTC).strftime("%H:%M:%SZ")
