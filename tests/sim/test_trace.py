"""Trace loading: the documented format, and every bad input named by line and column."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from runnerfleet.errors import SpecError
from runnerfleet.sim.convert import convert_file
from runnerfleet.sim.trace import load_trace, make_trace, parse_trace, write_trace
from tests.conftest import SHARED

SHARED_TRACE = SHARED / "traces" / "bitcoin-core-gha-2025-09.csv.gz"


def _load(tmp_path: Path, text: str, name: str = "t.csv") -> object:
    path = tmp_path / name
    path.write_text(text)
    return load_trace(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SpecError) as info:
        _load(tmp_path, text)
    return str(info.value)


def test_reads_required_and_optional_columns(tmp_path: Path) -> None:
    trace = _load(
        tmp_path,
        "duration_s,arrival_ts,job_name,extra\n10,100.5,build,x\n20,100.5,test,y\n\n5,200,lint,z\n",
    )
    assert trace.arrivals == (100.5, 100.5, 200.0)  # type: ignore[attr-defined]
    assert trace.durations == (10.0, 20.0, 5.0)  # type: ignore[attr-defined]
    assert trace.job_names == ("build", "test", "lint")  # type: ignore[attr-defined]
    assert trace.pipeline_ids == ("", "", "")  # type: ignore[attr-defined]


def test_missing_column_is_named_with_line_and_column(tmp_path: Path) -> None:
    msg = _error(tmp_path, "arrival_ts,job_name\n1,build\n")
    assert "line 1, column 3: missing required column 'duration_s'" in msg


def test_unsorted_arrivals_name_line_and_column(tmp_path: Path) -> None:
    msg = _error(tmp_path, "arrival_ts,duration_s\n100,1\n200,1\n150,1\n")
    assert "line 4, column 1 (arrival_ts): arrival 150 is before 200 on line 3" in msg
    assert "sort the file" in msg


def test_negative_duration_names_line_and_column(tmp_path: Path) -> None:
    msg = _error(tmp_path, "arrival_ts,duration_s\n100,1\n101,-5\n")
    assert "line 3, column 2 (duration_s): negative duration -5" in msg


def test_non_numeric_values_all_reported(tmp_path: Path) -> None:
    msg = _error(tmp_path, "arrival_ts,duration_s\nabc,1\n101,\n102,nan\n")
    assert "line 2, column 1 (arrival_ts): 'abc' is not a number" in msg
    assert "line 3, column 2 (duration_s): an empty value is not a number" in msg
    assert "line 4, column 2 (duration_s): 'nan' is not a finite number" in msg


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    assert "line 1: the file is empty" in _error(tmp_path, "")
    assert "line 2: no jobs after the header" in _error(tmp_path, "arrival_ts,duration_s\n")


def test_short_row_and_missing_file(tmp_path: Path) -> None:
    assert "line 3: expected 2 fields, found 1" in _error(
        tmp_path, "arrival_ts,duration_s\n1,2\n3\n"
    )
    with pytest.raises(SpecError, match="does not exist"):
        load_trace(tmp_path / "nope.csv")


def test_write_then_read_round_trip_gzip(tmp_path: Path) -> None:
    trace = make_trace([1.5, 2, 2], [3, 0, 7.25], job_names=["a", "b,c", "d"])
    write_trace(tmp_path / "t.csv.gz", trace)
    again = load_trace(tmp_path / "t.csv.gz")
    assert again.arrivals == trace.arrivals
    assert again.durations == trace.durations
    assert again.job_names == trace.job_names
    # deterministic bytes
    write_trace(tmp_path / "u.csv.gz", trace)
    assert (tmp_path / "t.csv.gz").read_bytes() == (tmp_path / "u.csv.gz").read_bytes()


def test_make_trace_rejects_bad_values() -> None:
    with pytest.raises(SpecError, match="job 2: negative duration"):
        make_trace([1, 2], [1, -1])
    with pytest.raises(SpecError, match="job 2: arrival 1 is before"):
        make_trace([5, 1], [1, 1])


def test_convert_maps_columns_sorts_and_skips_negative(tmp_path: Path) -> None:
    src = tmp_path / "src.csv.gz"
    rows = (
        "run_id,run_created_ts,branch,job_id,job_name,status,started_ts,completed_ts\n"
        "7,90,main,1,build,COMPLETED,200,260\n"
        "7,90,main,2,test,FAILED,100,400\n"
        "8,95,dev,3,odd,ABORTED,150,140\n"
    )
    src.write_bytes(gzip.compress(rows.encode()))
    result = convert_file(src, tmp_path / "out.csv")
    assert result.read == 3 and result.skipped_negative == 1
    trace = parse_trace((tmp_path / "out.csv").read_text().splitlines())
    assert trace.arrivals == (100.0, 200.0)
    assert trace.durations == (300.0, 60.0)
    assert trace.pipeline_ids == ("7", "7")
    assert trace.statuses == ("FAILED", "COMPLETED")


def test_convert_rejects_wrong_format(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("arrival_ts,duration_s\n1,2\n")
    with pytest.raises(SpecError, match="line 1: missing column"):
        convert_file(tmp_path / "x.csv", tmp_path / "y.csv")


@pytest.mark.skipif(not SHARED_TRACE.exists(), reason="shared trace not present")
def test_convert_shared_trace(tmp_path: Path) -> None:
    result = convert_file(SHARED_TRACE, tmp_path / "bc.csv.gz")
    assert result.read == 17_002
    assert len(result.trace) + result.skipped_negative == 17_002
    # the README's figure: about 5,054 job-hours
    assert round(result.trace.job_seconds / 3600) == 5054


def test_absurd_duration_and_span_are_refused_with_their_line(tmp_path: Path) -> None:
    msg = _error(tmp_path, "arrival_ts,duration_s\n100,1\n101,1e15\n1e15,5\n")
    assert "line 3, column 2 (duration_s): duration 1e+15 s is longer than the limit" in msg
    assert "line 4, column 1 (arrival_ts): arrival 1e+15 is" in msg
    assert "at most 732 days" in msg
    with pytest.raises(SpecError, match="longer than the limit"):
        make_trace([0], [1e15])
    with pytest.raises(SpecError, match="at most 732 days"):
        make_trace([0, 1e15], [1, 1])


def _bomb(path: Path, rows: int) -> None:
    """A small gzip that inflates to ``rows`` identical rows."""
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"arrival_ts,duration_s\n")
        block = b"1,1\n" * 100_000
        for _ in range(rows // 100_000):
            fh.write(block)


def test_a_gzip_that_inflates_past_the_row_limit_is_refused_in_seconds(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    _bomb(bomb, 5_000_000)
    assert bomb.stat().st_size < 300_000
    started = time.monotonic()
    with pytest.raises(SpecError, match="more than 2,000,000 rows"):
        load_trace(bomb)
    assert time.monotonic() - started < 5.0
    source = tmp_path / "bomb-source.csv.gz"
    _bomb(source, 2_100_000)
    with pytest.raises(SpecError, match="more than 2,000,000 rows"):
        convert_file(source, tmp_path / "out.csv")


def test_converter_refuses_absurd_durations_and_spans(tmp_path: Path) -> None:
    head = "run_id,job_name,status,started_ts,completed_ts\n"
    src = tmp_path / "src.csv"
    src.write_text(head + "1,a,COMPLETED,100,1e15\n1,b,COMPLETED,100,inf\n")
    with pytest.raises(SpecError) as info:
        convert_file(src, tmp_path / "out.csv")
    assert "line 2, column 5 (completed_ts): duration" in str(info.value)
    assert "line 3, column 5 (completed_ts): 'inf' is not a finite number" in str(info.value)
    src.write_text(head + "1,a,COMPLETED,100,200\n1,b,COMPLETED,1e12,1e12\n")
    with pytest.raises(SpecError, match="at most 732 days"):
        convert_file(src, tmp_path / "out.csv")


def test_a_field_past_the_csv_limit_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    msg = _error(tmp_path, 'arrival_ts,duration_s,job_name\n1,1,"' + "x" * 200_000 + '"\n')
    assert "line 2" in msg and "field larger than field limit" in msg
