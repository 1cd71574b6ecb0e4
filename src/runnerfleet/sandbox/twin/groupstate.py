"""One Auto Scaling group of the twin: its model, its settings as AWS reports them, and what
happens to its instances (scaling activities, lifecycle action tokens, launch configurations).

``Group.pump(now)`` lets the model run and notes every event it produced: a launch gets its
activity, launch template and zone, and its EC2 record at once (``Launcher``); a lifecycle action
gets a fresh 36-character token; the events then wait in ``outbox`` for the world's effects.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from runnerfleet.asgmodel import EventKind, Fleet, FleetEvent
from runnerfleet.sandbox.twin.query import iso8601
from runnerfleet.sandbox.twin.world import GroupEvent

log = logging.getLogger("runnerfleet.twin.groups")
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"


@dataclass(frozen=True)
class HookSpec:
    """A lifecycle hook as PutLifecycleHook / LifecycleHookSpecification define it."""

    name: str
    transition: str
    heartbeat_timeout: int = 3600  # [BC-AS] defaults
    default_result: str = "ABANDON"
    metadata: str | None = None
    role_arn: str | None = None
    target_arn: str | None = None


@dataclass(frozen=True)
class LaunchSpec:
    """What an instance launches from: the template as the group names it, and the version."""

    template_id: str
    template_name: str
    version: str  # as the group says it: "3", "$Latest" or "$Default"
    number: int  # the version it resolved to
    instance_type: str
    image_id: str = ""

    def as_aws(self) -> dict[str, str]:
        return {
            "LaunchTemplateId": self.template_id,
            "LaunchTemplateName": self.template_name,
            "Version": self.version,
        }


@dataclass
class Activity:
    """A scaling activity (DescribeScalingActivities), updated as its instance moves on."""

    activity_id: str
    description: str
    cause: str
    start: float
    status: str = "InProgress"
    end: float | None = None
    progress: int = 0
    message: str = ""
    details: str = "{}"

    def finish(self, at: float, status: str = "Successful", message: str = "") -> None:
        self.status, self.end, self.progress = status, at, 100
        if message and not self.message:  # a timeout's message says more: keep it
            self.message = message


class Launcher(Protocol):
    """Makes a launching instance exist in EC2 (and on its loopback address) right away."""

    def resolve(self, group: Group) -> LaunchSpec:
        """The group's launch template as it is now (``$Latest`` moves)."""
        ...

    def resolve_spec(
        self, template: Mapping[str, Any], mixed: Mapping[str, Any] | None
    ) -> LaunchSpec: ...

    def subnet_zones(self, subnet_ids: list[str]) -> dict[str, str]: ...

    def launch(self, group: Group, instance_id: str, spec: LaunchSpec, subnet_id: str) -> None: ...


@dataclass
class Group:
    name: str
    arn: str
    fleet: Fleet
    launch: LaunchSpec
    subnets: dict[str, str]  # subnet id -> availability zone
    settings: dict[str, Any]  # the describe fields the twin stores but does not act on
    created: float
    hooks: dict[str, HookSpec] = field(default_factory=dict)
    tags: dict[str, tuple[str, bool]] = field(default_factory=dict)  # key -> (value, propagate)
    warm_pool: dict[str, Any] | None = None  # PutWarmPool's parameters
    suspended: dict[str, str] = field(default_factory=dict)  # process -> reason
    activities: list[Activity] = field(default_factory=list)  # newest first
    launched: dict[str, LaunchSpec] = field(default_factory=dict)
    launch_override: LaunchSpec | None = None  # an instance refresh's desired configuration
    zones: dict[str, str] = field(default_factory=dict)  # instance -> subnet
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (iid, hook)
    outbox: list[GroupEvent] = field(default_factory=list)
    stack: str | None = None
    deleting: bool = False
    cause: str = ""  # what started the model changes of the current call
    hook_timeouts: int = 0
    _open: dict[tuple[str, str], Activity] = field(default_factory=dict)

    # ----- the model's events -------------------------------------------------------------

    def pump(self, now: float, launcher: Launcher | None) -> None:
        for event in self.fleet.advance(now):
            self._note(event, launcher)

    def _note(self, event: FleetEvent, launcher: Launcher | None) -> None:
        handler = _NOTES.get(event.kind)
        extra = handler(self, event, launcher) if handler else {}
        self.outbox.append(
            GroupEvent(
                self.name,
                event,
                hook_name=extra.get("hook_name", ""),
                token=extra.get("token", ""),
                metadata=extra.get("metadata", ""),
            )
        )

    def _launching(self, event: FleetEvent, launcher: Launcher | None) -> dict[str, str]:
        iid = event.instance_id
        into_pool = event.destination == "WarmPool"
        where = " into warm pool" if into_pool else ""
        self._start(event, "launch", f"Launching a new EC2 instance{where}: {iid}")
        if event.origin == "WarmPool":
            return {}
        spec = launcher.resolve(self) if launcher is not None else self.launch
        self.launched[iid] = spec
        subnet = self._least_used_subnet()
        self.zones[iid] = subnet
        if launcher is not None:
            try:
                launcher.launch(self, iid, spec, subnet)
            except Exception:  # the model goes on; the instance just has no record or runtime
                log.exception("launching %s of %s failed", iid, self.name)
        return {}

    def _action(self, event: FleetEvent, launcher: Launcher | None) -> dict[str, str]:
        transition = LAUNCHING if event.kind is EventKind.LAUNCH_ACTION else TERMINATING
        hook = self.hook_for(transition)
        token = str(uuid.uuid4())
        iid = event.instance_id
        self.tokens = {t: v for t, v in self.tokens.items() if v[0] != iid}
        self.tokens[token] = (iid, hook.name if hook else "")
        if event.kind is EventKind.TERMINATE_ACTION:
            self._start(event, "terminate", f"Terminating EC2 instance: {iid}")
        activity = self._open.get((iid, "launch" if transition == LAUNCHING else "terminate"))
        if activity is not None:
            activity.status = "MidLifecycleAction"
            activity.progress = 30
        return {
            "hook_name": hook.name if hook else "",
            "token": token,
            "metadata": (hook.metadata or "") if hook else "",
        }

    def _in_service(self, event: FleetEvent, launcher: Launcher | None) -> dict[str, str]:
        self.tokens = {t: v for t, v in self.tokens.items() if v[0] != event.instance_id}
        self._finish(event.instance_id, "launch", event.at)
        return {}

    def notify(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        """An Auto Scaling event that is not an instance's (instance refresh progress)."""
        notice = {"detail-type": detail_type, "detail": dict(detail)}
        self.outbox.append(GroupEvent(self.name, None, notice=notice))

    def _timeout(self, event: FleetEvent, launcher: Launcher | None) -> dict[str, str]:
        self.hook_timeouts += 1
        for kind in ("launch", "terminate"):
            activity = self._open.get((event.instance_id, kind))
            if activity is not None:
                activity.message = (
                    f"Lifecycle action timed out; the hook's default result {event.detail} "
                    "was applied."
                )
        return {}

    def _terminated(self, event: FleetEvent, launcher: Launcher | None) -> dict[str, str]:
        iid = event.instance_id
        self.tokens = {t: v for t, v in self.tokens.items() if v[0] != iid}
        if (iid, "launch") in self._open:
            self._finish(iid, "launch", event.at, "Cancelled", "the launch was abandoned")
        if (iid, "terminate") not in self._open:
            self._start(event, "terminate", f"Terminating EC2 instance: {iid}")
        self._finish(iid, "terminate", event.at)
        return {}

    # ----- activities ---------------------------------------------------------------------

    def _start(self, event: FleetEvent, kind: str, description: str) -> None:
        at = f"At {iso8601(event.at)} "
        cause = at + (self.cause or _capacity_cause(event))
        if self.cause and kind == "launch" and "desired capacity" not in self.cause:
            cause += "  " + at + _capacity_cause(event)  # a replacement, as AWS words it
        activity = Activity(str(uuid.uuid4()), description, cause, event.at)
        activity.details = _details(self.subnets, self.zones.get(event.instance_id))
        self.activities.insert(0, activity)
        del self.activities[500:]
        self._open[(event.instance_id, kind)] = activity

    def _finish(
        self, iid: str, kind: str, at: float, status: str = "Successful", message: str = ""
    ) -> None:
        activity = self._open.pop((iid, kind), None)
        if activity is not None:
            activity.finish(at, status, message)

    def activity_in_progress(self) -> Activity | None:
        return next((a for a in self._open.values() if a.end is None), None)

    # ----- lookups ------------------------------------------------------------------------

    def hook_for(self, transition: str) -> HookSpec | None:
        return next((h for h in self.hooks.values() if h.transition == transition), None)

    def _least_used_subnet(self) -> str:
        """Auto Scaling balances instances across the group's zones [UG:auto-scaling-benefits]."""
        live = {s.instance_id for s in self.fleet.describe()}
        counts = dict.fromkeys(self.subnets, 0)
        for iid, subnet in self.zones.items():
            if iid in live and subnet in counts:
                counts[subnet] += 1
        return min(counts, key=lambda s: (counts[s], s)) if counts else ""

    def propagated_tags(self) -> dict[str, str]:
        return {key: value for key, (value, propagate) in self.tags.items() if propagate}


def _capacity_cause(event: FleetEvent) -> str:
    done = "started" if event.kind is EventKind.LAUNCHING else "taken out of service"
    return (
        f"an instance was {done} in response to a difference between desired and actual capacity."
    )


def _details(subnets: dict[str, str], subnet: str | None) -> str:
    if not subnet:
        return "{}"
    zone = subnets.get(subnet, "")
    return json.dumps({"Subnet ID": subnet, "Availability Zone": zone}, separators=(",", ":"))


_NOTES: dict[EventKind, Callable[[Group, FleetEvent, Launcher | None], dict[str, str]]] = {
    EventKind.LAUNCHING: Group._launching,
    EventKind.LAUNCH_ACTION: Group._action,
    EventKind.TERMINATE_ACTION: Group._action,
    EventKind.IN_SERVICE: Group._in_service,
    EventKind.WARMED: Group._in_service,
    EventKind.HOOK_TIMEOUT: Group._timeout,
    EventKind.TERMINATED: Group._terminated,
}
