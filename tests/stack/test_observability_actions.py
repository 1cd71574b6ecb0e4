"""Alarms notify the environment's SNS topic when one is set, and nothing when not."""

from __future__ import annotations

from runnerfleet.envfile import load_environment
from runnerfleet.stack.observability import alarms
from tests.conftest import EXAMPLES


def test_alarms_notify_the_topic() -> None:
    spec = load_environment(EXAMPLES / "prod.yaml")
    assert spec.alarm_topic_arn
    found = alarms(spec)
    assert len(found) == 4
    for alarm in found.values():
        assert alarm["Properties"]["AlarmActions"] == [spec.alarm_topic_arn]
        assert alarm["Properties"]["OKActions"] == [spec.alarm_topic_arn]


def test_alarms_without_topic_have_no_actions() -> None:
    found = alarms(load_environment(EXAMPLES / "dev.yaml"))
    assert all("AlarmActions" not in a["Properties"] for a in found.values())
