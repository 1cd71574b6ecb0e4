"""Finding a fleet's resources through its CloudFormation stack (no logical ids assumed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import aws_call, translate
from runnerfleet.errors import AwsError


@dataclass(frozen=True, slots=True)
class FleetResources:
    stack: str
    group: str
    schedule_rules: tuple[str, ...]  # EventBridge rules with a schedule: the autoscaler's tick
    log_groups: tuple[str, ...]
    documents: tuple[str, ...]


def stack_exists(cloudformation: Any, stack: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise translate(exc, f"describing stack {stack}", "check your credentials") from exc
    return bool(stacks) and stacks[0].get("StackStatus") != "DELETE_COMPLETE"


def find_fleet(cloudformation: Any, events: Any, stack: str) -> FleetResources:
    by_type = _resources(cloudformation, stack)
    groups = by_type.get("AWS::AutoScaling::AutoScalingGroup", [])
    if not groups:
        raise AwsError(
            f"stack {stack} has no Auto Scaling group",
            hint="deploy the environment (`runnerfleet deploy ENVFILE`)",
        )
    names = [_rule_name(r) for r in by_type.get("AWS::Events::Rule", [])]
    rules = tuple(n for n in names if _scheduled(events, n))
    runners = f"{stack}-asg"  # the runners' (warm) group; a spot overflow group is the other
    return FleetResources(
        stack=stack,
        group=runners if runners in groups else groups[0],
        schedule_rules=rules,
        log_groups=tuple(by_type.get("AWS::Logs::LogGroup", [])),
        documents=tuple(by_type.get("AWS::SSM::Document", [])),
    )


def _resources(cloudformation: Any, stack: str) -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
        for page in pages:
            for row in page.get("StackResourceSummaries", []):
                physical = row.get("PhysicalResourceId")
                if physical and row.get("ResourceStatus") != "DELETE_COMPLETE":
                    by_type.setdefault(str(row.get("ResourceType")), []).append(str(physical))
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise AwsError(
                f"stack {stack} does not exist",
                hint="deploy it first (`runnerfleet deploy ENVFILE`), or check "
                "the region and account",
            ) from exc
        raise translate(exc, f"listing the resources of {stack}", "check your credentials") from exc
    return by_type


def _rule_name(physical: str) -> str:
    """A rule's physical id is its name, or 'bus|name' on a custom bus."""
    return physical.rsplit("|", maxsplit=1)[-1]


def _scheduled(events: Any, name: str) -> bool:
    try:
        return bool(events.describe_rule(Name=name).get("ScheduleExpression"))
    except ClientError:
        return False


def retained_resources(cloudformation: Any, stack: str) -> list[tuple[str, str]]:
    """(type, physical id) of what outlives the stack: resources with DeletionPolicy Retain."""
    body = aws_call(
        lambda: cloudformation.get_template(StackName=stack)["TemplateBody"],
        f"reading the template of {stack}",
    )
    template = json.loads(body) if isinstance(body, str) else body
    kept = {
        logical
        for logical, resource in (template.get("Resources") or {}).items()
        if resource.get("DeletionPolicy") == "Retain"
    }
    if not kept:
        return []
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
    rows = [row for page in pages for row in page.get("StackResourceSummaries", [])]
    return sorted(
        (str(row["ResourceType"]), str(row.get("PhysicalResourceId", "")))
        for row in rows
        if row.get("LogicalResourceId") in kept and row.get("PhysicalResourceId")
    )
