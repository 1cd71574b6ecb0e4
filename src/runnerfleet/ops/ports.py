"""The small ports every operator use case shares: where progress goes, and the clock.

The CLI implements ``Reporter`` with rich (``runnerfleet.cli.deploy_render.RichReporter``);
tests record what they are told. Use cases never print.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from runnerfleet.aws.stackstatus import StackEvent


class Reporter(Protocol):
    """Progress of a use case, per environment (several run in parallel)."""

    def step(self, env: str, text: str) -> None: ...
    def begin(self, env: str, total: int) -> None: ...
    def event(self, env: str, event: StackEvent) -> None: ...
    def live(self) -> AbstractContextManager[None]:
        """While stacks change (the CLI shows progress bars)."""
        ...


class SilentReporter:
    """A Reporter that keeps nothing (callers that only want the result)."""

    def step(self, env: str, text: str) -> None:
        return None

    def begin(self, env: str, total: int) -> None:
        return None

    def event(self, env: str, event: StackEvent) -> None:
        return None

    def live(self) -> AbstractContextManager[None]:
        return nullcontext()


class Clock(Protocol):
    """Time as a port: ``now`` is monotonic seconds, ``wall`` the epoch, ``sleep`` waits."""

    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def wall(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wall(self) -> float:
        return time.time()


SYSTEM_CLOCK: Clock = SystemClock()
