"""Instance refresh (Stubber: moto has none) and CloudWatch Logs fetching (moto)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.logs import FleetLogs
from runnerfleet.aws.refresh import InstanceRefresh
from runnerfleet.errors import AbortedError, SpecError
from runnerfleet.ops.fleet import follow_refresh
from runnerfleet.ops.ports import SilentReporter
from tests.ops.stubs import FakeClock, client, stubbed

RID = "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b"


def refresh(status: str, percent: int = 0) -> dict[str, Any]:
    return {
        "InstanceRefreshes": [
            {
                "InstanceRefreshId": RID,
                "AutoScalingGroupName": "g",
                "Status": status,
                "PercentageComplete": percent,
                "InstancesToUpdate": 2,
            }
        ]
    }


def test_relaunch_starts_a_refresh_with_min_healthy_and_follows_it() -> None:
    asg = client("autoscaling")
    with stubbed(asg) as (a,):
        a.add_response(
            "describe_instance_refreshes", refresh("Successful", 100), {"AutoScalingGroupName": "g"}
        )
        a.add_response(
            "start_instance_refresh",
            {"InstanceRefreshId": RID},
            {
                "AutoScalingGroupName": "g",
                "Strategy": "Rolling",
                "Preferences": {
                    "MinHealthyPercentage": 75,
                    "ScaleInProtectedInstances": "Refresh",
                    "StandbyInstances": "Terminate",
                    "SkipMatching": False,
                    "InstanceWarmup": 120,
                    "MaxHealthyPercentage": 150,
                },
            },
        )
        for status, pct in (("Pending", 0), ("InProgress", 50), ("Successful", 100)):
            a.add_response(
                "describe_instance_refreshes",
                refresh(status, pct),
                {"AutoScalingGroupName": "g", "InstanceRefreshIds": [RID]},
            )
        api = InstanceRefresh(asg)
        rid = api.start("g", min_healthy=75, max_healthy=150, warmup_s=120)
        seen = Lines()
        final = follow_refresh(api, "g", rid, reporter=seen, env="dev", clock=FakeClock(0))
    assert final.status == "Successful" and len(seen.lines) == 3
    assert "50%" in seen.lines[1]


def test_relaunch_while_a_refresh_is_already_running_is_refused() -> None:
    asg = client("autoscaling")
    with stubbed(asg) as (a,):
        a.add_response("describe_instance_refreshes", refresh("InProgress", 30))
        with pytest.raises(SpecError, match="already running") as err:
            InstanceRefresh(asg).start("g", min_healthy=90)
        a.add_response("describe_instance_refreshes", {"InstanceRefreshes": []})
        a.add_client_error("start_instance_refresh", "InstanceRefreshInProgress")
        with pytest.raises(SpecError, match="already running"):
            InstanceRefresh(asg).start("g", min_healthy=90)
    assert "cancel-instance-refresh" in str(err.value)


def test_bad_min_healthy_is_refused_before_any_call() -> None:
    with pytest.raises(SpecError, match=r"outside 0\.\.100"):
        InstanceRefresh(client("autoscaling")).start("g", min_healthy=120)
    with pytest.raises(SpecError, match="at most 100 above"):
        InstanceRefresh(client("autoscaling")).start("g", min_healthy=50, max_healthy=200)


class Lines(SilentReporter):
    def __init__(self, interrupt: bool = False) -> None:
        self.lines: list[str] = []
        self.interrupt = interrupt

    def step(self, env: str, text: str) -> None:
        if self.interrupt:
            raise KeyboardInterrupt
        self.lines.append(text)


def test_ctrl_c_cancels_the_refresh() -> None:
    asg = client("autoscaling")

    with stubbed(asg) as (a,):
        a.add_response("describe_instance_refreshes", refresh("InProgress", 10))
        a.add_response(
            "cancel_instance_refresh", {"InstanceRefreshId": RID}, {"AutoScalingGroupName": "g"}
        )
        with pytest.raises(AbortedError, match="cancelled"):
            follow_refresh(
                InstanceRefresh(asg), "g", RID, reporter=Lines(True), env="dev", clock=FakeClock(0)
            )
        a.add_client_error("cancel_instance_refresh", "ActiveInstanceRefreshNotFound")
        assert InstanceRefresh(asg).cancel("g") is None


def test_lifecycle_complete_and_heartbeat_on_expired_actions() -> None:
    asg = client("autoscaling")
    token = "87654321-4321-4321-4321-210987654321"
    msg = f"No active Lifecycle Action found with token {token}"
    with stubbed(asg) as (a,):
        a.add_response(
            "record_lifecycle_action_heartbeat",
            {},
            {"LifecycleHookName": "h", "AutoScalingGroupName": "g", "LifecycleActionToken": token},
        )
        a.add_client_error("record_lifecycle_action_heartbeat", "ValidationError", msg)
        a.add_client_error("complete_lifecycle_action", "ValidationError", msg)
        actions = LifecycleActions(asg)
        assert actions.heartbeat("g", "h", token)
        assert not actions.heartbeat("g", "h", token)
        assert not actions.complete("g", "h", token, "CONTINUE")


def test_logs_for_the_fleet_and_for_one_instance() -> None:
    base = int(time.time()) - 3600  # CloudWatch refuses events older than 14 days
    with mock_aws():
        logs = boto3.client("logs", region_name="us-east-1")
        for group in ("/rf/dev/bootstrap", "/rf/dev/runner"):
            logs.create_log_group(logGroupName=group)
            for inst, t in (("i-0aaa", base), ("i-0bbb", base + 60)):
                logs.create_log_stream(logGroupName=group, logStreamName=inst)
                logs.put_log_events(
                    logGroupName=group,
                    logStreamName=inst,
                    logEvents=[
                        {"timestamp": (t + len(group)) * 1000, "message": f"{group} {inst}"}
                    ],
                )
        api = FleetLogs(logs)
        every = api.fetch(["/rf/dev/bootstrap", "/rf/dev/runner", "/rf/none"], since=0)
        one = api.fetch(["/rf/dev/bootstrap", "/rf/dev/runner"], since=0, instance_id="i-0bbb")
    assert len(every) == 4 and [x.at for x in every] == sorted(x.at for x in every)
    assert {x.stream for x in one} == {"i-0bbb"}
    assert one[0].render().endswith("i-0bbb /rf/dev/runner i-0bbb")
