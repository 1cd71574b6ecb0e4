"""How ``runnerfleet fleet`` shows a ``FleetView``: one table of the instances (80 columns, or
plain rows when piped), then the queue, the decisions and the alarms; and the watch loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.markup import escape

from runnerfleet.aws.decision_log import DecisionRecord
from runnerfleet.cli.console import err, out
from runnerfleet.cli.formats import (
    OutputFormat,
    ago,
    clock_time,
    print_json,
    print_rows,
)
from runnerfleet.ops.fleet_view import FleetView, InstanceRow
from runnerfleet.ops.ports import SYSTEM_CLOCK, Clock

COLUMNS = ("instance", "state", "age", "jobs", "idle", "prot", "manager", "contact", "next")


def instance_cells(row: InstanceRow, now: float) -> list[str]:
    jobs = "?" if row.running_jobs is None else str(row.running_jobs)
    idle = None if row.idle_since is None else now - row.idle_since
    status, contact = manager_cells(row, now)
    return [
        row.instance_id,
        row.state,
        ago(now - row.launched_at),
        f"{jobs}/{row.slots or '?'}",
        ago(idle),
        "yes" if row.protected else "",
        status,
        contact,
        row.next_action,
    ]


def manager_cells(row: InstanceRow, now: float) -> tuple[str, str]:
    if row.managers is None:
        return "unknown", "-"
    if not row.managers:
        return "none", "-"
    statuses = sorted({m.status for m in row.managers})
    contacts = [c for c in (_epoch(m.contacted_at) for m in row.managers) if c is not None]
    return ",".join(statuses), ago(now - max(contacts)) if contacts else "never"


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def decision_line(record: DecisionRecord) -> str:
    pending = "unknown" if record.pending_jobs is None else str(record.pending_jobs)
    text = (
        f"{clock_time(record.at)} {record.action} {record.desired_before} -> {record.desired} "
        f"(pending {pending}, scrape failures {record.scrape_failures})"
    )
    reasons = "; ".join(record.reasons)
    return f"{text}: {reasons}" if reasons else text


def render(view: FleetView) -> None:
    out.print(f"{escape(view.environment)}: group {escape(view.group)} in {escape(view.location)}")
    head = (
        f"at {clock_time(view.at)}: {len(view.instances)} instance(s), desired {view.desired} "
        f"(min {view.min_size}, max {view.max_size})"
    )
    rows = [instance_cells(row, view.at) for row in view.instances]
    print_rows(head, COLUMNS, rows)
    if len(view.groups) > 1:  # the warm group and its spot overflow
        for g in view.groups:
            count = sum(1 for row in view.instances if row.group == g.name)
            out.print(
                f"  {escape(g.name)}: {count} instance(s), desired {g.desired} (max {g.max_size})"
            )
    pending = "unknown" if view.pending_jobs is None else str(view.pending_jobs)
    if view.pending_error:
        pending += f" ({view.pending_error})"
    out.print(f"pending jobs: {escape(pending)}; scrape failures: {view.scrape_failures}")
    out.print(f"now: {escape(decision_line(view.next_decision))}")
    out.print("last decisions:" if view.decisions else "last decisions: none logged")
    for record in view.decisions:
        out.print(f"  {escape(decision_line(record))}")
    out.print("alarms in ALARM:" if view.alarms else "alarms in ALARM: none")
    for alarm in view.alarms:
        out.print(f"  {escape(alarm.name)} since {clock_time(alarm.since)}: {escape(alarm.reason)}")
    for note in view.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")


def show(view: FleetView, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(view.to_json())
    else:
        render(view)


def watch_loop(
    step: Callable[[], None], views: int | None, interval: float, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Run ``step`` ``views`` times (None: until Ctrl-C), ``interval`` seconds apart."""
    shown = 0
    try:
        while views is None or shown < views:
            if shown:
                clock.sleep(interval)
            step()
            shown += 1
    except KeyboardInterrupt:
        return 0
    return 0
