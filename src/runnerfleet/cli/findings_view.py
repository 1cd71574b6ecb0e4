"""The one rendering of findings (guardrails, doctor checks, access checks) as a table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from runnerfleet.cli.console import out
from runnerfleet.findings import Finding

COLOUR = {"ok": "green", "warning": "yellow", "error": "red"}


def render_findings(findings: Sequence[Finding], title: str, *, ok_text: str = "") -> None:
    """A table of every finding, each as its one line (``file:line: key: message; fix: ...``,
    ``Finding.render``); with none, one green line (``ok_text``)."""
    if not findings:
        out.print(f"[green]ok[/] {escape(ok_text or title)}")
        return
    table = Table(title=title, title_justify="left")
    table.add_column("severity")
    table.add_column("code")
    table.add_column("finding", overflow="fold")
    for f in findings:
        table.add_row(f"[{COLOUR[f.severity]}]{f.severity}[/]", escape(f.code), escape(f.render()))
    out.print(table)


def summary(findings: Sequence[Finding]) -> str:
    failed = sum(f.severity == "error" for f in findings)
    warned = sum(f.severity == "warning" for f in findings)
    return f"{len(findings)} checks: {failed} failed, {warned} warnings"
