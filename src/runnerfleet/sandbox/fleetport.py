"""A boto3-shaped Auto Scaling client over the fleet model, for the sandbox.

moto's Auto Scaling has no Pending:Wait, no Terminating:Wait, no heartbeats and no
``complete_lifecycle_action`` (see docs/sandbox.md), so the sandbox keeps the group's lifecycle
in the fleet model (``runnerfleet.asgmodel.group``) and hands the product's adapters this client,
which answers the same calls with the same response shapes and error codes. The autoscaler and
the drain code therefore run unchanged against it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.asgmodel.group import Fleet, FleetEvent, FleetModelError


class FleetModelAutoScaling:
    def __init__(self, fleet: Fleet, group_name: str, clock: Callable[[], float]) -> None:
        self.fleet = fleet
        self.group_name = group_name
        self.clock = clock
        self.lock = threading.RLock()
        self.tags: dict[str, str] = {}
        self._tokens: dict[str, str] = {}  # lifecycle action token -> instance id
        self._events: list[FleetEvent] = []  # what time produced, until the demo takes it

    def take_events(self) -> list[FleetEvent]:
        """Let time pass and hand over every event since the last call, none lost to a
        Describe call that advanced the model in between."""
        with self.lock:
            events = [*self._events, *self.fleet.advance(self.clock())]
            self._events = []
            return events

    def held_events(self) -> int:
        """Events a Describe call collected that nobody has taken yet."""
        with self.lock:
            return len(self._events)

    def action_token(self, instance_id: str) -> str:
        """A fresh LifecycleActionToken for the action the instance just entered."""
        token = str(uuid.uuid4())
        with self.lock:
            self._tokens[token] = instance_id
        return token

    def _instance_of(self, kwargs: dict[str, Any]) -> str:
        if "InstanceId" in kwargs:
            return str(kwargs["InstanceId"])
        return self._tokens.get(str(kwargs.get("LifecycleActionToken")), "unknown-token")

    @contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        with self.lock:
            try:
                yield
            except FleetModelError as exc:
                raise ClientError(
                    {"Error": {"Code": exc.code, "Message": exc.message}}, operation
                ) from exc

    def _check_group(self, name: str | None, operation: str) -> None:
        if name is not None and name != self.group_name:
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"Group {name} not found"}},
                operation,
            )

    def describe_auto_scaling_groups(self, **kwargs: Any) -> dict[str, Any]:
        names = kwargs.get("AutoScalingGroupNames") or [self.group_name]
        if self.group_name not in names:
            return {"AutoScalingGroups": []}
        with self._call("DescribeAutoScalingGroups"):
            self._events.extend(self.fleet.advance(self.clock()))
            instances = [
                self._instance(s) for s in self.fleet.describe() if not s.state.startswith("Warmed")
            ]
            return {
                "AutoScalingGroups": [
                    {
                        "AutoScalingGroupName": self.group_name,
                        "MinSize": self.fleet.min_size,
                        "MaxSize": self.fleet.max_size,
                        "DesiredCapacity": self.fleet.desired,
                        "DefaultCooldown": int(self.fleet.config.default_cooldown_s),
                        "Instances": instances,
                        "Tags": self._group_tags(),
                    }
                ]
            }

    def _instance(self, status: Any) -> dict[str, Any]:
        return {
            "InstanceId": status.instance_id,
            "LifecycleState": status.state.value,
            "HealthStatus": "Healthy",
            "ProtectedFromScaleIn": status.protected,
            "AvailabilityZone": "us-east-1a",
            "LaunchTime": status.launched_at,
        }

    def _group_tags(self) -> list[dict[str, Any]]:
        return [
            {
                "ResourceId": self.group_name,
                "ResourceType": "auto-scaling-group",
                "Key": key,
                "Value": value,
                "PropagateAtLaunch": False,
            }
            for key, value in sorted(self.tags.items())
        ]

    def create_or_update_tags(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            for tag in kwargs["Tags"]:
                self.tags[str(tag["Key"])] = str(tag.get("Value", ""))
        return {}

    def describe_warm_pool(self, **kwargs: Any) -> dict[str, Any]:
        self._check_group(kwargs.get("AutoScalingGroupName"), "DescribeWarmPool")
        with self._call("DescribeWarmPool"):
            warm = [
                self._instance(s) for s in self.fleet.describe() if s.state.startswith("Warmed")
            ]
        return {"Instances": warm}

    def describe_instance_refreshes(self, **kwargs: Any) -> dict[str, Any]:
        self._check_group(kwargs.get("AutoScalingGroupName"), "DescribeInstanceRefreshes")
        return {"InstanceRefreshes": []}

    def set_desired_capacity(self, **kwargs: Any) -> dict[str, Any]:
        self._check_group(kwargs.get("AutoScalingGroupName"), "SetDesiredCapacity")
        with self._call("SetDesiredCapacity"):
            self.fleet.set_desired(
                int(kwargs["DesiredCapacity"]),
                bool(kwargs.get("HonorCooldown", False)),
                self.clock(),
            )
        return {}

    def terminate_instance_in_auto_scaling_group(self, **kwargs: Any) -> dict[str, Any]:
        instance_id = str(kwargs["InstanceId"])
        with self._call("TerminateInstanceInAutoScalingGroup"):
            self.fleet.terminate_instance(
                instance_id, bool(kwargs["ShouldDecrementDesiredCapacity"]), self.clock()
            )
        return {
            "Activity": {
                "ActivityId": f"terminate-{instance_id}",
                "StatusCode": "InProgress",
                "AutoScalingGroupName": self.group_name,
            }
        }

    def set_instance_protection(self, **kwargs: Any) -> dict[str, Any]:
        self._check_group(kwargs.get("AutoScalingGroupName"), "SetInstanceProtection")
        with self._call("SetInstanceProtection"):
            self.fleet.set_instance_protection(
                list(kwargs["InstanceIds"]), bool(kwargs["ProtectedFromScaleIn"]), self.clock()
            )
        return {}

    def complete_lifecycle_action(self, **kwargs: Any) -> dict[str, Any]:
        with self._call("CompleteLifecycleAction"):
            self.fleet.complete_lifecycle_action(
                self._instance_of(kwargs), str(kwargs["LifecycleActionResult"]), self.clock()
            )
        return {}

    def record_lifecycle_action_heartbeat(self, **kwargs: Any) -> dict[str, Any]:
        with self._call("RecordLifecycleActionHeartbeat"):
            self.fleet.record_heartbeat(self._instance_of(kwargs), self.clock())
        return {}

    def update_auto_scaling_group(self, **kwargs: Any) -> dict[str, Any]:
        with self._call("UpdateAutoScalingGroup"):
            self.fleet.update_limits(
                self.clock(), min_size=kwargs.get("MinSize"), max_size=kwargs.get("MaxSize")
            )
            if "DesiredCapacity" in kwargs:
                self.fleet.set_desired(int(kwargs["DesiredCapacity"]), False, self.clock())
        return {}


class FleetModelEc2:
    """The EC2 calls the autoscaler adapter makes about the fleet's instances."""

    def __init__(self, fleet: Fleet, lock: threading.RLock) -> None:
        self.fleet = fleet
        self.lock = lock
        self.tags: dict[str, dict[str, str]] = {}

    def describe_instances(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            rows = []
            for iid in kwargs.get("InstanceIds", []):
                try:
                    status = self.fleet.status(iid)
                except FleetModelError:
                    continue  # terminated since the group was described
                rows.append(
                    {
                        "InstanceId": iid,
                        "LaunchTime": datetime.fromtimestamp(status.launched_at, tz=UTC),
                        "PrivateIpAddress": None,  # the sandbox maps ids to loopback addresses
                        "Tags": [{"Key": k, "Value": v} for k, v in self.tags.get(iid, {}).items()],
                    }
                )
        return {"Reservations": [{"Instances": rows}] if rows else []}

    def create_tags(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            for iid in kwargs["Resources"]:
                for tag in kwargs["Tags"]:
                    self.tags.setdefault(iid, {})[str(tag["Key"])] = str(tag.get("Value", ""))
        return {}

    def delete_tags(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            for iid in kwargs["Resources"]:
                for tag in kwargs["Tags"]:
                    self.tags.get(iid, {}).pop(str(tag["Key"]), None)
        return {}
