"""Sample EventBridge payloads (tests/fixtures/events), loaded fresh for each use."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import REPO

EVENTS = REPO / "tests" / "fixtures" / "events"


def load_event(name: str, **detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event["detail"].update(detail)
    return event
