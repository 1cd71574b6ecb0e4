"""`destroy --sandbox` of a stack whose creation rolled back: its group never came up.

The creation is failed as on AWS, by a FAILURE signal to the group's CreationPolicy (what
`cfn-signal -e 1` sends from a bootstrap that failed). The stack then reads ROLLBACK_COMPLETE
and its resources DELETE_COMPLETE; destroy has no group to drain, deletes the stack and prunes
the runners deploy created.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.sandbox.twin.helpers import complete, states, wait_for

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


def _cli(twin: Any, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runnerfleet.cli.main", *args],
        env=twin.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _status(cfn: Any, stack: str) -> str:
    try:
        return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    except cfn.exceptions.ClientError:
        return ""


def test_destroy_of_a_rolled_back_stack_deletes_it_and_prunes_its_runners(
    twin: Any, tmp_path: Path
) -> None:
    name = "rb" + uuid.uuid4().hex[:8]
    stack = f"runnerfleet-{name}"
    envfile = tmp_path / f"{name}.yaml"
    envfile.write_text(f"extends: {EXAMPLES / 'dev.yaml'}\nname: {name}\n", encoding="utf-8")
    cfn = twin.client("cloudformation")
    deploy = _cli(twin, "deploy", str(envfile), "--sandbox", "--yes")
    wait_for("the creation", lambda: _status(cfn, stack) == "CREATE_IN_PROGRESS", 60)
    cfn.signal_resource(
        StackName=stack, LogicalResourceId="AutoScalingGroup", UniqueId="i-0", Status="FAILURE"
    )
    seen = {_status(cfn, stack)}
    # the rollback deletes the group: its instance leaves through the terminate hook (the
    # test completes the action, as the drain does; the twin holds it for the client)
    while "ROLLBACK_COMPLETE" not in seen and deploy.poll() is None:
        for instance_id, state in states(twin, f"{stack}-asg").items():
            if state == "Terminating:Wait":
                complete(twin, f"{stack}-asg", "runnerfleet-terminate", instance_id)
        seen.add(_status(cfn, stack))
        time.sleep(0.5)
    out, _ = deploy.communicate(timeout=120)
    assert deploy.returncode != 0 and "ROLLBACK_COMPLETE" in out, out
    assert "ROLLBACK_IN_PROGRESS" in seen or "ROLLBACK_IN_PROGRESS" in out
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    assert {r["ResourceStatus"] for r in resources} == {"DELETE_COMPLETE"}  # as on AWS
    listed = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    assert {r["ResourceStatus"] for r in listed} == {"DELETE_COMPLETE"}
    destroy = _cli(twin, "destroy", str(envfile), "--sandbox", "--yes")
    out, _ = destroy.communicate(timeout=120)
    assert destroy.returncode == 0, out
    assert "not found" not in out
    assert "the stack holds no Auto Scaling group: nothing to drain" in out
    assert f"stack {stack} deleted" in out and "runner(s) deleted in GitLab" in out
    assert _status(cfn, stack) in ("", "DELETE_COMPLETE")
