"""Convert the shared CI trace (one row per GitHub Actions job) into our trace format.

Mapping: ``arrival_ts = started_ts`` (the jobs ran on a large hosted fleet, so the start is
close to the moment the job became ready), ``duration_s = completed_ts - started_ts``,
``pipeline_id = run_id``; ``job_name`` and ``status`` are copied. Rows whose completion is
before their start (the clocks of cancelled jobs) cannot be replayed and are skipped and
counted. Output is sorted by arrival (stable, so ties keep the file order).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runnerfleet.errors import SpecError
from runnerfleet.sim.limits import check_row_count, duration_problem, span_problem
from runnerfleet.sim.trace import Trace, make_trace, open_text, write_trace

SOURCE_COLUMNS = ("run_id", "job_name", "status", "started_ts", "completed_ts")
SOURCE_HINT = (
    "the input must be the shared CI trace format with a header containing "
    "run_id, job_name, status, started_ts, completed_ts (see docs/simulator.md)"
)


@dataclass(frozen=True, slots=True)
class ConvertResult:
    trace: Trace
    read: int
    skipped_negative: int


def convert_file(src: str | Path, dst: str | Path) -> ConvertResult:
    """Read the shared trace at ``src``, write our format to ``dst`` (gzip if it ends in .gz)."""
    result = read_source(Path(src))
    write_trace(dst, result.trace)
    return result


def read_source(path: Path) -> ConvertResult:
    if not path.is_file():
        raise SpecError(f"input trace {path} does not exist", hint=SOURCE_HINT)
    try:
        check_row_count(path, SOURCE_HINT)
        with open_text(path) as fh:
            reader = csv.reader(fh)
            try:
                return _convert_rows(reader, str(path))
            except csv.Error as exc:
                where = f"{path}: line {reader.line_num}"
                raise SpecError(f"{where}: {exc}", hint=SOURCE_HINT) from exc
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise SpecError(f"cannot read {path}: {exc}", hint=SOURCE_HINT) from exc


def _convert_rows(rows: Iterator[list[str]], source: str) -> ConvertResult:
    header = next(rows, None)
    if not header:
        raise SpecError(f"{source}: line 1: the file is empty", hint=SOURCE_HINT)
    names = [str(h).strip() for h in header]
    missing = [c for c in SOURCE_COLUMNS if c not in names]
    if missing:
        raise SpecError(
            f"{source}: line 1: missing column(s) {', '.join(missing)}", hint=SOURCE_HINT
        )
    idx = {c: names.index(c) for c in SOURCE_COLUMNS}
    jobs: list[tuple[float, float, str, str, str]] = []
    problems: list[str] = []
    skipped = 0
    read = 0
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        read += 1
        parsed = _parse_row(row, idx, line, problems)
        if parsed is None:
            continue
        if parsed[1] < 0:
            skipped += 1
            continue
        jobs.append(parsed)
    if problems:
        raise SpecError(
            f"{source}: {len(problems)} bad row(s)", problems=problems[:20], hint=SOURCE_HINT
        )
    if not jobs:
        raise SpecError(f"{source}: line 2: no usable jobs", hint=SOURCE_HINT)
    jobs.sort(key=lambda j: j[0])
    _check_span(jobs, source)
    trace = make_trace(
        (j[0] for j in jobs),
        (j[1] for j in jobs),
        pipeline_ids=[j[2] for j in jobs],
        job_names=[j[3] for j in jobs],
        statuses=[j[4] for j in jobs],
        source=source,
    )
    return ConvertResult(trace=trace, read=read, skipped_negative=skipped)


def _parse_row(
    row: list[str], idx: dict[str, int], line: int, problems: list[str]
) -> tuple[float, float, str, str, str] | None:
    if len(row) <= max(idx.values()):
        problems.append(f"line {line}: expected at least {max(idx.values()) + 1} fields")
        return None
    values: dict[str, float] = {}
    for col in ("started_ts", "completed_ts"):
        cell = row[idx[col]].strip()
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            values[col] = value
        else:
            where = f"line {line}, column {idx[col] + 1} ({col})"
            problems.append(f"{where}: {cell!r} is not a finite number")
    if len(values) != 2:
        return None
    start = values["started_ts"]
    duration = values["completed_ts"] - start
    if problem := duration_problem(duration):
        problems.append(f"line {line}, column {idx['completed_ts'] + 1} (completed_ts): {problem}")
        return None
    return (
        start,
        duration,
        row[idx["run_id"]].strip(),
        row[idx["job_name"]].strip(),
        row[idx["status"]].strip(),
    )


def _check_span(jobs: list[tuple[float, float, str, str, str]], source: str) -> None:
    if problem := span_problem(jobs[0][0], jobs[-1][0]):
        raise SpecError(f"{source}: started_ts: {problem}", hint=SOURCE_HINT)
