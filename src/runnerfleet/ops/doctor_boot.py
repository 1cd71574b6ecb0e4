"""Doctor: how long the fleet's recent boots took, from the bootstrap's own metric.

Every instance publishes ``BootSeconds`` (launch to InService) with the dimensions
Environment, ImageKind (cold / baked) and WarmStart (true / false); see docs/image.md. The
check reads p50 and p95 of the last week per image kind and warm start, and warns when the
slowest boots come close to the launch hook's timeout: there the group abandons the launch
and starts again, and every job waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from runnerfleet.ops.doctor import Check, DoctorContext, Finding, ok, warn
from runnerfleet.stack.bootstrap import BOOT_METRIC
from runnerfleet.stack.userdata import DRAIN_NAMESPACE

WINDOW = timedelta(days=7)
KINDS = (("baked", "true"), ("baked", "false"), ("cold", "true"), ("cold", "false"))
NEAR_TIMEOUT = 0.8  # p95 above this share of the launch hook's timeout is a warning


def boot_times(ctx: DoctorContext, now: datetime | None = None) -> Iterator[Finding]:
    cloudwatch = ctx.clients.client("cloudwatch")
    end = now or datetime.now(UTC)
    seen = False
    for kind, warm in KINDS:
        found = _percentiles(cloudwatch, ctx.spec.name, kind, warm, end)
        if found is not None:
            seen = True
            yield _finding(ctx, kind, warm, *found)
    if not seen:
        yield ok("boot times", f"no boot recorded in the last {WINDOW.days} days")


def _percentiles(
    cloudwatch: Any, environment: str, kind: str, warm: str, end: datetime
) -> tuple[float, float] | None:
    dimensions = [
        {"Name": "Environment", "Value": environment},
        {"Name": "ImageKind", "Value": kind},
        {"Name": "WarmStart", "Value": warm},
    ]
    answer = cloudwatch.get_metric_statistics(
        Namespace=DRAIN_NAMESPACE,
        MetricName=BOOT_METRIC,
        Dimensions=dimensions,
        StartTime=end - WINDOW,
        EndTime=end,
        Period=int(WINDOW.total_seconds()),
        ExtendedStatistics=["p50", "p95"],
    )
    stats = [p.get("ExtendedStatistics") or {} for p in answer.get("Datapoints", [])]
    stats = [s for s in stats if "p50" in s and "p95" in s]
    if not stats:
        return None
    return float(stats[0]["p50"]), float(stats[0]["p95"])


def _finding(ctx: DoctorContext, kind: str, warm: str, p50: float, p95: float) -> Finding:
    code = f"boot times {kind}{' warm' if warm == 'true' else ''}"
    what = (
        f"{kind} image{', warm start' if warm == 'true' else ''}: p50 {p50:.0f} s, "
        f"p95 {p95:.0f} s over {WINDOW.days} days"
    )
    limit = ctx.spec.drain.heartbeat_timeout_s
    if p95 < NEAR_TIMEOUT * limit:
        return ok(code, what)
    return warn(
        code,
        f"{what}: the slowest boots come close to the launch hook's {limit} s timeout",
        "bake the image (image: section, docs/image.md) or raise drain.heartbeat_timeout_s",
    )


CHECKS: list[tuple[str, Check]] = [("boot times", boot_times)]
