"""Parsing runner /metrics text: sums over series, slots from concurrent and limits."""

from __future__ import annotations

import re

import pytest

from runnerfleet.gitlab.metrics import MetricsParseError, parse_metrics
from tests.autoscaler.runner_server import render_metrics
from tests.conftest import FIXTURES, SHARED, needs_shared

SHARED_FACTS = SHARED / "reference" / "gitlab-runner-facts.md"


def _reference_sample() -> str:
    # the sample page quoted in the shared GitLab Runner facts (concurrent=4, two jobs)
    text = SHARED_FACTS.read_text("utf-8")
    block = re.search(r"two jobs in different stages.*?```\n(.*?)```", text, re.S)
    assert block is not None
    return block.group(1)


def _assert_two_running_jobs_in_two_series(text: str) -> None:
    metrics = parse_metrics(text)
    assert metrics.running_jobs == 2
    assert metrics.concurrent == 4 and metrics.limits == (0,)
    assert metrics.slots == 4  # limit 0 means unlimited


@needs_shared(SHARED_FACTS)
def test_reference_sample_two_running_jobs_in_two_series() -> None:
    _assert_two_running_jobs_in_two_series(_reference_sample())


def test_own_sample_two_running_jobs_in_two_series() -> None:
    page = (FIXTURES / "metrics" / "one-runner-two-jobs.txt").read_text("utf-8")
    _assert_two_running_jobs_in_two_series(page)


@pytest.mark.parametrize("running", [0, 1, 3, 7, 12])
def test_running_is_the_sum_over_every_running_series(running: int) -> None:
    assert parse_metrics(render_metrics(running, concurrent=16)).running_jobs == running


def test_idle_and_other_states_are_not_running() -> None:
    extra = 'gitlab_runner_jobs{executor_stage="x",runner="a",stage="s",state="pending"} 3\n'
    text = render_metrics(2).replace(
        "# TYPE gitlab_runner_jobs gauge\n", "# TYPE gitlab_runner_jobs gauge\n" + extra
    )
    assert 'state="pending"' in text
    assert parse_metrics(text).running_jobs == 2


def test_broken_values_are_a_parse_error() -> None:
    with pytest.raises(MetricsParseError):
        parse_metrics(
            render_metrics(0).replace("gitlab_runner_concurrent 4", "gitlab_runner_concurrent x")
        )


def test_slots_are_min_of_concurrent_and_summed_limits() -> None:
    assert parse_metrics(render_metrics(0, concurrent=10, limits=(2, 3))).slots == 5
    assert parse_metrics(render_metrics(0, concurrent=4, limits=(3, 3))).slots == 4
    assert parse_metrics(render_metrics(0, concurrent=4, limits=(3, 0))).slots == 4


def test_page_without_runner_metrics_is_an_error() -> None:
    with pytest.raises(MetricsParseError, match="gitlab_runner_concurrent"):
        parse_metrics("# TYPE process_open_fds gauge\nprocess_open_fds 3\n")
