"""Tables fit 80 columns on a terminal and print as plain, uncut rows when stdout is not one."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from runnerfleet.cli.formats import ago, print_rows

pytestmark = pytest.mark.unit

COLUMNS = ("instance", "state", "reason")
ROWS = [["i-0123456789abcdef0", "Terminating:Wait", "draining: " + "x" * 120]]


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=200, color_system=None), buffer


def test_a_terminal_table_fits_80_columns_and_cuts_long_cells() -> None:
    con, buffer = console(terminal=True)
    print_rows("title", COLUMNS, ROWS, con)
    lines = buffer.getvalue().splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert "i-0123456789abcdef0" in buffer.getvalue() and "…" in buffer.getvalue()


def test_plain_rows_when_not_a_terminal_keep_every_value_whole() -> None:
    con, buffer = console(terminal=False)
    print_rows("title", COLUMNS, ROWS, con)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "title" and lines[1].split() == list(COLUMNS)
    assert lines[2].split("  ")[-1] == ROWS[0][2]  # nothing cut, nothing wrapped


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (-3, "0s"),
        (59, "59s"),
        (60, "1m"),
        (7199, "119m"),
        (7200, "2h"),
        (3 * 86400, "3d"),
    ],
)
def test_ago(seconds: float | None, text: str) -> None:
    assert ago(seconds) == text
