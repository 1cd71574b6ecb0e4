"""The lifecycle-action stand-in plays only the software no part of the twin runs yet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.asgmodel.types import EventKind, FleetEvent
from runnerfleet.sandbox.twin.effects import ActionStandIn
from runnerfleet.sandbox.twin.world import GroupEvent, NoGroups, Twin, TwinSettings


class Completions(NoGroups):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    def call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append((action, params))
        return {}


class RealInstances:
    """Stands for the instance runtime: the bootstrap runs and completes launch actions."""

    def start(self, instance_id: str, group_name: str, data: Mapping[str, Any], ud: str) -> str:
        return "127.0.100.1"

    def stop(self, instance_id: str) -> None:
        return None

    def address_of(self, instance_id: str) -> str | None:
        return None

    def spot_notice(self, instance_id: str, at: float) -> None:
        return None


class DeliveringBus:
    """Stands for EventBridge delivery: the drain function completes terminate actions."""

    def publish(self, event: Mapping[str, Any]) -> None:
        return None

    def tick(self, now: float) -> None:
        return None


def _action(kind: EventKind) -> GroupEvent:
    return GroupEvent("g", FleetEvent(1.0, kind, "i-1"), hook_name="h", token="t" * 36)


def _completed(twin: Twin, kind: EventKind) -> list[str]:
    groups = Completions()
    twin.groups = groups
    ActionStandIn(twin)(_action(kind))
    return [str(params["LifecycleActionResult"]) for _, params in groups.calls]


@pytest.fixture
def settings(tmp_path: Path) -> TwinSettings:
    return TwinSettings(region="us-east-1", account_id="123456789012", home=tmp_path)


def test_with_no_op_ports_both_actions_are_continued(settings: TwinSettings) -> None:
    twin = Twin(settings)
    assert _completed(twin, EventKind.LAUNCH_ACTION) == ["CONTINUE"]
    assert _completed(twin, EventKind.TERMINATE_ACTION) == ["CONTINUE"]
    assert _completed(twin, EventKind.IN_SERVICE) == []


def test_a_running_instance_runtime_completes_its_own_launch(settings: TwinSettings) -> None:
    twin = Twin(settings, instances=RealInstances())
    assert _completed(twin, EventKind.LAUNCH_ACTION) == []
    assert _completed(twin, EventKind.TERMINATE_ACTION) == ["CONTINUE"]


def test_a_delivering_bus_leaves_the_terminate_action_to_the_drain(
    settings: TwinSettings,
) -> None:
    twin = Twin(settings, instances=RealInstances(), bus=DeliveringBus())
    assert _completed(twin, EventKind.TERMINATE_ACTION) == []


def test_held_actions_wait_for_the_client(settings: TwinSettings) -> None:
    twin = Twin(replace(settings, hold_actions=True))
    assert _completed(twin, EventKind.LAUNCH_ACTION) == []
    assert _completed(twin, EventKind.TERMINATE_ACTION) == []
