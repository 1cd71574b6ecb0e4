"""Stubbed boto3 clients (botocore Stubber checks each request against the service model)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

__all__ = ["ANY", "FakeClock", "client", "group_response", "stubbed"]


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def group_response(instances: list[tuple[str, str, bool]], desired: int) -> dict[str, Any]:
    """DescribeAutoScalingGroups of group ``g``: (instance id, lifecycle state, protected)."""
    return {
        "AutoScalingGroups": [
            {
                "AutoScalingGroupName": "g",
                "MinSize": 0,
                "MaxSize": 4,
                "DesiredCapacity": desired,
                "DefaultCooldown": 300,
                "AvailabilityZones": ["us-east-1a"],
                "HealthCheckType": "EC2",
                "CreatedTime": "2026-01-01T00:00:00Z",
                "Instances": [
                    {
                        "InstanceId": i,
                        "AvailabilityZone": "us-east-1a",
                        "LifecycleState": s,
                        "HealthStatus": "Healthy",
                        "ProtectedFromScaleIn": p,
                    }
                    for i, s, p in instances
                ],
            }
        ]
    }


@contextmanager
def stubbed(*clients: Any) -> Iterator[list[Stubber]]:
    stubs = [Stubber(c) for c in clients]
    for s in stubs:
        s.activate()
    try:
        yield stubs
        for s in stubs:
            s.assert_no_pending_responses()
    finally:
        for s in stubs:
            s.deactivate()


class FakeClock:
    """Time that only moves when somebody sleeps."""

    def __init__(self, start: float) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def wall(self) -> float:
        return self.t


def metric(name: str, fleet: str = "dev") -> dict[str, Any]:
    return {
        "Namespace": "Runnerfleet",
        "MetricData": [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Fleet", "Value": fleet}],
                "Value": 1.0,
                "Unit": "Count",
            }
        ],
    }
