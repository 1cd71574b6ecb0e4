"""The one-line verdict of ``why``, case by case (pure: job, records, activities in; text out)."""

from __future__ import annotations

import pytest

from runnerfleet.aws.activities import Activity
from runnerfleet.aws.decision_log import DecisionRecord
from runnerfleet.gitlab.jobs import Job
from runnerfleet.ops.why import picked_instance, verdict
from runnerfleet.stack.system_id import system_id_for_instance

pytestmark = pytest.mark.unit

T0 = 1_800_000_000.0
INSTANCE = "i-0123456789abcdef0"


def job(waited: float | None, system_id: str | None = None) -> Job:
    started = None if waited is None else T0 + waited
    return Job(
        1, 42, "acme/backend", "test", "running", (), T0, started, None, system_id, None, None
    )


def record(at: float, *, codes: tuple[str, ...] = (), failures: int = 0) -> DecisionRecord:
    return DecisionRecord(T0 + at, "hold", 4, 4, "queue", (), codes, 2, failures, (), "schedule")


def launch(at: float, ended: float | None) -> Activity:
    end = None if ended is None else T0 + ended
    return Activity(T0 + at, end, "launch", INSTANCE, "Successful", f"Launching {INSTANCE}")


def test_a_job_picked_within_seconds_did_not_wait_for_capacity() -> None:
    assert verdict(job(4), None, [], [], now=T0 + 60).startswith("picked at once")


def test_an_instance_launched_after_the_job_made_the_room_however_fast_it_booted() -> None:
    text = verdict(job(9), INSTANCE, [record(1)], [launch(2, 8)], now=T0 + 60)
    assert text.startswith(f"no capacity until instance {INSTANCE} booted at")
    assert "launched 2s after the job was created, 6s to boot" in text
    # an instance already there before the job: the job found its free slot
    assert verdict(job(9), INSTANCE, [], [launch(-40, -5)], now=T0 + 60).startswith("picked at")


def test_no_capacity_until_the_instance_that_picked_it_booted() -> None:
    text = verdict(job(200), INSTANCE, [record(5)], [launch(10, 190)], now=T0 + 300)
    assert text.startswith(f"no capacity until instance {INSTANCE} booted at")
    assert "launched 10s after the job was created, 180s to boot" in text


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([record(10, codes=("AtMaxSize",))], "max size reached"),
        ([record(10, failures=3)], "scrape failures: up to 3 runner(s) unreadable"),
        ([record(10, codes=("QueueUnknown",))], "queue unknown"),
        ([], "no autoscaler decision was logged"),
        ([record(10)], "for a busy runner to free a slot"),
    ],
)
def test_a_job_picked_late_by_an_existing_instance(
    records: list[DecisionRecord], expected: str
) -> None:
    text = verdict(job(300), INSTANCE, records, [], now=T0 + 400)
    assert text.startswith("waited 300s") and expected in text


def test_a_job_still_pending_says_so_with_the_cause() -> None:
    text = verdict(job(None), None, [record(10, codes=("AtMaxSize",))], [], now=T0 + 500)
    assert text.startswith("still waiting after 500s: max size reached")


def test_the_picking_instance_is_found_by_its_system_id() -> None:
    picked = job(60, system_id_for_instance(INSTANCE))
    assert picked_instance(picked, ["i-0aaaaaaaaaaaaaaaa", INSTANCE]) == INSTANCE
    assert picked_instance(picked, ["i-0aaaaaaaaaaaaaaaa"]) is None
    assert picked_instance(job(60, None), [INSTANCE]) is None
