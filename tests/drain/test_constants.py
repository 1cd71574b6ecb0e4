"""Lifecycle facts have one home (runnerfleet.scaling.lifecycle); the layers that cannot import it
(environment files import nothing of ours) are checked against it here."""

from __future__ import annotations

import annotated_types

from runnerfleet.asgmodel.types import HookConfig
from runnerfleet.drain import DrainLimits
from runnerfleet.envfile.models import DrainSection
from runnerfleet.scaling.lifecycle import (
    MAX_GLOBAL_TIMEOUT_S,
    MAX_HEARTBEAT_TIMEOUT_S,
    MIN_HEARTBEAT_TIMEOUT_S,
    global_timeout_s,
)


def _bounds(field: str) -> tuple[int, int]:
    meta = DrainSection.model_fields[field].metadata
    low = next(m.ge for m in meta if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in meta if isinstance(m, annotated_types.Le))
    return int(low), int(high)


def test_environment_file_bounds_are_the_lifecycle_facts() -> None:
    assert _bounds("heartbeat_timeout_s") == (MIN_HEARTBEAT_TIMEOUT_S, MAX_HEARTBEAT_TIMEOUT_S)
    assert _bounds("max_drain_s")[1] == MAX_GLOBAL_TIMEOUT_S


def test_global_timeout_is_the_smaller_of_48_hours_and_100_heartbeats() -> None:
    assert global_timeout_s(600) == 60_000
    assert global_timeout_s(7200) == 172_800
    assert HookConfig(600).global_timeout_s == DrainLimits(600, 3600).global_timeout_s == 60_000
