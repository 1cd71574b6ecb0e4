"""The stack `deploy --sandbox` creates comes alive in the twin: its group, hooks, a rolling
update through the hooks on an instance-type change, a delete that drains first.

Only the endpoint is used (boto3 and our CLI as subprocesses). The instances run the real
bootstrap, which completes the launch actions; the test completes the terminate actions, as the
drain does on AWS (the twin holds them for it).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.sandbox.twin.helpers import complete, in_state, states, wait_for

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


def env_file(tmp_path: Path, name: str, instance_type: str) -> Path:
    path = tmp_path / f"{name}-{instance_type}.yaml"
    path.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\nname: {name}\ninstances:\n  types: [{instance_type}]\n",
        encoding="utf-8",
    )
    return path


def deploy(twin: Any, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runnerfleet.cli.main", "deploy", str(path), "--sandbox", "--yes"],
        env=twin.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(proc: subprocess.Popen[str], timeout_s: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout_s)
    assert proc.returncode == 0, out
    return out


def stack_status(twin: Any, stack: str) -> str:
    return str(
        twin.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    )


def test_the_deployed_group_has_its_hooks_and_rolls_an_instance_type_change(
    twin: Any, tmp_path: Path
) -> None:
    name = "t" + uuid.uuid4().hex[:8]
    stack, group = f"runnerfleet-{name}", f"runnerfleet-{name}-asg"
    finished(deploy(twin, env_file(tmp_path, name, "t3.medium")))
    asg = twin.client("autoscaling")
    hooks = asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]
    assert sorted((h["LifecycleHookName"], h["DefaultResult"]) for h in hooks) == [
        ("runnerfleet-launch", "ABANDON"),
        ("runnerfleet-terminate", "CONTINUE"),
    ]
    # the instance runs the real bootstrap, which completes its launch action (and signals)
    (old,) = in_state(twin, group, "InService")
    ec2_ids = _ec2_instances(twin, group)
    assert ec2_ids == {old}  # moto launched nothing of its own for the group
    # the seed's "update the instance type": one at a time, one always in service
    update = deploy(twin, env_file(tmp_path, name, "t3.large"))
    new = wait_for("the replacement", lambda: [i for i in states(twin, group) if i != old], 60)[0]
    assert stack_status(twin, stack) == "UPDATE_IN_PROGRESS"
    assert states(twin, group)[old] == "InService"  # launched first: MinInstancesInService 1
    wait_for("the old one draining", lambda: states(twin, group).get(old) == "Terminating:Wait", 90)
    assert states(twin, group)[new] == "InService"
    assert stack_status(twin, stack) == "UPDATE_IN_PROGRESS"
    complete(twin, group, "runnerfleet-terminate", old)
    wait_for("the update", lambda: stack_status(twin, stack) == "UPDATE_COMPLETE", 30)
    finished(update)
    (row,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    assert [(i["InstanceId"], i["InstanceType"]) for i in row["Instances"]] == [(new, "t3.large")]
    assert (row["DesiredCapacity"], row["MaxSize"]) == (1, 6)  # back to the template's sizes
    _delete_drains_first(twin, stack, group, new)


def _delete_drains_first(twin: Any, stack: str, group: str, instance: str) -> None:
    cfn = twin.client("cloudformation")
    cfn.delete_stack(StackName=stack)
    wait_for("the drain", lambda: states(twin, group).get(instance) == "Terminating:Wait")
    assert stack_status(twin, stack) == "DELETE_IN_PROGRESS"
    complete(twin, group, "runnerfleet-terminate", instance)
    wait_for(
        "the stack to go",
        lambda: (
            not [
                s
                for s in cfn.list_stacks()["StackSummaries"]
                if s["StackName"] == stack and s["StackStatus"] != "DELETE_COMPLETE"
            ]
        ),
        30,
    )
    assert (
        twin.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
            "AutoScalingGroups"
        ]
        == []
    )


def _ec2_instances(twin: Any, group: str) -> set[str]:
    found = twin.client("ec2").describe_instances(
        Filters=[
            {"Name": "tag:aws:autoscaling:groupName", "Values": [group]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ]
    )["Reservations"]
    return {i["InstanceId"] for r in found for i in r["Instances"]}
