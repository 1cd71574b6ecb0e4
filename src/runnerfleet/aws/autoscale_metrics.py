"""CloudWatch metrics of one autoscaler evaluation; names in ``scaling.metric_names``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runnerfleet.scaling import metric_names as mn
from runnerfleet.scaling.fleet import is_fresh
from runnerfleet.scaling.types import (
    BOOTING_STATES,
    WARM_STATES,
    FleetSnapshot,
    LifecycleState,
    ReasonCode,
    ScalingDecision,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

BATCH = 20  # PutMetricData's historical per-call limit; emulators still enforce it


def metric_values(
    snapshot: FleetSnapshot, decision: ScalingDecision, extra: Mapping[str, float]
) -> dict[str, float]:
    """Every metric's value for this evaluation; PendingJobs only when the queue is known.
    ``extra`` carries what only the caller knows (scrape failures, evaluation seconds)."""
    in_service = [i for i in snapshot.instances if i.state == LifecycleState.IN_SERVICE]
    booting = [i for i in snapshot.instances if i.state in BOOTING_STATES]
    fresh = [i for i in in_service if is_fresh(i, snapshot.now, float("inf"))]
    running = sum(i.running_jobs or 0 for i in fresh)
    capacity = sum(i.slots for i in in_service + booting)
    values = {
        mn.RUNNING_JOBS: float(running),
        mn.SLOT_CAPACITY: float(capacity),
        mn.IDLE_SLOTS: float(max(0, capacity - running)),
        mn.DESIRED_CAPACITY: float(decision.desired),
        mn.IN_SERVICE: float(len(in_service)),
        mn.BOOTING: float(len(booting)),
        mn.WARM_POOL: float(sum(1 for i in snapshot.instances if i.state in WARM_STATES)),
        mn.TERMINATED: float(len(decision.terminate)),
        **extra,
    }
    if snapshot.pending_jobs is not None:
        values[mn.PENDING_JOBS] = float(snapshot.pending_jobs)
    for code in ReasonCode:  # 0 or 1 each run, so alarms never see missing data
        values[mn.decision_metric(code)] = 1.0 if code in decision.codes else 0.0
    return values


def metric_data(values: dict[str, float], stack: str, group: str) -> list[dict[str, Any]]:
    dimensions = [{"Name": mn.DIM_STACK, "Value": stack}, {"Name": mn.DIM_ASG, "Value": group}]
    return [
        {
            "MetricName": name,
            "Dimensions": dimensions,
            "Value": value,
            "Unit": "Seconds" if name in mn.SECONDS_METRICS else "Count",
        }
        for name, value in values.items()
    ]


def publish(cloudwatch: CloudWatchClient, data: list[Any], namespace: str = mn.NAMESPACE) -> None:
    for start in range(0, len(data), BATCH):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + BATCH])


class CloudWatchSink:
    """``ops.autoscale.MetricsSink`` over CloudWatch PutMetricData."""

    def __init__(
        self, cloudwatch: CloudWatchClient, stack: str, group: str, namespace: str
    ) -> None:
        self._cloudwatch = cloudwatch
        self._stack, self._group, self._namespace = stack, group, namespace

    def publish(
        self, snapshot: FleetSnapshot, decision: ScalingDecision, extra: Mapping[str, float]
    ) -> None:
        data = metric_data(metric_values(snapshot, decision, extra), self._stack, self._group)
        publish(self._cloudwatch, data, self._namespace)
