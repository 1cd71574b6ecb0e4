"""CloudWatch dashboard and alarms, from the names the handlers publish.

Alarms carry no actions yet (the environment file has no notification topic); they show in the
console and in ``runnerfleet status``. moto's CloudFormation skips alarms, so nothing in the
template reads an attribute of one.
"""

from __future__ import annotations

import json
from typing import Any

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.scaling import metric_names as mn
from runnerfleet.stack.cfn import Json, getatt, sub
from runnerfleet.stack.userdata import DRAIN_NAMESPACE, asg_name

PERIOD = 60
DRAIN_METRICS = ("DrainCommandsSent", "DrainUnreachable", "DrainAbandoned", "DrainFailures")
SPOT_METRICS = ("SpotInterruptionWarnings", "SpotRebalanceRecommendations", "LostJobsRetried")


def _scaling_dims(spec: FleetSpec) -> list[Json]:
    return [
        {"Name": mn.DIM_STACK, "Value": spec.stack},
        {"Name": mn.DIM_ASG, "Value": asg_name(spec)},
    ]


def _metric_stat(spec: FleetSpec, metric_id: str, name: str, stat: str) -> Json:
    return {
        "Id": metric_id,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": mn.NAMESPACE,
                "MetricName": name,
                "Dimensions": _scaling_dims(spec),
            },
            "Period": PERIOD,
            "Stat": stat,
        },
    }


def _alarm(description: str, props: Json) -> Json:
    base: Json = {
        "AlarmDescription": description,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1,
        "TreatMissingData": "notBreaching",
    }
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {**base, **props}}


def _pending_at_max(spec: FleetSpec) -> Json:
    periods = mn.ALARM_PENDING_JOBS[3]
    return _alarm(
        f"Jobs have been queued for {periods} minutes while the group is at its maximum "
        f"({spec.capacity.max}): raise capacity.max or look for stuck jobs",
        {
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Metrics": [
                _metric_stat(spec, "pending", mn.PENDING_JOBS, "Minimum"),
                _metric_stat(spec, "desired", mn.DESIRED_CAPACITY, "Minimum"),
                {
                    "Id": "queuedatmax",
                    "Label": "queued while at max size",
                    "Expression": f"IF(pending >= 1 AND desired >= {spec.capacity.max}, 1, 0)",
                    "ReturnData": True,
                },
            ],
        },
    )


def _scrape_failures(spec: FleetSpec) -> Json:
    name, stat, _, periods = mn.ALARM_SCRAPE_FAILURES
    return _alarm(
        f"Runner metrics could not be read for {periods} minutes: those instances count as "
        "busy (no scale-in); check the runners' port 9252 and the autoscaler's security group",
        {
            "Namespace": mn.NAMESPACE,
            "MetricName": name,
            "Dimensions": _scaling_dims(spec),
            "Statistic": stat,
            "Period": PERIOD,
            "EvaluationPeriods": periods,
        },
    )


def _simple(description: str, namespace: str, metric: str, dims: list[Json], stat: str) -> Json:
    return _alarm(
        description,
        {
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dims,
            "Statistic": stat,
            "Period": 300,
            "EvaluationPeriods": 1,
        },
    )


def alarms(spec: FleetSpec) -> dict[str, Json]:
    found = _alarms(spec)
    if spec.alarm_topic_arn:  # notify on the way into ALARM and back to OK
        for alarm in found.values():
            alarm["Properties"]["AlarmActions"] = [spec.alarm_topic_arn]
            alarm["Properties"]["OKActions"] = [spec.alarm_topic_arn]
    return found


def _alarms(spec: FleetSpec) -> dict[str, Json]:
    queue = [{"Name": "QueueName", "Value": getatt("DeadLetterQueue", "QueueName")}]
    return {
        "PendingAtMaxAlarm": _pending_at_max(spec),
        "ScrapeFailuresAlarm": _scrape_failures(spec),
        "DrainFailuresAlarm": _simple(
            "A drain failed or was abandoned: see the lifecycle function's log group",
            DRAIN_NAMESPACE,
            "DrainFailures",
            [{"Name": "Fleet", "Value": spec.stack}],
            "Sum",
        ),
        "DeadLetterAlarm": _simple(
            "Events were not delivered or not processed (lifecycle, spot): read the dead-letter "
            "queue, then drain the named instances by hand",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            queue,
            "Maximum",
        ),
    }


def _widget(title: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Maximum") -> Json:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": PERIOD,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def dashboard_body(spec: FleetSpec) -> str:
    dims = [mn.DIM_STACK, spec.stack, mn.DIM_ASG, asg_name(spec)]

    def scaling(*names: str) -> list[list[Any]]:
        return [[mn.NAMESPACE, n, *dims] for n in names]

    def drain(*names: str) -> list[list[Any]]:
        return [[DRAIN_NAMESPACE, n, "Fleet", spec.stack] for n in names]

    widgets = [
        _widget(
            "Jobs", scaling(mn.RUNNING_JOBS, mn.PENDING_JOBS, mn.SLOT_CAPACITY, mn.IDLE_SLOTS), 0, 0
        ),
        _widget(
            "Instances",
            scaling(mn.DESIRED_CAPACITY, mn.IN_SERVICE, mn.BOOTING, mn.WARM_POOL, mn.TERMINATED),
            12,
            0,
        ),
        _widget(
            "Scrape failures and evaluation time",
            scaling(mn.SCRAPE_FAILURES, mn.EVALUATION_SECONDS),
            0,
            6,
        ),
        _widget("Drains and spot notices", drain(*DRAIN_METRICS, *SPOT_METRICS), 12, 6, "Sum"),
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def dashboard(spec: FleetSpec) -> dict[str, Json]:
    body = dashboard_body(spec)
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                # Dashboard names are global to the account: the region keeps two apart.
                "DashboardName": sub("${AWS::StackName}-${AWS::Region}"),
                "DashboardBody": sub(body),
            },
        }
    }
