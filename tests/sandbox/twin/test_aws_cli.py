"""The AWS CLI v2 (Debian's awscli) against the twin: the seed's terminate walk, by command line.

Skipped when no v2 CLI is installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.sandbox.twin.conftest import aws_cli_v2
from tests.sandbox.twin.helpers import hooks, in_state, make_group, states, wait_for

AWS = aws_cli_v2()
pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        AWS is None, reason="the AWS CLI v2 is not installed (apt-get install awscli)"
    ),
]


def aws(twin: Any, *args: str) -> Any:
    assert AWS is not None
    out = subprocess.run(
        [AWS, "--endpoint-url", twin.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=twin.env(),
        timeout=60,
        check=False,
    )
    if out.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)}: {out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else {}


def action(twin: Any, command: str, group: str, hook: str, iid: str, *result: str) -> None:
    args = ["--auto-scaling-group-name", group, "--lifecycle-hook-name", hook, "--instance-id", iid]
    if result:
        args += ["--lifecycle-action-result", *result]
    aws(twin, "autoscaling", command, *args)


def test_the_seed_terminate_walk_through_the_cli(twin: Any) -> None:
    group = make_group(twin, LifecycleHookSpecificationList=hooks())
    described = aws(
        twin, "autoscaling", "describe-lifecycle-hooks", "--auto-scaling-group-name", group
    )
    assert sorted(h["LifecycleHookName"] for h in described["LifecycleHooks"]) == [
        "drain",
        "launch",
    ]
    (first,) = in_state(twin, group, "Pending:Wait")
    action(twin, "complete-lifecycle-action", group, "launch", first, "CONTINUE")
    in_state(twin, group, "InService")
    out = aws(
        twin,
        *("autoscaling", "terminate-instance-in-auto-scaling-group", "--instance-id", first),
        "--no-should-decrement-desired-capacity",
    )
    assert out["Activity"]["StatusCode"] == "MidLifecycleAction"
    rows = aws(twin, "autoscaling", "describe-auto-scaling-instances", "--instance-ids", first)
    assert rows["AutoScalingInstances"][0]["LifecycleState"] == "Terminating:Wait"
    action(twin, "record-lifecycle-action-heartbeat", group, "drain", first)
    action(twin, "complete-lifecycle-action", group, "drain", first, "CONTINUE")
    wait_for("the instance to go", lambda: first not in states(twin, group))
    ec2 = aws(twin, "ec2", "describe-instances", "--instance-ids", first)
    assert ec2["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
    assert "172.31." not in json.dumps(aws(twin, "ec2", "describe-instances"))


def test_cli_errors_are_aws_errors(twin: Any) -> None:
    assert AWS is not None
    out = subprocess.run(
        [AWS, "--endpoint-url", twin.endpoint, "autoscaling", "set-desired-capacity",
         "--auto-scaling-group-name", "nope", "--desired-capacity", "1"],
        capture_output=True, text=True, env=twin.env(), timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 254 and "(ValidationError)" in out.stderr
    assert "AutoScalingGroup name not found" in out.stderr and "Traceback" not in out.stderr
