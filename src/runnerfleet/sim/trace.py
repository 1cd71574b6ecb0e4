"""Workload traces: one CI job per CSV row, loaded into parallel tuples.

Format (header required, columns in any order, extra columns ignored)::

    arrival_ts,duration_s,pipeline_id,job_name,status
    1757006751,153,17471820441,"macOS 14 native, arm64, fuzz",FAILED

``arrival_ts`` (epoch seconds, may be fractional, non-decreasing) and ``duration_s``
(seconds >= 0) are required, within ``runnerfleet.sim.limits``; ``pipeline_id``,
``job_name`` and ``status`` are optional.
Files ending in ``.gz`` are read through gzip. Every problem found is reported with its
line and column, not only the first one.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from runnerfleet.errors import SpecError
from runnerfleet.sim.limits import check_row_count, duration_problem, span_problem

REQUIRED_COLUMNS = ("arrival_ts", "duration_s")
OPTIONAL_COLUMNS = ("pipeline_id", "job_name", "status")
HEADER = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_PROBLEMS = 20  # enough to see the pattern without flooding the terminal
FORMAT_HINT = (
    "a trace is a CSV with a header line 'arrival_ts,duration_s[,pipeline_id,job_name,status]'; "
    "see docs/simulator.md, or build one with `runnerfleet trace convert` or `trace synth`"
)


@dataclass(frozen=True, slots=True)
class Trace:
    """A workload: job ``i`` arrives at ``arrivals[i]`` and runs ``durations[i]`` seconds."""

    arrivals: tuple[float, ...]
    durations: tuple[float, ...]
    pipeline_ids: tuple[str, ...]
    job_names: tuple[str, ...]
    statuses: tuple[str, ...]
    source: str = ""

    def __len__(self) -> int:
        return len(self.arrivals)

    @property
    def start(self) -> float:
        return self.arrivals[0] if self.arrivals else 0.0

    @property
    def end(self) -> float:
        """When the last job would finish with zero wait."""
        return max((a + d for a, d in zip(self.arrivals, self.durations, strict=True)), default=0.0)

    @property
    def job_seconds(self) -> float:
        return math.fsum(self.durations)


def make_trace(
    arrivals: Iterable[float],
    durations: Iterable[float],
    *,
    pipeline_ids: Iterable[str] | None = None,
    job_names: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    source: str = "",
) -> Trace:
    """Build a trace in memory (tests, the generator); validates like the loader does."""
    arr = tuple(float(a) for a in arrivals)
    dur = tuple(float(d) for d in durations)
    if len(arr) != len(dur):
        raise SpecError("arrivals and durations differ in length", hint="give one duration per job")
    problems = [f"job {i + 1}: {msg}" for i, msg in _value_problems(arr, dur)]
    if problems:
        raise SpecError("invalid trace", problems=problems[:MAX_PROBLEMS], hint=FORMAT_HINT)
    n = len(arr)
    return Trace(
        arrivals=arr,
        durations=dur,
        pipeline_ids=_column(pipeline_ids, n),
        job_names=_column(job_names, n),
        statuses=_column(statuses, n),
        source=source,
    )


def _column(values: Iterable[str] | None, n: int) -> tuple[str, ...]:
    out = tuple(values) if values is not None else ("",) * n
    if len(out) != n:
        raise SpecError("an optional column differs in length from arrivals", hint="one per job")
    return out


def _value_problems(arr: tuple[float, ...], dur: tuple[float, ...]) -> Iterator[tuple[int, str]]:
    prev = -math.inf
    first = arr[0] if arr else 0.0
    for i, (a, d) in enumerate(zip(arr, dur, strict=True)):
        if not math.isfinite(a) or not math.isfinite(d):
            yield i, "arrival and duration must be finite numbers"
        elif d < 0:
            yield i, f"negative duration {d:g}"
        elif a < prev:
            yield i, f"arrival {a:g} is before the previous job's {prev:g}"
        elif problem := duration_problem(d) or span_problem(first, a):
            yield i, problem
        prev = max(prev, a)


def open_text(path: Path) -> TextIO:
    """Open a CSV for reading, through gzip when the name ends in .gz."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def load_trace(path: str | Path) -> Trace:
    """Read a trace file; raises SpecError listing every problem with its line and column."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"trace file {p} does not exist", hint=FORMAT_HINT)
    try:
        check_row_count(p, FORMAT_HINT)
        with open_text(p) as fh:
            return parse_trace(fh, source=str(p))
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile, csv.Error) as exc:
        raise SpecError(f"cannot read trace {p}: {exc}", hint=FORMAT_HINT) from exc


def parse_trace(lines: Iterable[str], *, source: str = "<trace>") -> Trace:
    """Parse CSV text (an open file or a list of lines) into a Trace."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise SpecError(f"{source}: line 1: the file is empty", hint=FORMAT_HINT)
    index = _header_index(header, source)
    parser = _RowParser(index, len(header), source)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            parser.add(reader.line_num, row)
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise SpecError(f"{source}: line {reader.line_num}: {exc}", hint=FORMAT_HINT) from exc
    return parser.finish()


def _header_index(header: list[str], source: str) -> dict[str, int]:
    names = [cell.strip().lower().lstrip("\ufeff") for cell in header]
    index = {name: i for i, name in reversed(list(enumerate(names)))}
    missing = [c for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        problems = [
            f"line 1, column {len(names) + k + 1}: missing required column '{name}'"
            for k, name in enumerate(missing)
        ]
        raise SpecError(
            f"{source}: the header lacks required columns (it has: {', '.join(names)})",
            problems=problems,
            hint=FORMAT_HINT,
        )
    return index


class _RowParser:
    """Accumulates rows column by column and collects every problem with its position."""

    def __init__(self, index: dict[str, int], width: int, source: str) -> None:
        self.index = index
        self.width = width
        self.source = source
        self.problems: list[str] = []
        self.columns: dict[str, list[str]] = {c: [] for c in OPTIONAL_COLUMNS}
        self.arrivals: list[float] = []
        self.durations: list[float] = []
        self.prev_line = 0

    def problem(self, line: int, column: str | None, text: str) -> None:
        if column is None:
            self.problems.append(f"line {line}: {text}")
        else:
            where = f"column {self.index[column] + 1} ({column})"
            self.problems.append(f"line {line}, {where}: {text}")

    def number(self, line: int, row: list[str], column: str) -> float | None:
        i = self.index[column]
        cell = row[i].strip() if i < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            shown = repr(cell) if cell else "an empty value"
            self.problem(line, column, f"{shown} is not a number")
            return None
        if not math.isfinite(value):
            self.problem(line, column, f"{cell!r} is not a finite number")
            return None
        return value

    def add(self, line: int, row: list[str]) -> None:
        if len(row) < self.width:
            self.problem(line, None, f"expected {self.width} fields, found {len(row)}")
            return
        arrival = self.number(line, row, "arrival_ts")
        duration = self.number(line, row, "duration_s")
        if duration is not None and duration < 0:
            self.problem(line, "duration_s", f"negative duration {duration:g}; must be >= 0")
        elif duration is not None and (problem := duration_problem(duration)):
            self.problem(line, "duration_s", problem)
        if (
            arrival is not None
            and self.arrivals
            and (problem := span_problem(self.arrivals[0], arrival))
        ):
            self.problem(line, "arrival_ts", problem)
        if arrival is not None and self.arrivals and arrival < self.arrivals[-1]:
            self.problem(
                line,
                "arrival_ts",
                f"arrival {arrival:g} is before {self.arrivals[-1]:g} on line {self.prev_line}; "
                "sort the file by arrival_ts",
            )
        if arrival is None or duration is None:
            return
        self.arrivals.append(arrival if not self.arrivals else max(arrival, self.arrivals[-1]))
        self.durations.append(max(duration, 0.0))
        self.prev_line = line
        for name, values in self.columns.items():
            i = self.index.get(name)
            values.append(row[i].strip() if i is not None else "")

    def finish(self) -> Trace:
        if self.problems:
            shown = self.problems[:MAX_PROBLEMS]
            more = len(self.problems) - len(shown)
            if more:
                shown.append(f"... and {more} more")
            raise SpecError(
                f"{self.source}: {len(self.problems)} problem(s) in the trace",
                problems=shown,
                hint=FORMAT_HINT,
            )
        if not self.arrivals:
            raise SpecError(f"{self.source}: line 2: no jobs after the header", hint=FORMAT_HINT)
        return Trace(
            arrivals=tuple(self.arrivals),
            durations=tuple(self.durations),
            pipeline_ids=tuple(self.columns["pipeline_id"]),
            job_names=tuple(self.columns["job_name"]),
            statuses=tuple(self.columns["status"]),
            source=self.source,
        )


def write_trace(path: str | Path, trace: Trace) -> None:
    """Write a trace in the documented format (gzip when the name ends in .gz)."""
    p = Path(path)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for row in zip(
        trace.arrivals,
        trace.durations,
        trace.pipeline_ids,
        trace.job_names,
        trace.statuses,
        strict=True,
    ):
        writer.writerow((_num(row[0]), _num(row[1]), *row[2:]))
    data = buf.getvalue().encode("utf-8")
    # mtime=0 keeps the bytes deterministic for a given trace
    body = gzip.compress(data, mtime=0) if p.suffix == ".gz" else data
    try:
        p.write_bytes(body)
    except OSError as exc:
        raise SpecError(f"cannot write {p}: {exc.strerror or exc}",
                        hint="choose a path in a directory that exists and that you can write to",
                        ) from exc  # fmt: skip


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.3f}".rstrip("0")
