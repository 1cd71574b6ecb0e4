"""Accelerated time for the sandbox: one real second is ``speed`` simulated seconds."""

from __future__ import annotations

import threading
import time


class SimClock:
    """Monotonic simulated epoch time. ``sleep`` waits the real time that corresponds."""

    def __init__(self, speed: float = 60.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._real0 = time.monotonic()
        self._sim0 = time.time() if start is None else start
        self._stop = threading.Event()

    def now(self) -> float:
        return self._sim0 + (time.monotonic() - self._real0) * self.speed

    def sleep(self, sim_seconds: float) -> bool:
        """Sleep in simulated seconds; returns False at once when the clock is stopped."""
        return not self._stop.wait(max(0.0, sim_seconds) / self.speed)

    def wait(self, sim_seconds: float) -> None:
        """``sleep`` for callers that take a ``time.sleep``-shaped function."""
        self.sleep(sim_seconds)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
