"""Parse a runner's Prometheus ``/metrics`` text into the numbers the autoscaler needs.

Running jobs are ``sum(gitlab_runner_jobs{state="running"})``: the runner keeps one series per
(state, stage, executor_stage) combination and always an ``idle`` series, so a single series
is never the answer. Job slots are ``min(gitlab_runner_concurrent, sum(gitlab_runner_limit))``,
where a limit of 0 means unlimited.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

JOBS = "gitlab_runner_jobs"
CONCURRENT = "gitlab_runner_concurrent"
LIMIT = "gitlab_runner_limit"


class MetricsParseError(ValueError):
    """The text is not Prometheus exposition format, or lacks gitlab_runner_concurrent."""


@dataclass(frozen=True, slots=True)
class RunnerMetrics:
    running_jobs: int
    concurrent: int
    limits: tuple[int, ...]  # one per [[runners]] entry; 0 = unlimited

    @property
    def slots(self) -> int:
        if not self.limits or 0 in self.limits:
            return self.concurrent
        return min(self.concurrent, sum(self.limits))


_WANTED = (JOBS, CONCURRENT, LIMIT)
_PREFIXES = tuple(
    f"{lead}{name}{tail}"
    for name in _WANTED
    for lead, tail in (("", "{"), ("", " "), ("# HELP ", " "), ("# TYPE ", " "))
)


def relevant_lines(text: str) -> str:
    """Only the three families we read. A runner's page is mostly go_* and process_* series;
    parsing just these lines costs a fraction, and the parser still checks their syntax."""
    return "\n".join(line for line in text.splitlines() if line.startswith(_PREFIXES)) + "\n"


def parse_metrics(text: str) -> RunnerMetrics:
    """Read running jobs and slots from exposition text; raises MetricsParseError."""
    running = 0.0
    concurrent: float | None = None
    limits: list[int] = []
    try:
        for family in text_string_to_metric_families(relevant_lines(text)):
            for sample in family.samples:
                if sample.name == JOBS and sample.labels.get("state") == "running":
                    running += sample.value
                elif sample.name == CONCURRENT:
                    concurrent = sample.value
                elif sample.name == LIMIT:
                    limits.append(int(sample.value))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise MetricsParseError(f"not Prometheus text: {exc}") from exc
    if concurrent is None:
        raise MetricsParseError(f"{CONCURRENT} missing: is this a GitLab Runner /metrics page?")
    return RunnerMetrics(
        running_jobs=int(running), concurrent=int(concurrent), limits=tuple(limits)
    )
