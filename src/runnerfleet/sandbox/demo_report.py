"""What the demo measures and shows: a live view while it runs, a report at the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

from rich.table import Table

from runnerfleet.sandbox.standin import StandInState


@dataclass
class DemoStats:
    sim_elapsed_s: float = 0.0
    desired: int = 0
    in_service: int = 0
    booting: int = 0
    draining: int = 0
    jobs_fed: int = 0
    jobs_total: int = 0
    scale_events: list[str] = field(default_factory=list)
    evaluations: int = 0


@dataclass(frozen=True)
class DemoReport:
    jobs: int
    jobs_succeeded: int
    wait_p50_s: float
    wait_p95_s: float
    wait_max_s: float
    instance_hours: float
    scale_events: int
    jobs_killed: int
    runners_left_registered: int
    managers_left_registered: int
    lifecycle_actions_timed_out: int
    instances_left: int
    finished_in_time: bool

    @property
    def ok(self) -> bool:
        return (
            self.jobs_killed == 0
            and self.runners_left_registered == 0
            and self.managers_left_registered == 0
            and self.jobs_succeeded == self.jobs
            and self.instances_left == 0
            and self.finished_in_time
        )

    def table(self) -> Table:
        table = Table(title="sandbox demo: final report", title_justify="left")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for name, value in (
            ("jobs (succeeded / queued)", f"{self.jobs_succeeded} / {self.jobs}"),
            (
                "queue wait p50 / p95 / max",
                f"{self.wait_p50_s:.0f} s / {self.wait_p95_s:.0f} s / {self.wait_max_s:.0f} s",
            ),
            ("instance-hours (per-second billing, 60 s minimum)", f"{self.instance_hours:.2f}"),
            ("scale events", str(self.scale_events)),
            ("jobs killed (must be 0)", _flag(self.jobs_killed)),
            ("runners left registered (must be 0)", _flag(self.runners_left_registered)),
            ("runner managers left registered (must be 0)", _flag(self.managers_left_registered)),
            ("lifecycle actions that timed out", str(self.lifecycle_actions_timed_out)),
            ("instances left after the drain to zero (must be 0)", _flag(self.instances_left)),
            (
                "finished within the time limit",
                "yes" if self.finished_in_time else "[bold red]no[/]",
            ),
        ):
            table.add_row(name, value)
        return table


def _flag(value: int) -> str:
    return f"[green]{value}[/]" if value == 0 else f"[bold red]{value}[/]"


def job_waits(state: StandInState) -> list[float]:
    with state.lock:
        return [j.started_at - j.created_at for j in state.jobs.values() if j.started_at]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def live_table(stats: DemoStats, state: StandInState) -> Table:
    with state.lock:
        statuses = [j.status for j in state.jobs.values()]
    waits = job_waits(state)
    table = Table(
        title=f"runnerfleet sandbox demo (EMULATED) - simulated time "
        f"{stats.sim_elapsed_s / 60:5.1f} min",
        title_justify="left",
    )
    table.add_column("fleet")
    table.add_column("jobs")
    table.add_column("waits")
    table.add_column("last scale events")
    table.add_row(
        f"desired {stats.desired}\nin service {stats.in_service}\n"
        f"booting {stats.booting}\ndraining {stats.draining}",
        f"queued {stats.jobs_fed}/{stats.jobs_total}\npending {statuses.count('pending')}\n"
        f"running {statuses.count('running')}\ndone {statuses.count('success')}",
        f"p50 {median(waits) if waits else 0:.0f} s\np95 {percentile(waits, 0.95):.0f} s\n"
        f"max {max(waits, default=0):.0f} s\nevaluations {stats.evaluations}",
        "\n".join(stats.scale_events[-4:]) or "-",
    )
    return table
