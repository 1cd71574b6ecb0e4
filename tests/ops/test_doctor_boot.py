"""doctor's boot times: p50/p95 of the bootstrap's BootSeconds per image kind and warm start.

moto stores the metric but computes no percentile, so CloudWatch is stubbed (the Stubber
checks each request against the service model)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from runnerfleet.envfile import load_environment
from runnerfleet.ops.doctor import DoctorContext
from runnerfleet.ops.doctor_boot import KINDS, WINDOW, boot_times
from tests.conftest import EXAMPLES
from tests.ops.stubs import client, stubbed

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SPEC = load_environment(EXAMPLES / "fast.yaml")


class Clients:
    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch

    def client(self, name: str) -> Any:
        assert name == "cloudwatch"
        return self.cloudwatch


def _expect(stub: Any, kind: str, warm: str, p50: float | None, p95: float | None) -> None:
    stats = {"p50": p50, "p95": p95}
    points = [] if p50 is None else [{"Timestamp": NOW, "ExtendedStatistics": stats}]
    request = {
        "Namespace": "Runnerfleet",
        "MetricName": "BootSeconds",
        "Dimensions": [
            {"Name": "Environment", "Value": "fast"},
            {"Name": "ImageKind", "Value": kind},
            {"Name": "WarmStart", "Value": warm},
        ],
        "StartTime": NOW - WINDOW,
        "EndTime": NOW,
        "Period": 604800,
        "ExtendedStatistics": ["p50", "p95"],
    }
    stub.add_response("get_metric_statistics", {"Datapoints": points}, request)


def _run(answers: dict[tuple[str, str], tuple[float, float]]) -> list[Any]:
    cloudwatch = client("cloudwatch")
    with stubbed(cloudwatch) as (stub,):
        for kind, warm in KINDS:
            _expect(stub, kind, warm, *answers.get((kind, warm), (None, None)))
        ctx = DoctorContext(SPEC, Clients(cloudwatch), sleep=lambda _s: None)
        return list(boot_times(ctx, NOW))


def test_each_kind_with_boots_gets_its_p50_and_p95() -> None:
    found = _run({("baked", "true"): (21.4, 33.0), ("cold", "false"): (150.0, 230.0)})
    assert [(f.code, f.severity) for f in found] == [
        ("boot times baked warm", "ok"),
        ("boot times cold", "ok"),
    ]
    assert found[0].message == "baked image, warm start: p50 21 s, p95 33 s over 7 days"
    assert found[1].message == "cold image: p50 150 s, p95 230 s over 7 days"


def test_boots_close_to_the_launch_hook_timeout_are_a_warning_with_the_fix() -> None:
    (found,) = _run({("cold", "false"): (300.0, 560.0)})  # the hook times out at 600 s
    assert found.severity == "warning"
    assert "close to the launch hook's 600 s timeout" in found.message
    assert "bake the image" in found.fix and "drain.heartbeat_timeout_s" in found.fix


def test_no_boot_in_the_window_is_said_once() -> None:
    (found,) = _run({})
    assert (found.code, found.severity) == ("boot times", "ok")
    assert found.message == "no boot recorded in the last 7 days"
