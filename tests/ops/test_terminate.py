"""Terminate through the ASG: not in this fleet, already terminating, and following the drain."""

from __future__ import annotations

from typing import Any

import pytest

from runnerfleet.aws.lifecycle import LifecycleActions
from runnerfleet.aws.lifecycle_ssm import DrainCommands
from runnerfleet.cli.main import main
from runnerfleet.drain import CommandStatus
from runnerfleet.errors import AwsError, SpecError
from runnerfleet.ops.terminate import WatchStep, watch_drain
from tests.conftest import EXAMPLES
from tests.ops.stubs import FakeClock, client, group_response, stubbed

A, B = "i-0000000000000000a", "i-0000000000000000b"
CMD = "c0ffee00-1111-2222-3333-444455556666"


def group(*instances: tuple[str, str]) -> dict[str, Any]:
    return group_response([(i, s, False) for i, s in instances], desired=2)


def test_an_instance_not_in_this_fleet_is_refused() -> None:
    asg = client("autoscaling")
    with stubbed(asg) as (a,):
        a.add_response("describe_auto_scaling_groups", group((A, "InService")))
        with pytest.raises(SpecError, match="not in this fleet") as err:
            LifecycleActions(asg).terminate("g", B, decrement=True)
    assert "plain EC2 termination is refused" in str(err.value)


def test_an_instance_already_terminating_is_refused() -> None:
    asg = client("autoscaling")
    with stubbed(asg) as (a,):
        a.add_response("describe_auto_scaling_groups", group((A, "Terminating:Wait")))
        with pytest.raises(SpecError, match="already terminating"):
            LifecycleActions(asg).terminate("g", A, decrement=True)


def test_terminate_goes_through_the_group() -> None:
    asg = client("autoscaling")
    with stubbed(asg) as (a,):
        a.add_response("describe_auto_scaling_groups", group((A, "InService")))
        a.add_response(
            "terminate_instance_in_auto_scaling_group",
            {
                "Activity": {
                    "ActivityId": CMD,
                    "AutoScalingGroupName": "g",
                    "Cause": "user request",
                    "StartTime": "2026-01-01T00:00:00Z",
                    "StatusCode": "InProgress",
                    "Description": f"Terminating EC2 instance: {A}",
                }
            },
            {"InstanceId": A, "ShouldDecrementDesiredCapacity": False},
        )
        what = LifecycleActions(asg).terminate("g", A, decrement=False)
    assert what == f"Terminating EC2 instance: {A}"


def _instance(state: str | None) -> dict[str, Any]:
    if state is None:
        return {"AutoScalingInstances": []}
    return {
        "AutoScalingInstances": [
            {
                "InstanceId": A,
                "AutoScalingGroupName": "g",
                "AvailabilityZone": "us-east-1a",
                "LifecycleState": state,
                "HealthStatus": "HEALTHY",
                "ProtectedFromScaleIn": False,
            }
        ]
    }


def _commands(status: str) -> tuple[dict[str, Any], dict[str, Any]]:
    listing = {
        "Commands": [
            {
                "CommandId": CMD,
                "DocumentName": "dev-drain",
                "RequestedDateTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    return listing, {"CommandId": CMD, "InstanceId": A, "Status": status, "ResponseCode": -1}


def test_watch_shows_each_change_until_the_instance_is_gone() -> None:
    asg, ssm = client("autoscaling"), client("ssm")
    clock, seen = FakeClock(0.0), []
    with stubbed(asg, ssm) as (a, s):
        for state, status in (
            ("Terminating:Wait", "Pending"),
            ("Terminating:Wait", "InProgress"),
            ("Terminating:Wait", "InProgress"),
            ("Terminating:Proceed", "Success"),
        ):
            a.add_response("describe_auto_scaling_instances", _instance(state))
            listing, inv = _commands(status)
            s.add_response("list_commands", listing, {"InstanceId": A, "MaxResults": 50})
            s.add_response("get_command_invocation", inv)
        a.add_response("describe_auto_scaling_instances", _instance(None))
        last = watch_drain(
            LifecycleActions(asg),
            DrainCommands(ssm),
            instance_id=A,
            document="dev-drain",
            clock=clock,
            on_step=seen.append,
            timeout_s=600,
        )
    assert [(w.state, w.command) for w in seen] == [
        ("Terminating:Wait", CommandStatus.PENDING),
        ("Terminating:Wait", CommandStatus.RUNNING),
        ("Terminating:Proceed", CommandStatus.SUCCEEDED),
        (None, None),
    ]
    assert last.state is None and "gone" in last.line()
    assert isinstance(seen[0], WatchStep)


def test_watch_gives_up_after_its_timeout() -> None:
    asg = client("autoscaling")
    clock = FakeClock(0.0)
    with stubbed(asg) as (a,):
        for _ in range(2):
            a.add_response("describe_auto_scaling_instances", _instance("Terminating:Wait"))
        with pytest.raises(AwsError, match="still Terminating:Wait"):
            watch_drain(
                LifecycleActions(asg),
                None,
                instance_id=A,
                document=None,
                clock=clock,
                on_step=lambda _w: None,
                timeout_s=10,
                poll_s=10,
            )


def test_cli_refuses_what_is_not_an_instance_id(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["terminate", str(EXAMPLES / "dev.yaml"), "web-1"])
    assert code == 2 and "not an EC2 instance id" in capsys.readouterr().err


def test_cli_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("relaunch", "terminate", "logs", "doctor"):
        assert main([command, "--help"]) == 0
        assert "Example: runnerfleet" in capsys.readouterr().out
