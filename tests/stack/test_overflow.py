"""The warm on-demand group plus its spot overflow group (examples/warm-spot.yaml)."""

from __future__ import annotations

import json
from typing import Any

from runnerfleet.stack.cfn import ASG_NAME, OVERFLOW_NAME, asg_arn
from runnerfleet.stack.template import synthesize
from runnerfleet.stack.userdata import bootstrap_settings, overflow_bootstrap_settings
from runnerfleet.stack.wiring import autoscaler_environment
from tests.stack.helpers import example

SPEC = example("warm-spot")
RESOURCES: dict[str, Any] = synthesize(SPEC)["Resources"]


def _env(function: str) -> dict[str, Any]:
    return dict(RESOURCES[f"{function}Function"]["Properties"]["Environment"]["Variables"])


def _statement(role: str, sid: str) -> dict[str, Any]:
    (doc,) = RESOURCES[role]["Properties"]["Policies"]
    (found,) = [s for s in doc["PolicyDocument"]["Statement"] if s["Sid"] == sid]
    return dict(found)


def test_the_warm_group_is_on_demand_and_the_overflow_is_spot() -> None:
    warm = RESOURCES["AutoScalingGroup"]["Properties"]
    assert "MixedInstancesPolicy" not in warm and warm["MaxSize"] == "4"
    assert RESOURCES["WarmPool"]["Properties"]["AutoScalingGroupName"] == {
        "Ref": "AutoScalingGroup"
    }
    spot = RESOURCES["OverflowGroup"]["Properties"]
    assert spot["AutoScalingGroupName"] == {"Fn::Sub": OVERFLOW_NAME}
    assert (spot["MinSize"], spot["MaxSize"], spot["DesiredCapacity"]) == ("0", "16", "0")
    mixed = spot["MixedInstancesPolicy"]
    assert mixed["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 0
    template = mixed["LaunchTemplate"]
    assert template["LaunchTemplateSpecification"]["LaunchTemplateId"] == {
        "Ref": "OverflowLaunchTemplate"
    }
    assert [o["InstanceType"] for o in template["Overrides"]] == [
        "m7i.large",
        "m6i.large",
        "m5.large",
    ]
    assert spot["CapacityRebalance"] is True
    assert spot["LifecycleHookSpecificationList"] == warm["LifecycleHookSpecificationList"]


def test_each_group_boots_with_its_own_hook_and_signal() -> None:
    warm, spot = bootstrap_settings(SPEC), overflow_bootstrap_settings(SPEC)
    assert (warm.asg_name, warm.cfn_resource) == ("runnerfleet-warm-spot-asg", "AutoScalingGroup")
    assert (spot.asg_name, spot.cfn_resource) == ("runnerfleet-warm-spot-overflow", "OverflowGroup")
    assert (warm.warm_pool, warm.spot_watch) == (True, False)
    assert (spot.warm_pool, spot.spot_watch) == (False, True)
    data = RESOURCES["OverflowLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    main = RESOURCES["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == main["ImageId"]  # the same (baked) image
    assert data["UserData"] != main["UserData"]


def test_both_groups_drain_and_only_their_own_are_changed() -> None:
    both = [asg_arn(), asg_arn(OVERFLOW_NAME)]
    assert _statement("AutoscalerRole", "ScaleOwnGroup")["Resource"] == both
    assert _statement("LifecycleRole", "OwnLifecycleActions")["Resource"] == both
    assert _statement("InstanceRole", "OwnLifecycleActions")["Resource"] == both
    pattern = RESOURCES["LifecycleRule"]["Properties"]["EventPattern"]["detail"]
    assert pattern["AutoScalingGroupName"] == [{"Fn::Sub": ASG_NAME}, {"Fn::Sub": OVERFLOW_NAME}]
    assert "RUNNERFLEET_GROUP" not in _env("Lifecycle")  # the rule already names both groups
    assert _env("Spot")["RUNNERFLEET_GROUP"] == "runnerfleet-warm-spot-overflow"
    assert _env("Autoscaler")["RUNNERFLEET_OVERFLOW_GROUP"] == {"Ref": "OverflowGroup"}


def test_the_autoscaler_is_told_both_groups() -> None:
    env = autoscaler_environment(SPEC)
    assert env["RUNNERFLEET_GROUP"] == "runnerfleet-warm-spot-asg"
    assert env["RUNNERFLEET_OVERFLOW_GROUP"] == "runnerfleet-warm-spot-overflow"
    assert "RUNNERFLEET_OVERFLOW_GROUP" not in autoscaler_environment(example("fast"))


def test_the_overflow_group_outlives_nothing_it_needs_to_drain() -> None:
    spot, warm = RESOURCES["OverflowGroup"], RESOURCES["AutoScalingGroup"]
    assert spot["DependsOn"] == warm["DependsOn"]
    assert {"LifecycleRule", "SpotRule", "DrainDocument"} <= set(spot["DependsOn"])


def test_alarms_and_dashboard_cover_the_overflow_group() -> None:
    at_max = RESOURCES["PendingAtMaxAlarm"]["Properties"]
    (expression,) = [m["Expression"] for m in at_max["Metrics"] if "Expression" in m]
    assert expression == "IF(pending >= 1 AND desired >= 20, 1, 0)"  # 4 warm + 16 spot
    assert "capacity.overflow.max" in at_max["AlarmDescription"]
    short = RESOURCES["OverflowShortAlarm"]["Properties"]
    groups = {
        m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
        for m in short["Metrics"]
        if "MetricStat" in m
    }
    assert groups == {"runnerfleet-warm-spot-overflow"}
    assert "capacity.overflow.types" in short["AlarmDescription"]
    body = json.loads(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])
    (widget,) = [w for w in body["widgets"] if w["properties"]["title"].startswith("Groups")]
    shown = {(m[1], m[3]) for m in widget["properties"]["metrics"]}
    assert ("GroupInServiceInstances", "runnerfleet-warm-spot-overflow") in shown
    assert ("GroupInServiceInstances", "runnerfleet-warm-spot-asg") in shown


def test_one_group_has_no_overflow_alarm_or_widget() -> None:
    resources = synthesize(example("fast"))["Resources"]
    assert "OverflowShortAlarm" not in resources
    assert "Groups" not in resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    at_max = resources["PendingAtMaxAlarm"]["Properties"]
    assert any(m.get("Expression", "").endswith(">= 8, 1, 0)") for m in at_max["Metrics"])
