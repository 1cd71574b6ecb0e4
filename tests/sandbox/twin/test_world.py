"""The world: one tick advances the groups, applies every effect, fires schedules; bounded."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runnerfleet.asgmodel.types import EventKind, FleetEvent
from runnerfleet.sandbox.twin.world import (
    GroupEvent,
    LoopbackInstances,
    NoGroups,
    Twin,
    TwinSettings,
    WorldLoop,
    loopback_address,
)


class TwoEvents(NoGroups):
    def __init__(self) -> None:
        self.ticked: list[float] = []

    def tick(self, now: float) -> list[GroupEvent]:
        self.ticked.append(now)
        return [
            GroupEvent("g", FleetEvent(now, EventKind.LAUNCHING, "i-1")),
            GroupEvent("g", FleetEvent(now, EventKind.TERMINATED, "i-2")),
        ]


class Schedules:
    def __init__(self) -> None:
        self.ticks: list[float] = []

    def publish(self, event: Mapping[str, Any]) -> None:
        raise AssertionError("nothing is published in this test")

    def tick(self, now: float) -> None:
        self.ticks.append(now)


def settings(tmp_path: Path, tick_s: float = 0.5) -> TwinSettings:
    return TwinSettings(region="us-east-1", account_id="123456789012", home=tmp_path, tick_s=tick_s)


def test_a_tick_applies_every_effect_even_after_one_fails(tmp_path: Path) -> None:
    seen: list[str] = []

    def broken(event: GroupEvent) -> None:
        raise RuntimeError("effects are best effort")

    def record(event: GroupEvent) -> None:
        seen.append(event.event.instance_id)

    bus = Schedules()
    twin = Twin(settings(tmp_path), groups=TwoEvents(), bus=bus, clock=lambda: 42.0)
    twin.effects.extend([broken, record])
    twin.tick()
    assert seen == ["i-1", "i-2"]
    assert bus.ticks == [42.0] and twin.ticks == 1


def test_the_loop_turns_until_stopped(tmp_path: Path) -> None:
    groups = TwoEvents()
    twin = Twin(settings(tmp_path, tick_s=0.02), groups=groups)
    loop = WorldLoop(twin)
    loop.start()
    deadline = time.monotonic() + 5
    while len(groups.ticked) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop.stop()
    turns = len(groups.ticked)
    time.sleep(0.1)
    assert turns >= 3 and len(groups.ticked) == turns


def test_close_runs_closers_newest_first_and_survives_failures(tmp_path: Path) -> None:
    order: list[str] = []
    twin = Twin(settings(tmp_path))

    def fails() -> None:
        order.append("fails")
        raise RuntimeError("x")

    twin.closers.extend([lambda: order.append("first"), fails])
    twin.close()
    assert order == ["fails", "first"]


def test_instances_get_their_own_loopback_address_never_127_0_0_1() -> None:
    assert loopback_address(1) == "127.0.100.1"
    assert loopback_address(250) == "127.0.100.250"
    assert loopback_address(251) == "127.0.101.1"
    runtime = LoopbackInstances()
    first = runtime.start("i-a", "g", {}, "")
    assert runtime.start("i-b", "g", {}, "") != first
    assert runtime.start("i-a", "g", {}, "") == first == runtime.address_of("i-a")
    assert runtime.address_of("i-unknown") is None
