"""find_fleet: the runners' group is the fleet's, whichever order the stack lists its groups."""

from __future__ import annotations

from typing import Any

from runnerfleet.aws.fleet_resources import find_fleet

GROUP = "AWS::AutoScaling::AutoScalingGroup"


class _Pages:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def paginate(self, StackName: str) -> list[dict[str, Any]]:
        return [{"StackResourceSummaries": self._rows}]


class _CloudFormation:
    def __init__(self, *groups: str) -> None:
        done = "CREATE_COMPLETE"
        rows = [{"ResourceType": GROUP, "PhysicalResourceId": g, "ResourceStatus": done}
                for g in groups]  # fmt: skip
        self._pages = _Pages(rows)

    def get_paginator(self, name: str) -> _Pages:
        assert name == "list_stack_resources"
        return self._pages


def test_the_warm_group_is_the_fleets_group_even_listed_after_the_overflow() -> None:
    found = find_fleet(_CloudFormation("rf-ws-overflow", "rf-ws-asg"), None, "rf-ws")
    assert found.group == "rf-ws-asg"
    assert find_fleet(_CloudFormation("rf-old-group"), None, "rf-old").group == "rf-old-group"
