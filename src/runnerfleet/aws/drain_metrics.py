"""Counting drain and spot events as CloudWatch metrics (boto3 adapter, client passed in)."""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger("runnerfleet.drain")


class CloudWatchCounter:
    """One data point per call, unit Count, dimensioned by fleet (stack) name."""

    def __init__(self, cloudwatch: Any, namespace: str, fleet: str) -> None:
        self._cw = cloudwatch
        self._namespace = namespace
        self._fleet = fleet

    def count(self, name: str, value: float = 1.0) -> None:
        try:
            self._cw.put_metric_data(
                Namespace=self._namespace,
                MetricData=[
                    {
                        "MetricName": name,
                        "Dimensions": [{"Name": "Fleet", "Value": self._fleet}],
                        "Value": value,
                        "Unit": "Count",
                    }
                ],
            )
        except (ClientError, BotoCoreError) as exc:
            # a lost metric must not hide the drain; the log line still records the event
            log.error('{"event": "metric_failed", "metric": "%s", "error": "%s"}', name, exc)
