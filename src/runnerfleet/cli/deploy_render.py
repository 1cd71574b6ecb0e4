"""Rendering for the deploy commands: step lines, live event progress, previews, results.

Thread-safe: parallel deploys report from several threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from runnerfleet.aws.cloudformation import ChangeSet
from runnerfleet.aws.stackstatus import StackEvent
from runnerfleet.cli.console import err, out
from runnerfleet.ops.deploy import EnvResult, Prepared
from runnerfleet.ops.target import Target

OUTCOME_STYLE = {
    "created": "green",
    "updated": "green",
    "deleted": "green",
    "no changes": "cyan",
    "absent": "cyan",
    "cancelled": "yellow",
    "failed": "bold red",
}
ACTION_STYLE = {"Add": "green", "Modify": "yellow", "Remove": "red", "Dynamic": "yellow"}


class RichReporter:
    """Steps and events on stderr; during execution, one progress bar per environment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def step(self, env: str, text: str) -> None:
        with self._lock:
            self._console().print(f"[bold]{escape(env)}[/] {escape(text)}")

    def begin(self, env: str, total: int) -> None:
        with self._lock:
            if self._progress is not None:
                self._tasks[env] = self._progress.add_task(env, total=total)

    def event(self, env: str, event: StackEvent) -> None:
        with self._lock:
            style = "red" if event.failed else "dim"
            self._console().print(f"[bold]{escape(env)}[/] [{style}]{escape(event.line())}[/]")
            task = self._tasks.get(env)
            if self._progress is not None and task is not None and event.finished:
                self._progress.advance(task)

    @contextmanager
    def live(self) -> Iterator[None]:
        """Progress bars while stacks change; plain lines when stderr is not a terminal."""
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("resources"),
            console=err,
            disable=not err.is_terminal,
        )
        with progress:
            self._progress = progress
            try:
                yield
            finally:
                for task in progress.task_ids:
                    progress.update(task, completed=progress.tasks[task].total)
                self._progress = None
                self._tasks.clear()

    def _console(self) -> Console:
        return self._progress.console if self._progress is not None else err


def render_preview(prepared: Prepared) -> None:
    change_set = prepared.change_set
    title = f"{prepared.env}: stack {prepared.spec.stack} ({prepared.target.label})"
    if change_set is None:
        out.print(f"[cyan]{escape(title)}: no changes[/]")
        return
    verb = "create" if change_set.change_type == "CREATE" else "update"
    out.print(f"[bold]{escape(title)}: change set to {verb}[/]")
    out.print(resource_table(change_set))
    if change_set.parameters:
        out.print(parameter_table(change_set))
    elif change_set.change_type == "UPDATE":
        out.print("  parameters: unchanged")


def resource_table(change_set: ChangeSet) -> Table | str:
    if not change_set.changes:
        return "  resources: none listed (a parameter-only change; the emulator lists none)"
    table = Table(box=None, pad_edge=False)
    for column in ("Action", "Resource", "Type", "Replacement"):
        table.add_column(column, overflow="fold")
    for change in change_set.changes:
        style = ACTION_STYLE.get(change.action, "")
        replacement = change.replacement or "-"
        if replacement == "True":
            replacement = "[bold red]True[/]"
        table.add_row(
            f"[{style}]{change.action}[/]" if style else change.action,
            escape(change.logical_id),
            escape(change.resource_type),
            replacement,
        )
    return table


def parameter_table(change_set: ChangeSet) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("Parameter", "Old", "New"):
        table.add_column(column, overflow="fold")
    for change in change_set.parameters:
        table.add_row(
            escape(change.key) + (" (secret)" if change.masked else ""),
            escape(change.old if change.old is not None else "-"),
            escape(change.new if change.new is not None else "-"),
        )
    return table


def render_results(results: Sequence[EnvResult]) -> None:
    """One line per environment (never truncated, easy to grep in CI logs), then the errors."""
    for r in results:
        style = OUTCOME_STYLE.get(r.outcome, "")
        out.print(
            f"[bold]{escape(r.env)}[/]: stack {escape(r.stack)} in {escape(r.where)}: "
            f"[{style}]{r.outcome}[/] ({r.seconds:.1f} s)"
        )
    for r in results:
        if r.error is not None:
            err.print(f"[bold red]{escape(r.env)}:[/] {escape(r.error.message)}")
            for line in getattr(r.error, "events", []):
                err.print(f"  [red]{escape(line)}[/]")
            if r.error.hint:
                err.print(f"  [bold]fix:[/] {escape(r.error.hint)}")


def render_outputs(env: str, outputs: Mapping[str, str], target: Target) -> None:
    if not outputs:
        missing = not target.capabilities.outputs_after_change_set
        note = " (the emulator does not report outputs after a change set)" if missing else ""
        out.print(f"{escape(env)}: no outputs{note}")
        return
    table = Table("Output", "Value", title=f"{env} outputs", box=None, pad_edge=False)
    for key in sorted(outputs):
        table.add_row(escape(key), escape(outputs[key]))
    out.print(table)
