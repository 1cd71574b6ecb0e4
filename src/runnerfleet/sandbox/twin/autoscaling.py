"""Auto Scaling behind the twin's endpoint: every group a model, every action AWS-shaped.

``AutoScalingGroups`` is the twin's ``Groups`` port: the front hands it each Auto Scaling
action (``call``) as boto3-shaped parameters (``query.parse``), the world loop lets time pass
(``tick``), CloudFormation changes reach it through ``sync_stack`` (``cfnsync``). An action it
does not emulate answers a clear error naming the call, never moto's silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from runnerfleet.asgmodel import FleetModelError
from runnerfleet.sandbox.twin import query
from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply, error_reply
from runnerfleet.sandbox.twin.groupstate import Group, Launcher
from runnerfleet.sandbox.twin.world import GroupEvent, Twin, TwinSettings

log = logging.getLogger("runnerfleet.twin.autoscaling")

Handler = Callable[["AutoScalingGroups", dict[str, Any], float], dict[str, Any]]


class Updater:
    """Something that moves a group on by itself: a rolling update, an instance refresh."""

    group_name: str  # the group it moves ("" for a whole stack's)

    def step(self, groups: AutoScalingGroups, now: float) -> bool:
        """One look at the group; False once finished (the updater is then dropped)."""
        return False


class AutoScalingGroups:
    def __init__(
        self,
        settings: TwinSettings,
        clock: Callable[[], float],
        launcher: Launcher | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.launcher = launcher
        self.groups: dict[str, Group] = {}
        self.updaters: list[Updater] = []  # the active ones
        self.history: list[Updater] = []  # every one started (DescribeInstanceRefreshes)
        self.stack_sync: Callable[[AutoScalingGroups, str], None] | None = None

    # ----- the Groups port ----------------------------------------------------------------

    def call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        from runnerfleet.sandbox.twin.asgactions import HANDLERS

        handler = HANDLERS.get(action)
        if handler is None:
            raise unsupported(action)
        now = self.clock()
        self.pump(now)  # what time did since the last call happens first
        try:
            return handler(self, dict(params), now)
        finally:
            self.pump(now)
            for group in self.groups.values():
                group.cause = ""

    def sync_stack(self, stack_name: str) -> None:
        if self.stack_sync is not None:
            self.stack_sync(self, stack_name)

    def tick(self, now: float) -> list[GroupEvent]:
        self.pump(now)
        self.updaters = [u for u in self.updaters if _step(u, self, now)]
        self.pump(now)
        events: list[GroupEvent] = []
        for group in list(self.groups.values()):
            events.extend(group.outbox)
            group.outbox = []
            if group.deleting and not group.fleet.describe():
                del self.groups[group.name]  # a deleted group goes once its instances have
        return events

    # ----- helpers for the actions --------------------------------------------------------

    def pump(self, now: float) -> None:
        for group in self.groups.values():
            group.pump(now, self.launcher)

    def group(self, name: str | None) -> Group:
        group = self.groups.get(name or "")
        if group is None or (group.deleting and not group.fleet.describe()):
            raise FleetModelError(
                "ValidationError",
                f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found",
            )
        return group

    def owner_of(self, instance_id: str) -> Group | None:
        for group in self.groups.values():
            if any(s.instance_id == instance_id for s in group.fleet.describe()):
                return group
        return None

    def arn(self, name: str) -> str:
        s = self.settings
        return (
            f"arn:aws:autoscaling:{s.region}:{s.account_id}:autoScalingGroup:"
            f"00000000-0000-0000-0000-000000000000:autoScalingGroupName/{name}"
        )

    def start(self, updater: Updater) -> None:
        self.updaters.append(updater)
        self.history.append(updater)
        del self.history[:-200]

    def refreshing(self, name: str) -> Updater | None:
        return next((u for u in self.updaters if u.group_name == name), None)


def _step(updater: Updater, groups: AutoScalingGroups, now: float) -> bool:
    try:
        return updater.step(groups, now)
    except Exception:
        log.exception("updater %s failed; dropped", updater)
        return False


def unsupported(action: str) -> query.QueryError:
    return query.QueryError(
        "UnsupportedOperation",
        f"The sandbox twin does not emulate autoscaling:{action}; docs/sandbox.md lists the "
        "Auto Scaling actions it serves",
    )


# ----- the route --------------------------------------------------------------------------


def autoscaling_route(twin: Twin) -> Callable[[AwsRequest, Passthrough], Reply]:
    """The front's route for the ``autoscaling`` service: Query in, Query XML out."""

    def route(request: AwsRequest, _moto: Passthrough) -> Reply:
        try:
            op = query.operation("autoscaling", request.action)
            params = query.parse(op, request.form())
            with twin.lock:
                output = twin.groups.call(request.action, params)
        except query.QueryError as exc:
            return _error(request, exc.status, exc.code, exc.message)
        except FleetModelError as exc:
            code, status = wire_code(exc.code)
            return _error(request, status, code, model_message(exc))
        return Reply(200, [("Content-Type", "text/xml")], query.serialize(op, output))

    return route


def _error(request: AwsRequest, status: int, code: str, message: str) -> Reply:
    if request.json_protocol:
        return error_reply(request, status, code, message)
    return Reply(status, [("Content-Type", "text/xml")], query.error("autoscaling", code, message))


def wire_code(code: str) -> tuple[str, int]:
    """The error code and HTTP status on the wire for a fault named by its shape."""
    for shape in query.service_model("autoscaling").error_shapes:
        if shape.name == code:
            meta = shape.metadata.get("error", {})
            return str(meta.get("code", code)), int(meta.get("httpStatusCode", 400))
    return code, 400


def model_message(exc: FleetModelError) -> str:
    prefix = f"{exc.code}: "
    return exc.message[len(prefix) :] if exc.message.startswith(prefix) else exc.message
