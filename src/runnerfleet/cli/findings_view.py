"""The one rendering of findings (guardrails, doctor checks, access checks) as a table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from runnerfleet.cli.console import out
from runnerfleet.findings import Finding

COLOUR = {"ok": "green", "warning": "yellow", "error": "red"}


def render_findings(findings: Sequence[Finding], title: str, *, ok_text: str = "") -> None:
    """A table of every finding; with none, one green line (``ok_text``)."""
    if not findings:
        out.print(f"[green]ok[/] {escape(ok_text or title)}")
        return
    table = Table(title=title, title_justify="left")
    for column in ("code", "severity", "where", "finding", "fix"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(
            escape(f.code),
            f"[{COLOUR[f.severity]}]{f.severity}[/]",
            escape(f.where()),
            escape(f.message),
            escape(f.fix),
        )
    out.print(table)


def summary(findings: Sequence[Finding]) -> str:
    failed = sum(f.severity == "error" for f in findings)
    warned = sum(f.severity == "warning" for f in findings)
    return f"{len(findings)} checks: {failed} failed, {warned} warnings"
