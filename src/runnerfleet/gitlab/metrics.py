"""Parse a runner's Prometheus ``/metrics`` text into the numbers the autoscaler needs.

Running jobs are ``sum(gitlab_runner_jobs{state="running"})``: the runner keeps one series per
(state, stage, executor_stage) combination and always an ``idle`` series, so a single series
is never the answer. Job slots are ``min(gitlab_runner_concurrent, sum(gitlab_runner_limit))``,
where a limit of 0 means unlimited.

A runner's page is mostly ``go_*`` and ``process_*`` series, and a full parse of it costs more
than fetching it. So only the lines that name one of our three families are read, with strict
patterns for the form gitlab-runner writes (``name{label="value",...} value [timestamp]``,
``# TYPE name gauge``). A line of ours in any other form hands the whole page to
prometheus_client's parser, so odd but valid text means what Prometheus says it means.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
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


_NAME = r"gitlab_runner_(?:jobs|concurrent|limit)"
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:")
# a mention of one of our names, wherever it sits in a line (a look-behind here would cost
# 20x: it stops the regex engine from searching for the literal prefix)
_MENTION = re.compile(rf"{_NAME}(?![A-Za-z0-9_:])")
_ESCAPED = r'[^"\\\n]*(?:\\[\\"n][^"\\\n]*)*'  # a label value; escapes: \\ \" \n only
_LABEL = rf'[a-zA-Z_][a-zA-Z0-9_]*="{_ESCAPED}"'
_VALUE = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN"
_SAMPLE = re.compile(rf"({_NAME})(?:\{{((?:{_LABEL})(?:,{_LABEL})*)?\}})? ({_VALUE})(?: -?[0-9]+)?")
_PAIR = re.compile(rf'([a-zA-Z_][a-zA-Z0-9_]*)="({_ESCAPED})"')
_TYPE = re.compile(rf"# TYPE {_NAME} (?:gauge|untyped)")
_HELP = re.compile(rf"# HELP {_NAME}(?: .*)?")

Sample = tuple[str, dict[str, str], float]


def parse_metrics(text: str) -> RunnerMetrics:
    """Read running jobs and slots from exposition text; raises MetricsParseError."""
    samples = _scan(text)
    if samples is None:
        samples = _parsed_by_prometheus_client(text)
    return _aggregate(samples)


def _scan(text: str) -> list[Sample] | None:
    """Our families' samples, or None when a line of ours is not in gitlab-runner's form."""
    samples: list[Sample] = []
    for line in _lines_mentioning_us(text):
        if line.startswith("#"):
            if _TYPE.fullmatch(line) is None and _HELP.fullmatch(line) is None:
                return None
            continue
        match = _SAMPLE.fullmatch(line)
        labels = None if match is None else _labels(match.group(2))
        if match is None or labels is None:
            return None
        samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def _lines_mentioning_us(text: str) -> Iterable[str]:
    end = -1
    for mention in _MENTION.finditer(text):
        at = mention.start()
        if at <= end or (at and text[at - 1] in _NAME_CHARS):
            continue  # on a line already read, or the tail of a longer name
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", mention.end())
        end = len(text) if end < 0 else end
        yield text[start:end]


def _labels(text: str | None) -> dict[str, str] | None:
    """Label pairs; None for what the strict form cannot decide (repeats, reserved names)."""
    if not text:
        return {}
    pairs = _PAIR.findall(text)
    labels = dict(pairs)
    if len(labels) != len(pairs) or any(name.startswith("__") for name in labels):
        return None
    return labels


def _parsed_by_prometheus_client(text: str) -> list[Sample]:
    try:
        return [
            (sample.name, sample.labels, float(sample.value))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name in (JOBS, CONCURRENT, LIMIT)
        ]
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise MetricsParseError(f"not Prometheus text: {exc}"[:300]) from exc


def _aggregate(samples: list[Sample]) -> RunnerMetrics:
    running = 0.0
    concurrent: float | None = None
    limits: list[int] = []
    for name, labels, value in samples:
        if name == JOBS and labels.get("state") == "running":
            running += _finite(name, value)
        elif name == CONCURRENT:
            concurrent = _finite(name, value)
        elif name == LIMIT:
            limits.append(int(_finite(name, value)))
    if concurrent is None:
        raise MetricsParseError(f"{CONCURRENT} missing: is this a GitLab Runner /metrics page?")
    return RunnerMetrics(
        running_jobs=int(running), concurrent=int(concurrent), limits=tuple(limits)
    )


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise MetricsParseError(f"{name} is {value}: a runner reports finite numbers")
    return value
