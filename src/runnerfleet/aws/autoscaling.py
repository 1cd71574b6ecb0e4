"""Auto Scaling adapter for the autoscaler: observe the group, apply a decision.

Clients are passed in (from ``ClientFactory`` or, in the Lambda, from boto3 directly). State
the stateless autoscaler needs between runs lives on AWS itself: the last scale-in/out times as
group tags, and when each instance became idle as an instance tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import botocore.exceptions
import botocore.parsers

from runnerfleet.scaling.types import LifecycleState, ScalingDecision, parse_state

AddressMapper = Callable[[str, str | None], str | None]  # (instance id, private IP) -> host

TAG_LAST_IN = "runnerfleet:last-scale-in-at"
TAG_LAST_OUT = "runnerfleet:last-scale-out-at"
TAG_IDLE_SINCE = "runnerfleet:idle-since"
ACTIVE_REFRESH = frozenset({"Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"})
PROTECTION_BATCH = 50  # SetInstanceProtection takes at most 50 instance ids
_CALL_ERRORS = (botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)


def private_ip(instance_id: str, address: str | None) -> str | None:
    """The real-AWS mapper: scrape the instance's private IP (inside the VPC)."""
    return address


@dataclass(frozen=True, slots=True)
class Member:
    instance_id: str
    state: LifecycleState
    protected: bool
    launched_at: float
    host: str | None  # where its /metrics live, after the address mapper
    idle_since: float | None  # from the instance tag


@dataclass(frozen=True, slots=True)
class GroupState:
    name: str
    desired: int
    min_size: int
    max_size: int
    members: tuple[Member, ...]
    refresh_in_progress: bool
    last_scale_in_at: float | None
    last_scale_out_at: float | None
    notes: tuple[str, ...] = ()


@dataclass
class ApplyReport:
    calls: list[str] = field(default_factory=list)  # what was done, for logs and the CLI
    errors: list[str] = field(default_factory=list)  # what failed; the next run retries


class AutoScalingAdapter:
    """Read and change one Auto Scaling group. ``cloudformation`` is optional: with it, any
    stack update in progress (a rolling update) also counts as "do not fight it"."""

    def __init__(
        self,
        autoscaling: Any,
        ec2: Any,
        address_of: AddressMapper = private_ip,
        cloudformation: Any | None = None,
        stack_name: str | None = None,
    ) -> None:
        self._asg = autoscaling
        self._ec2 = ec2
        self._address_of = address_of
        self._cfn = cloudformation
        self._stack = stack_name

    # ---- observe ----

    def observe(self, group_name: str) -> GroupState:
        group = self._describe_group(group_name)
        tags = {t["Key"]: t.get("Value", "") for t in group.get("Tags", [])}
        rows = list(group.get("Instances", [])) + self._warm_instances(group_name)
        ec2_info = self._ec2_details([r["InstanceId"] for r in rows])
        refresh, notes = self._refresh_in_progress(group_name)
        return GroupState(
            name=group_name,
            desired=int(group["DesiredCapacity"]),
            min_size=int(group["MinSize"]),
            max_size=int(group["MaxSize"]),
            members=tuple(m for m in (self._member(r, ec2_info) for r in rows) if m is not None),
            refresh_in_progress=refresh,
            last_scale_in_at=_float_or_none(tags.get(TAG_LAST_IN)),
            last_scale_out_at=_float_or_none(tags.get(TAG_LAST_OUT)),
            notes=notes,
        )

    def _describe_group(self, name: str) -> dict[str, Any]:
        groups = self._asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        found: list[dict[str, Any]] = groups.get("AutoScalingGroups", [])
        if not found:
            raise LookupError(f"Auto Scaling group {name!r} not found")
        return found[0]

    def _warm_instances(self, name: str) -> list[dict[str, Any]]:
        try:
            pool = self._asg.describe_warm_pool(AutoScalingGroupName=name)
        except _CALL_ERRORS:
            return []  # no warm pool configured (or an emulator without one)
        return list(pool.get("Instances", []))

    def _ec2_details(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        details: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 200):
            chunk = list(ids[start : start + 200])
            for reservation in self._ec2.describe_instances(InstanceIds=chunk)["Reservations"]:
                for inst in reservation["Instances"]:
                    details[inst["InstanceId"]] = inst
        return details

    def _member(self, row: dict[str, Any], ec2_info: dict[str, dict[str, Any]]) -> Member | None:
        state = parse_state(str(row.get("LifecycleState", "")))
        if state is None:  # Standby, Detaching, ...: not ours to count or touch
            return None
        iid = row["InstanceId"]
        info = ec2_info.get(iid, {})
        tags = {t["Key"]: t.get("Value", "") for t in info.get("Tags", [])}
        launched = info.get("LaunchTime")
        return Member(
            instance_id=iid,
            state=state,
            protected=bool(row.get("ProtectedFromScaleIn", False)),
            launched_at=launched.timestamp() if launched is not None else 0.0,
            host=self._address_of(iid, info.get("PrivateIpAddress")),
            idle_since=_float_or_none(tags.get(TAG_IDLE_SINCE)),
        )

    def _refresh_in_progress(self, name: str) -> tuple[bool, tuple[str, ...]]:
        notes: list[str] = []
        try:
            rows = self._asg.describe_instance_refreshes(AutoScalingGroupName=name, MaxRecords=5)
            if any(r.get("Status") in ACTIVE_REFRESH for r in rows.get("InstanceRefreshes", [])):
                return True, ()
        except _CALL_ERRORS as exc:
            notes.append(f"could not read instance refreshes ({type(exc).__name__})")
        if self._cfn is not None and self._stack:
            try:
                stack = self._cfn.describe_stacks(StackName=self._stack)["Stacks"][0]
                if str(stack.get("StackStatus", "")).endswith("_IN_PROGRESS"):
                    return True, (f"stack {self._stack} is {stack['StackStatus']}",)
            except _CALL_ERRORS as exc:
                notes.append(f"could not read the stack status ({type(exc).__name__})")
        return False, tuple(notes)

    # ---- apply ----

    def apply(
        self,
        group: GroupState,
        decision: ScalingDecision,
        now: float,
        idle_tags: dict[str, float | None] | None = None,
    ) -> ApplyReport:
        """Protect busy instances first, then remove idle ones, then resize, then unprotect."""
        report = ApplyReport()
        self._protect(group.name, decision.protect, True, report)
        removed = self._terminate(decision.terminate, report)
        changed = removed > 0
        # an instance that could not be terminated keeps its place: lowering desired for it
        # would let the group choose a victim itself
        wanted = decision.desired + len(decision.terminate) - removed
        if wanted != group.desired - removed and decision.action != "hold":
            changed = self._set_desired(group.name, wanted, report) or changed
        self._protect(group.name, decision.unprotect, False, report)
        if changed:  # the cooldown starts only when the group really changed
            self._stamp(group.name, decision.action, now, report)
        self._tag_idle(idle_tags or {}, report)
        return report

    def _protect(self, name: str, ids: Iterable[str], on: bool, report: ApplyReport) -> None:
        pending = list(ids)
        for start in range(0, len(pending), PROTECTION_BATCH):
            batch = pending[start : start + PROTECTION_BATCH]
            _try(
                report,
                f"SetInstanceProtection({on}) {len(batch)} instance(s)",
                partial(
                    self._asg.set_instance_protection,
                    AutoScalingGroupName=name,
                    InstanceIds=batch,
                    ProtectedFromScaleIn=on,
                ),
            )

    def _terminate(self, ids: Iterable[str], report: ApplyReport) -> int:
        done = 0
        for iid in ids:
            ok = _try(
                report,
                f"TerminateInstanceInAutoScalingGroup {iid} (decrement)",
                partial(
                    self._asg.terminate_instance_in_auto_scaling_group,
                    InstanceId=iid,
                    ShouldDecrementDesiredCapacity=True,
                ),
            )
            done += int(ok)
        return done

    def _set_desired(self, name: str, desired: int, report: ApplyReport) -> bool:
        return _try(
            report,
            f"SetDesiredCapacity {desired}",
            lambda: self._asg.set_desired_capacity(
                AutoScalingGroupName=name, DesiredCapacity=desired, HonorCooldown=False
            ),
        )

    def _stamp(self, name: str, action: str, now: float, report: ApplyReport) -> None:
        key = TAG_LAST_OUT if action == "scale_out" else TAG_LAST_IN
        tag = {
            "ResourceId": name,
            "ResourceType": "auto-scaling-group",
            "Key": key,
            "Value": f"{now:.0f}",
            "PropagateAtLaunch": False,
        }
        _try(report, f"tag {key}", lambda: self._asg.create_or_update_tags(Tags=[tag]))

    def _tag_idle(self, idle_tags: dict[str, float | None], report: ApplyReport) -> None:
        """One CreateTags per distinct start time (all first sightings share "now"), one
        DeleteTags for the instances that are busy again."""
        by_value: dict[str, list[str]] = {}
        for iid, since in sorted(idle_tags.items()):
            if since is not None:
                by_value.setdefault(f"{since:.0f}", []).append(iid)
        for value, ids in by_value.items():
            _try(
                report,
                f"tag {len(ids)} idle instance(s)",
                partial(
                    self._ec2.create_tags,
                    Resources=ids,
                    Tags=[{"Key": TAG_IDLE_SINCE, "Value": value}],
                ),
            )
        stop = sorted(iid for iid, since in idle_tags.items() if since is None)
        if stop:
            _try(
                report,
                f"untag {len(stop)} busy instance(s)",
                lambda: self._ec2.delete_tags(Resources=stop, Tags=[{"Key": TAG_IDLE_SINCE}]),
            )


def _try(report: ApplyReport, what: str, call: Callable[[], Any]) -> bool:
    try:
        call()
    except _CALL_ERRORS as exc:
        report.errors.append(f"{what}: {_code(exc)}")
        return False
    report.calls.append(what)
    return True


def _code(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}"[:300]
    return type(exc).__name__


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
