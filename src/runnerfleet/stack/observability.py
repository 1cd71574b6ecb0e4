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
from runnerfleet.stack.userdata import DRAIN_NAMESPACE, asg_name, overflow_name

PERIOD = 60
DRAIN_METRICS = ("DrainCommandsSent", "DrainUnreachable", "DrainAbandoned", "DrainFailures")
SPOT_METRICS = ("SpotInterruptionWarnings", "SpotRebalanceRecommendations", "LostJobsRetried")
GROUP_NAMESPACE = "AWS/AutoScaling"  # the groups' own metrics (MetricsCollection)
SHORT_PERIODS = 10  # minutes the spot group may stay short of its desired capacity


def fleet_max(spec: FleetSpec) -> int:
    """The most instances the autoscaler can ask for: both groups with a spot overflow (the
    desired capacity it publishes is the fleet's, ``scaling.overflow.WarmFirst``)."""
    overflow = spec.capacity.overflow
    return spec.capacity.max + (overflow.max if overflow else 0)


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
    periods, top = mn.ALARM_PENDING_JOBS[3], fleet_max(spec)
    where, fix = f"the group is at its maximum ({top})", "raise capacity.max"
    if spec.capacity.overflow is not None:
        where = (
            f"both groups are at their maximum ({spec.capacity.max} + {top - spec.capacity.max})"
        )
        fix = "raise capacity.overflow.max (or capacity.max)"
    return _alarm(
        f"Jobs have been queued for {periods} minutes while {where}: {fix} or look for stuck jobs",
        {
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Metrics": [
                _metric_stat(spec, "pending", mn.PENDING_JOBS, "Minimum"),
                _metric_stat(spec, "desired", mn.DESIRED_CAPACITY, "Minimum"),
                {
                    "Id": "queuedatmax",
                    "Label": "queued while at max size",
                    "Expression": f"IF(pending >= 1 AND desired >= {top}, 1, 0)",
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


def _group_stat(metric_id: str, group: str, name: str) -> Json:
    return {
        "Id": metric_id,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": GROUP_NAMESPACE,
                "MetricName": name,
                "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group}],
            },
            "Period": PERIOD,
            "Stat": "Minimum",
        },
    }


def _overflow_short(spec: FleetSpec) -> Json:
    """The spot group short of its desired capacity for a while: no spot capacity to be had."""
    group = overflow_name(spec)
    return _alarm(
        f"The spot group {group} has had fewer instances than it asked for during "
        f"{SHORT_PERIODS} minutes: EC2 has no spot capacity for its types here now; jobs wait "
        "meanwhile. Add instance types to capacity.overflow.types (more types, fewer gaps)",
        {
            "EvaluationPeriods": SHORT_PERIODS,
            "DatapointsToAlarm": SHORT_PERIODS,
            "Metrics": [
                _group_stat("desired", group, "GroupDesiredCapacity"),
                _group_stat("total", group, "GroupTotalInstances"),
                {
                    "Id": "short",
                    "Label": "instances the spot group is short of",
                    "Expression": "desired - total",
                    "ReturnData": True,
                },
            ],
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
    overflow = {"OverflowShortAlarm": _overflow_short(spec)} if spec.capacity.overflow else {}
    return {
        **overflow,
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
    if spec.capacity.overflow is not None:
        widgets.append(_groups_widget(spec))
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def _groups_widget(spec: FleetSpec) -> Json:
    """Each group's own desired and in-service count: the warm one and the spot one."""
    metrics = [
        [GROUP_NAMESPACE, name, "AutoScalingGroupName", group]
        for group in (asg_name(spec), overflow_name(spec))
        for name in ("GroupDesiredCapacity", "GroupInServiceInstances")
    ]
    return _widget("Groups: warm (on-demand) and overflow (spot)", metrics, 0, 12)


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
