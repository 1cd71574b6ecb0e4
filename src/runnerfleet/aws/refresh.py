"""Instance refresh: start with a minimum healthy percentage, describe, cancel (boto3 adapter).

moto implements none of these calls; tests use botocore's Stubber. Protected (busy) instances are
refreshed too (``ScaleInProtectedInstances=Refresh``): they still leave through the terminate
hook, which drains them, so no job is killed and the refresh never stalls an hour on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import error_code, translate
from runnerfleet.errors import AwsError, SpecError

ACTIVE = frozenset({"Pending", "InProgress", "Cancelling", "Baking", "RollbackInProgress"})
FAILED = frozenset({"Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"})


@dataclass(frozen=True, slots=True)
class RefreshProgress:
    refresh_id: str
    status: str
    percent: int
    to_update: int
    reason: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def line(self) -> str:
        tail = f": {self.reason}" if self.reason else ""
        return (
            f"refresh {self.refresh_id[:8]} {self.status} {self.percent}% "
            f"({self.to_update} to replace){tail}"
        )


class InstanceRefresh:
    def __init__(self, autoscaling: Any) -> None:
        self._asg = autoscaling

    def active(self, group: str) -> RefreshProgress | None:
        for row in self._describe(group, []):
            progress = _progress(row)
            if progress.active:
                return progress
        return None

    def start(
        self,
        group: str,
        *,
        min_healthy: int,
        max_healthy: int | None = None,
        warmup_s: int | None = None,
    ) -> str:
        """Start a refresh; refuses when one is already running."""
        prefs = refresh_preferences(min_healthy, max_healthy, warmup_s)
        running = self.active(group)
        if running is not None:
            raise _already_running(group, running.refresh_id)
        try:
            out = self._asg.start_instance_refresh(
                AutoScalingGroupName=group, Strategy="Rolling", Preferences=prefs
            )
        except ClientError as exc:
            if error_code(exc) == "InstanceRefreshInProgress":
                raise _already_running(group, "") from exc
            raise translate(
                exc,
                f"starting an instance refresh of {group}",
                "check autoscaling:StartInstanceRefresh is allowed",
            ) from exc
        return str(out["InstanceRefreshId"])

    def describe(self, group: str, refresh_id: str) -> RefreshProgress:
        rows = self._describe(group, [refresh_id])
        if not rows:
            raise AwsError(
                f"instance refresh {refresh_id} of {group} not found",
                hint="list them with `aws autoscaling describe-instance-refreshes`",
            )
        return _progress(rows[0])

    def cancel(self, group: str) -> str | None:
        """Cancel the active refresh; None when none was active. Replaced instances stay."""
        try:
            out = self._asg.cancel_instance_refresh(AutoScalingGroupName=group)
        except ClientError as exc:
            if error_code(exc) == "ActiveInstanceRefreshNotFound":
                return None
            raise translate(
                exc, f"cancelling the refresh of {group}", "retry, or cancel it in the console"
            ) from exc
        return str(out.get("InstanceRefreshId", ""))

    def _describe(self, group: str, ids: list[str]) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"AutoScalingGroupName": group}
        if ids:
            kwargs["InstanceRefreshIds"] = ids
        out = self._asg.describe_instance_refreshes(**kwargs)
        return list(out.get("InstanceRefreshes", []))


def _already_running(group: str, refresh_id: str) -> SpecError:
    which = f" ({refresh_id})" if refresh_id else ""
    return SpecError(
        f"an instance refresh of {group} is already running{which}",
        hint="wait for it, or cancel it: `aws autoscaling cancel-instance-refresh "
        f"--auto-scaling-group-name {group}`",
    )


def refresh_preferences(
    min_healthy: int, max_healthy: int | None, warmup_s: int | None
) -> dict[str, Any]:
    """StartInstanceRefresh preferences, after checking the percentages AWS accepts."""
    if not 0 <= min_healthy <= 100:
        raise SpecError(
            f"--min-healthy {min_healthy} is outside 0..100",
            hint="pass a percentage of desired capacity, e.g. 90",
        )
    if max_healthy is not None and not (
        100 <= max_healthy <= 200 and max_healthy - min_healthy <= 100
    ):
        raise SpecError(
            f"--max-healthy {max_healthy} must be 100..200 and at most 100 above --min-healthy",
            hint="e.g. --min-healthy 90 --max-healthy 120 (launch before terminating)",
        )
    prefs: dict[str, Any] = {
        "MinHealthyPercentage": min_healthy,
        "ScaleInProtectedInstances": "Refresh",
        "StandbyInstances": "Terminate",
        "SkipMatching": False,
    }
    if warmup_s is not None:
        prefs["InstanceWarmup"] = warmup_s
    if max_healthy is not None:
        prefs["MaxHealthyPercentage"] = max_healthy
    return prefs


def _progress(row: dict[str, Any]) -> RefreshProgress:
    return RefreshProgress(
        refresh_id=str(row.get("InstanceRefreshId", "")),
        status=str(row.get("Status", "")),
        percent=int(row.get("PercentageComplete", 0) or 0),
        to_update=int(row.get("InstancesToUpdate", 0) or 0),
        reason=str(row.get("StatusReason", "") or ""),
    )
