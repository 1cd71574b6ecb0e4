"""What the groups' model events do to the rest of the world.

- a launching instance gets its EC2 record (launch template data: type, tags, subnet, IMDS
  options, instance profile) and is started by the instance runtime on its loopback address,
  at once, while the model call that launched it still holds the twin's lock (``InstanceLauncher``);
- lifecycle actions, spot warnings and instance refresh notices are published on the event bus
  with EventBridge's payloads (aws-autoscaling-facts.md §2); a spot warning also makes the
  instance's IMDS answer ``spot/instance-action``;
- a terminated instance's runtime is stopped (whatever runs on it dies) and its EC2 record
  terminated (``Effects``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from runnerfleet.asgmodel import EventKind, FleetModelError
from runnerfleet.asgmodel.types import SPOT_NOTICE_S
from runnerfleet.sandbox.twin.groupstate import LAUNCHING, TERMINATING, Group, LaunchSpec
from runnerfleet.sandbox.twin.motoglue import Ec2Records, LaunchRecord, TemplateVersion, user_data
from runnerfleet.sandbox.twin.world import GroupEvent, LoggedEvents, LoopbackInstances, Twin

log = logging.getLogger("runnerfleet.twin.effects")

DETAIL_TYPES = {
    EventKind.LAUNCH_ACTION: "EC2 Instance-launch Lifecycle Action",
    EventKind.TERMINATE_ACTION: "EC2 Instance-terminate Lifecycle Action",
    EventKind.IN_SERVICE: "EC2 Instance Launch Successful",
    EventKind.TERMINATED: "EC2 Instance Terminate Successful",
}


class InstanceLauncher:
    """The groups' ``Launcher``: EC2 records in moto, instances started by the runtime."""

    def __init__(self, ec2: Ec2Records, twin: Twin) -> None:
        self.ec2 = ec2
        self.twin = twin

    def resolve_spec(
        self, template: Mapping[str, Any], mixed: Mapping[str, Any] | None
    ) -> LaunchSpec:
        version = self.ec2.template_version(template)
        return LaunchSpec(
            template_id=version.template_id,
            template_name=version.template_name,
            version=str(template.get("Version") or "$Default"),
            number=version.number,
            instance_type=_instance_type(version, mixed),
            image_id=str(version.data.get("ImageId", "")),
        )

    def resolve(self, group: Group) -> LaunchSpec:
        spec = group.launch_override or group.launch
        if spec.version.startswith("$"):  # $Latest / $Default move with the template
            template = {"LaunchTemplateId": spec.template_id, "Version": spec.version}
            return self.resolve_spec(template, group.settings.get("MixedInstancesPolicy"))
        return spec

    def subnet_zones(self, subnet_ids: list[str]) -> dict[str, str]:
        return self.ec2.subnet_zones(subnet_ids)

    def launch(self, group: Group, instance_id: str, spec: LaunchSpec, subnet_id: str) -> None:
        version = self.ec2.template_version(
            {"LaunchTemplateId": spec.template_id, "Version": str(spec.number)}
        )
        address = self.twin.instances.start(
            instance_id, group.name, version.data, user_data(version)
        )
        record = LaunchRecord(
            instance_id=instance_id,
            version=version,
            instance_type=spec.instance_type,
            subnet_id=subnet_id,
            zone=group.subnets.get(subnet_id, ""),
            tags=launch_tags(group, version),
            address=address,
        )
        self.ec2.create_instance(record)


def _instance_type(version: TemplateVersion, mixed: Mapping[str, Any] | None) -> str:
    overrides = ((mixed or {}).get("LaunchTemplate") or {}).get("Overrides") or []
    for override in overrides:  # the first override: the twin does not model the allocation
        if override.get("InstanceType"):
            return str(override["InstanceType"])
    return str(version.data.get("InstanceType") or "t3.micro")


def launch_tags(group: Group, version: TemplateVersion) -> dict[str, str]:
    """The group's PropagateAtLaunch tags, the template's instance tags, and AWS's own."""
    tags: dict[str, str] = {}
    for spec in version.data.get("TagSpecifications") or []:
        if spec.get("ResourceType") == "instance":
            tags.update({str(t["Key"]): str(t.get("Value", "")) for t in spec.get("Tags", [])})
    tags.update(group.propagated_tags())
    tags["aws:autoscaling:groupName"] = group.name
    tags["aws:ec2launchtemplate:id"] = version.template_id
    tags["aws:ec2launchtemplate:version"] = str(version.number)
    return tags


class Effects:
    """The world loop's effect for every group event."""

    def __init__(self, twin: Twin, ec2: Ec2Records) -> None:
        self.twin = twin
        self.ec2 = ec2

    def __call__(self, event: GroupEvent) -> None:
        if event.notice is not None:
            self._publish(event.group_name, event.notice["detail-type"], event.notice["detail"])
            return
        model = event.event
        if model is None:
            return
        if model.kind is EventKind.SPOT_WARNING:
            self._spot_warning(event)
        elif model.kind is EventKind.TERMINATED:
            self._terminated(event)
        detail_type = DETAIL_TYPES.get(model.kind)
        if detail_type is not None:
            self._publish(event.group_name, detail_type, self._detail(event), model.instance_id)

    def _terminated(self, event: GroupEvent) -> None:
        assert event.event is not None
        iid = event.event.instance_id
        self.twin.instances.stop(iid)
        with self.twin.lock:
            self.ec2.terminate_instance(iid)

    def _spot_warning(self, event: GroupEvent) -> None:
        assert event.event is not None
        iid = event.event.instance_id
        self.twin.instances.spot_notice(iid, event.event.at + SPOT_NOTICE_S)
        settings = self.twin.settings
        self.twin.bus.publish(
            envelope(
                self.twin,
                "aws.ec2",
                "EC2 Spot Instance Interruption Warning",
                [f"arn:aws:ec2:{settings.region}:{settings.account_id}:instance/{iid}"],
                {"instance-id": iid, "instance-action": "terminate"},
            )
        )

    def _detail(self, event: GroupEvent) -> dict[str, Any]:
        model = event.event
        assert model is not None
        if model.kind in (EventKind.LAUNCH_ACTION, EventKind.TERMINATE_ACTION):
            launching = model.kind is EventKind.LAUNCH_ACTION
            detail: dict[str, Any] = {
                "LifecycleActionToken": event.token,
                "AutoScalingGroupName": event.group_name,
                "LifecycleHookName": event.hook_name,
                "EC2InstanceId": model.instance_id,
                "LifecycleTransition": LAUNCHING if launching else TERMINATING,
                "Origin": model.origin,
                "Destination": model.destination,
            }
            if event.metadata:
                detail["NotificationMetadata"] = event.metadata
            return detail
        verb = "Launching a new" if model.kind is EventKind.IN_SERVICE else "Terminating"
        return {
            "StatusCode": "InProgress",
            "Description": f"{verb} EC2 instance: {model.instance_id}",
            "AutoScalingGroupName": event.group_name,
            "ActivityId": str(uuid.uuid4()),
            "EC2InstanceId": model.instance_id,
            "StatusMessage": "",
            "Cause": model.detail,
        }

    def _publish(
        self, group: str, detail_type: str, detail: Mapping[str, Any], instance_id: str = ""
    ) -> None:
        settings = self.twin.settings
        arn = (
            f"arn:aws:autoscaling:{settings.region}:{settings.account_id}:autoScalingGroup:"
            f"00000000-0000-0000-0000-000000000000:autoScalingGroupName/{group}"
        )
        resources = [arn]
        if instance_id and detail_type.endswith("Successful"):
            resources.append(
                f"arn:aws:ec2:{settings.region}:{settings.account_id}:instance/{instance_id}"
            )
        self.twin.bus.publish(
            envelope(self.twin, "aws.autoscaling", detail_type, resources, detail)
        )


class ActionStandIn:
    """Plays the instance software no part of the twin runs yet. The bootstrap completes the
    launch action (it runs once the instance runtime is plugged in); the drain completes the
    terminate action (it runs once the event bus delivers to the deployed functions). While
    the port that would run that software is the no-op default, and unless the twin holds the
    actions for a client (``--hold-lifecycle-actions``), this effect completes the action with
    CONTINUE, as a bootstrap that succeeds and a drain that finds no job would."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin

    def active(self, kind: EventKind) -> bool:
        if self.twin.settings.hold_actions:
            return False
        if kind is EventKind.LAUNCH_ACTION:
            return isinstance(self.twin.instances, LoopbackInstances)
        return kind is EventKind.TERMINATE_ACTION and isinstance(self.twin.bus, LoggedEvents)

    def __call__(self, event: GroupEvent) -> None:
        model = event.event
        if model is None or not self.active(model.kind):
            return
        params = {
            "AutoScalingGroupName": event.group_name,
            "LifecycleHookName": event.hook_name,
            "LifecycleActionToken": event.token,
            "LifecycleActionResult": "CONTINUE",
        }
        with self.twin.lock:
            try:
                self.twin.groups.call("CompleteLifecycleAction", params)
            except FleetModelError as exc:  # completed or timed out meanwhile
                log.info("stand-in completion of %s: %s", model.instance_id, exc)


def envelope(
    twin: Twin, source: str, detail_type: str, resources: list[str], detail: Mapping[str, Any]
) -> dict[str, Any]:
    """An EventBridge event as AWS services put it on the default bus."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": twin.settings.account_id,
        "time": datetime.fromtimestamp(twin.clock(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": twin.settings.region,
        "resources": resources,
        "detail": dict(detail),
    }
