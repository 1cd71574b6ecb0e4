"""Several environments at once: each on its own thread, each failure its own result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from runnerfleet.errors import RunnerfleetError

T = TypeVar("T")
R = TypeVar("R")
MAX_PARALLEL = 8


def run_parallel(items: Sequence[T], work: Callable[[T], R]) -> list[R | RunnerfleetError]:
    """``work`` for each item on a thread pool; a RunnerfleetError becomes that item's result."""

    def guarded(item: T) -> R | RunnerfleetError:
        try:
            return work(item)
        except RunnerfleetError as exc:
            return exc

    if len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(items))) as pool:
        return list(pool.map(guarded, items))
