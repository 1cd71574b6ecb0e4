"""Wall-clock medians shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median milliseconds of ``runs`` calls of ``fn``, timed one by one."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def replace_section(text: str, section: str) -> str:
    """``text`` (docs/benchmarks.md) with the section headed like ``section``'s first line
    replaced by ``section``, or appended when there is none yet."""
    heading = section.split("\n", 1)[0]
    start = text.find(heading + "\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + 1)
    tail = "" if end < 0 else text[end + 1 :]
    return text[:start] + section + ("\n" + tail if tail else "")
