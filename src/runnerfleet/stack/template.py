"""FleetSpec -> CloudFormation template: pure and deterministic (same spec, same bytes).

Deletion order is part of the design. CloudFormation deletes a resource before the resources
it depends on, so:

* the autoscaler (function, schedule, permission) references the group and goes first: nothing
  scales the fleet back up while it drains;
* the group depends on everything its instances need to drain (lifecycle rule, function,
  permission, documents, log groups, roles, dead-letter queue), so those outlive it: each
  instance is drained and unregistered before the hook's machinery disappears (the seed
  deleted the hook, rule and function first and left stale runners in GitLab).
"""

from __future__ import annotations

import json
from typing import Any

from runnerfleet.envfile.models import FleetSpec
from runnerfleet.stack import iam, launch, observability, params, wiring
from runnerfleet.stack.cfn import Json, ref, sub, tags_list
from runnerfleet.stack.functions import log_group
from runnerfleet.stack.overflow import overflow_resources, uses_spot
from runnerfleet.stack.userdata import (
    DRAIN_NAMESPACE,
    drain_document,
    log_group_names,
    spot_document,
    user_data,
)

INLINE_BODY_LIMIT = 51200  # bytes CreateChangeSet accepts as TemplateBody; above: TemplateURL


def synthesize(spec: FleetSpec) -> dict[str, Any]:
    """The template for ``spec`` (parameters: see ``params.parameter_values``)."""
    resources = _resources(spec)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"runnerfleet: GitLab runner fleet {spec.stack} (environment {spec.name})",
        "Parameters": params.parameters(spec),
        "Resources": resources,
        "Outputs": _outputs(resources),
    }


def render(template: dict[str, Any]) -> str:
    """Canonical JSON text: sorted keys, fixed indentation, trailing newline."""
    return json.dumps(template, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def render_spec(spec: FleetSpec) -> str:
    return render(synthesize(spec))


def _resources(spec: FleetSpec) -> dict[str, Json]:
    out: dict[str, Json] = {}
    out.update(launch.security_groups(spec))
    out.update(_instance_side(spec))
    out.update(wiring.function_stack(spec))
    out.update(observability.alarms(spec))
    out.update(observability.dashboard(spec))
    outlive = _outlive_group(out)
    out["AutoScalingGroup"] = launch.auto_scaling_group(spec, outlive)
    out.update(launch.warm_pool(spec))
    out.update(overflow_resources(spec, outlive))
    return out


def _instance_side(spec: FleetSpec) -> dict[str, Json]:
    groups = log_group_names(spec)
    out: dict[str, Json] = {
        logical: log_group(spec, sub(name.replace(spec.stack, "${AWS::StackName}", 1)))
        for logical, name in groups.items()
    }
    out["InstanceRole"] = iam.role(
        iam.EC2_TRUST,
        "instance",
        # boot times from every instance; spot notices too on spot fleets
        iam.instance_statements(spec, sorted(groups), DRAIN_NAMESPACE),
        tags_list({**spec.tags, "Name": f"{spec.stack}-instance"}),
        "runnerfleet runner instances",
    )
    out["InstanceProfile"] = launch.instance_profile()
    out["LaunchTemplate"] = launch.launch_template(spec, user_data(spec))
    out["DrainDocument"] = drain_document(spec)
    if uses_spot(spec):
        out["SpotDocument"] = spot_document(spec)
    return out


# What the group's instances need until the last one has drained (see the module docstring).
_DRAIN_MACHINERY_PREFIXES = ("Lifecycle", "Spot", "Drain", "DeadLetter", "Bootstrap", "Runner")


def _outlive_group(resources: dict[str, Json]) -> list[str]:
    keep = [
        name
        for name in resources
        if name.startswith(_DRAIN_MACHINERY_PREFIXES)
        and resources[name]["Type"] != "AWS::CloudWatch::Alarm"
        and name != "RunnerSecurityGroup"  # referenced through the launch template already
    ]
    return keep


_OUTPUTS: dict[str, tuple[str, str]] = {
    # output key: (logical id, description)
    "AutoScalingGroupName": ("AutoScalingGroup", "The runners' Auto Scaling group"),
    "LaunchTemplateId": ("LaunchTemplate", "Launch template of the runners"),
    "OverflowGroupName": ("OverflowGroup", "The spot group behind the warm group"),
    "OverflowLaunchTemplateId": ("OverflowLaunchTemplate", "Launch template of the spot group"),
    "RunnerSecurityGroupId": ("RunnerSecurityGroup", "Security group of the runners"),
    "InstanceRoleName": ("InstanceRole", "Role of the runner instances"),
    "AutoscalerRoleName": ("AutoscalerRole", "Role of the autoscaler function"),
    "LifecycleRoleName": ("LifecycleRole", "Role of the lifecycle (drain) function"),
    "SpotRoleName": ("SpotRole", "Role of the spot function"),
    "WebhookRoleName": ("WebhookRole", "Role of the webhook function"),
    "AutoscalerFunctionName": ("AutoscalerFunction", "Autoscaler function"),
    "LifecycleFunctionName": ("LifecycleFunction", "Lifecycle (drain) function"),
    "SpotFunctionName": ("SpotFunction", "Spot notice function"),
    "WebhookFunctionName": ("WebhookFunction", "Webhook function (URL: get-function-url-config)"),
    "AutoscalerScheduleName": ("AutoscalerSchedule", "Schedule rule; disable it to pause scaling"),
    "DrainDocumentName": ("DrainDocument", "SSM document that drains one runner"),
    "SpotDocumentName": ("SpotDocument", "SSM document run on a spot notice"),
    "BootstrapLogGroupName": ("BootstrapLogGroup", "Bootstrap, drain and watcher logs"),
    "RunnerLogGroupName": ("RunnerLogGroup", "gitlab-runner logs"),
    "DrainLogGroupName": ("DrainLogGroup", "Output of the drain and spot commands"),
    "AutoscalerLogGroupName": ("AutoscalerLogGroup", "Autoscaler function logs"),
    "LifecycleLogGroupName": ("LifecycleLogGroup", "Lifecycle function logs"),
    "SpotLogGroupName": ("SpotLogGroup", "Spot function logs"),
    "WebhookLogGroupName": ("WebhookLogGroup", "Webhook function logs"),
    "DeadLetterQueueUrl": ("DeadLetterQueue", "Events that could not be delivered or handled"),
    "DashboardName": ("Dashboard", "CloudWatch dashboard of the fleet"),
}


def _outputs(resources: dict[str, Json]) -> dict[str, Json]:
    return {
        key: {"Description": text, "Value": ref(logical)}
        for key, (logical, text) in _OUTPUTS.items()
        if logical in resources
    }


def body_size(template: dict[str, Any]) -> int:
    """Bytes of the compact JSON body a change set would carry."""
    text = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode())
