"""Apply: carry out one scaling decision through a port to the Auto Scaling group.

The order is fixed and safe: protect busy instances first, then terminate the named idle
ones (decrementing desired), then resize, then unprotect. The scale time is stamped only when
the group really changed, so a failed call never starts a cooldown. Every call goes through
``GroupPort``; the boto3 adapter, the sandbox and the simulator implement it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from runnerfleet.errors import RunnerfleetError
from runnerfleet.scaling.observe import GroupState, IdleTags
from runnerfleet.scaling.types import ScalingDecision

PROTECTION_BATCH = 50  # SetInstanceProtection takes at most 50 instance ids
TAG_BATCH = 200  # CreateTags/DeleteTags take up to 1000 ids; AWS recommends smaller batches
TAG_LAST_IN = "runnerfleet:last-scale-in-at"
TAG_LAST_OUT = "runnerfleet:last-scale-out-at"
TAG_IDLE_SINCE = "runnerfleet:idle-since"


class CallFailed(RunnerfleetError):
    """One call to the group failed; ``str()`` is ``Code: message``. The next run retries."""


class GroupPort(Protocol):
    """The calls an evaluation makes to its group. Each raises ``CallFailed`` on failure."""

    def set_protection(self, group: str, instance_ids: Sequence[str], protected: bool) -> None: ...

    def terminate(self, instance_id: str) -> None:
        """Terminate through the group, decrementing desired capacity."""

    def set_desired(self, group: str, desired: int) -> None: ...

    def tag_group(self, group: str, key: str, value: str) -> None: ...

    def tag_instances(self, instance_ids: Sequence[str], key: str, value: str | None) -> None:
        """Set ``key`` on the instances, or remove it when ``value`` is None."""


@dataclass
class ApplyReport:
    calls: list[str] = field(default_factory=list)  # what was done, for logs and the CLI
    errors: list[str] = field(default_factory=list)  # what failed; the next run retries
    changed: bool = False  # the group's capacity changed


def apply_decision(
    port: GroupPort,
    group: GroupState,
    decision: ScalingDecision,
    now: float,
    idle_tags: IdleTags | None = None,
) -> ApplyReport:
    report = ApplyReport()
    if _nothing_to_do(decision, idle_tags):
        return report  # most evaluations: no call to make
    _protect(port, group.name, decision.protect, True, report)
    removed = sum(int(_terminate(port, iid, report)) for iid in decision.terminate)
    report.changed = removed > 0
    # an instance that could not be terminated keeps its place: lowering desired for it
    # would let the group choose a victim itself
    wanted = decision.desired + len(decision.terminate) - removed
    if wanted != group.desired - removed and decision.action != "hold":
        resized = _try(
            report, f"SetDesiredCapacity {wanted}", lambda: port.set_desired(group.name, wanted)
        )
        report.changed = resized or report.changed
    _protect(port, group.name, decision.unprotect, False, report)
    if report.changed:  # the cooldown starts only when the group really changed
        key = TAG_LAST_OUT if decision.action == "scale_out" else TAG_LAST_IN
        _try(report, f"tag {key}", lambda: port.tag_group(group.name, key, f"{now:.0f}"))
    if idle_tags:
        _tag_idle(port, idle_tags, report)
    return report


def _nothing_to_do(decision: ScalingDecision, idle_tags: IdleTags | None) -> bool:
    return (
        decision.action == "hold"
        and not decision.protect
        and not decision.unprotect
        and not decision.terminate
        and not idle_tags
    )


def _protect(port: GroupPort, name: str, ids: Sequence[str], on: bool, report: ApplyReport) -> None:
    for batch in batches(ids, PROTECTION_BATCH):
        _try(
            report,
            f"SetInstanceProtection({on}) {len(batch)} instance(s)",
            partial(port.set_protection, name, batch, on),
        )


def _terminate(port: GroupPort, instance_id: str, report: ApplyReport) -> bool:
    what = f"TerminateInstanceInAutoScalingGroup {instance_id} (decrement)"
    return _try(report, what, lambda: port.terminate(instance_id))


def _tag_idle(port: GroupPort, idle_tags: IdleTags, report: ApplyReport) -> None:
    """One tag call per distinct start time (first sightings share "now"), one untag call
    for the instances that are busy again."""
    by_value: dict[str, list[str]] = {}
    for iid, since in sorted(idle_tags.items()):
        if since is not None:
            by_value.setdefault(f"{since:.0f}", []).append(iid)
    for value, ids in by_value.items():
        for batch in batches(ids, TAG_BATCH):
            _try(
                report,
                f"tag {len(batch)} idle instance(s)",
                partial(port.tag_instances, batch, TAG_IDLE_SINCE, value),
            )
    busy = sorted(iid for iid, since in idle_tags.items() if since is None)
    for batch in batches(busy, TAG_BATCH):
        _try(
            report,
            f"untag {len(batch)} busy instance(s)",
            partial(port.tag_instances, batch, TAG_IDLE_SINCE, None),
        )


def batches(items: Iterable[str], size: int) -> list[list[str]]:
    pending = list(items)
    if not pending:
        return []
    return [pending[start : start + size] for start in range(0, len(pending), size)]


def _try(report: ApplyReport, what: str, call: Callable[[], None]) -> bool:
    try:
        call()
    except CallFailed as exc:
        report.errors.append(f"{what}: {exc}"[:400])
        return False
    report.calls.append(what)
    return True
