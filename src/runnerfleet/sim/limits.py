"""How large a workload the simulator accepts: beyond these, input is refused, not simulated.

The limits are generous for real CI and keep every run within seconds to a minute: a year of
a busy fleet is a few hundred thousand jobs; a job timeout is hours. A value past a limit is
almost always a unit mistake (milliseconds for seconds) or a hostile file (a small gzip that
inflates to millions of rows), so the error says which line and what to fix.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from runnerfleet.errors import SpecError

MAX_JOBS = 2_000_000  # rows of a trace
MAX_DURATION_S = 7 * 86_400.0  # one job
MAX_SPAN_S = 2 * 366 * 86_400.0  # first arrival to last arrival
_CHUNK = 1 << 20


def check_row_count(path: Path, hint: str) -> None:
    """Refuse a file with more than ``MAX_JOBS`` rows before parsing any of it.

    Counts newlines of the decompressed bytes (an upper bound of the rows) and stops at the
    limit, so a gzip bomb is refused after reading ``MAX_JOBS`` lines, in well under a second.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    lines = 0
    with opener(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            lines += chunk.count(b"\n")
            if lines > MAX_JOBS + 1:  # the header line
                raise SpecError(
                    f"{path}: more than {MAX_JOBS:,} rows; the simulator takes at most "
                    f"{MAX_JOBS:,} jobs per trace",
                    hint="split the trace by time into shorter ones, or sample it; " + hint,
                )


def duration_problem(duration: float) -> str | None:
    if duration <= MAX_DURATION_S:
        return None
    return (
        f"duration {duration:g} s is longer than the limit of {MAX_DURATION_S:,.0f} s "
        f"({MAX_DURATION_S / 86_400:g} days); durations are seconds, not milliseconds"
    )


def span_problem(first: float, arrival: float) -> str | None:
    if arrival - first <= MAX_SPAN_S:
        return None
    return (
        f"arrival {arrival:g} is {(arrival - first) / 86_400:,.0f} days after the first job; "
        f"a trace may span at most {MAX_SPAN_S / 86_400:g} days: arrivals are epoch seconds, "
        "split longer traces"
    )
