"""The demo's final report: figures read from the deployed group and the one GitLab stand-in.

``GroupFigures`` is read through the twin's AWS endpoint before the stack is destroyed (its
activities and instances); ``GitLabFigures`` from the stand-in's REST API after the destroy
(jobs, runners and managers left) plus the runner tokens left in the twin's SSM.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table


@dataclass(frozen=True)
class TerminateWalk:
    """One busy instance terminated with the seed's command, without decrement."""

    instance_id: str
    job_id: int
    via: str  # "the AWS CLI v2" or "boto3 (no AWS CLI v2 here)"
    seconds_in_wait: float  # in Terminating:Wait, the drain holding it while its job ran
    job_status: str  # the job's status when the instance left Terminating:Wait


@dataclass(frozen=True)
class GroupFigures:
    group: str
    launches: int
    scale_outs: int  # the deployed autoscaler raising the desired capacity
    scale_ins: int
    most_in_service: int
    types_seen: tuple[str, ...]  # instance types, in launch order
    relaunched: int  # instances the relaunch (instance refresh) replaced


@dataclass(frozen=True)
class GitLabFigures:
    gitlab_url: str
    jobs: int
    jobs_succeeded: int
    jobs_killed: int  # failed under a dying runner, or failed at all
    wait_p50_s: float
    wait_max_s: float
    runners_during: int  # registered while the fleet ran
    managers_most: int
    runners_left: int  # after destroy
    managers_left: int
    tokens_left: int  # runner token parameters left in SSM after destroy
    instances_left: int  # in the group after destroy


@dataclass(frozen=True)
class DemoReport:
    stack: str
    group: GroupFigures
    gitlab: GitLabFigures
    walk: TerminateWalk
    elapsed_s: float
    time_limit_s: float

    @property
    def ok(self) -> bool:
        g = self.gitlab
        return (
            g.jobs_killed == 0
            and g.jobs_succeeded == g.jobs > 0
            and g.runners_left == 0
            and g.managers_left == 0
            and g.tokens_left == 0
            and g.instances_left == 0
            and self.walk.job_status == "success"
            and self.elapsed_s <= self.time_limit_s
        )

    def rows(self) -> list[tuple[str, str]]:
        g, gl, w = self.group, self.gitlab, self.walk
        return [
            ("stack / Auto Scaling group", f"{self.stack} / {g.group}"),
            ("GitLab (stand-in)", gl.gitlab_url),
            ("jobs (succeeded / created)", f"{gl.jobs_succeeded} / {gl.jobs}"),
            ("queue wait p50 / max", f"{gl.wait_p50_s:.0f} s / {gl.wait_max_s:.0f} s"),
            ("instances launched (group activities)", str(g.launches)),
            ("autoscaler scale-outs / scale-ins", f"{g.scale_outs} / {g.scale_ins}"),
            ("most instances in service", str(g.most_in_service)),
            ("instance types, in launch order", " -> ".join(g.types_seen) or "-"),
            ("instances replaced by the relaunch", str(g.relaunched)),
            (
                f"terminated busy {w.instance_id} ({w.via})",
                f"{w.seconds_in_wait:.0f} s in Terminating:Wait, job {w.job_id} {w.job_status}",
            ),
            (
                "runners registered during the run / most managers",
                f"{gl.runners_during} / {gl.managers_most}",
            ),
            ("jobs killed (must be 0)", _flag(gl.jobs_killed)),
            ("runners left registered after destroy (must be 0)", _flag(gl.runners_left)),
            ("runner managers left after destroy (must be 0)", _flag(gl.managers_left)),
            ("runner tokens left in SSM after destroy (must be 0)", _flag(gl.tokens_left)),
            ("instances left after destroy (must be 0)", _flag(gl.instances_left)),
            (f"finished within {self.time_limit_s:.0f} s", self._elapsed()),
        ]

    def _elapsed(self) -> str:
        text = f"{self.elapsed_s:.0f} s"
        return text if self.elapsed_s <= self.time_limit_s else f"[bold red]{text}[/]"

    def table(self) -> Table:
        table = Table(title="sandbox demo on the twin: final report", title_justify="left")
        table.add_column("measure (from the deployed group and the stand-in)")
        table.add_column("value", justify="right")
        for name, value in self.rows():
            table.add_row(name, value)
        return table


def _flag(value: int) -> str:
    return f"[green]{value}[/]" if value == 0 else f"[bold red]{value}[/]"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
