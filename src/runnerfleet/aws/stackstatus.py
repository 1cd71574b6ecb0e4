"""CloudFormation stack and resource statuses, classified once so callers never match strings.

Also the plain data the engine hands to the CLI: stack events as text lines and the
"no changes" recognition that AWS reports through a FAILED change set's status reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# A stack in one of these is busy: another operation must finish first.
IN_PROGRESS_SUFFIX = "_IN_PROGRESS"

# Terminal statuses that mean the last operation did what was asked.
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"})

# Terminal statuses that mean the last operation failed (the stack may still be usable).
FAILURE = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_FAILED",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
    }
)

# A stack whose first creation failed and was rolled back: it can only be deleted.
ROLLBACK_COMPLETE = "ROLLBACK_COMPLETE"
# A stack created by a CREATE change set that was never executed: it has no resources yet.
REVIEW_IN_PROGRESS = "REVIEW_IN_PROGRESS"

# What AWS says in a FAILED change set when the template and parameters are unchanged.
NO_CHANGE_REASONS = (
    "didn't contain changes",
    "No updates are to be performed",
)


def is_in_progress(status: str) -> bool:
    """Busy statuses, except REVIEW_IN_PROGRESS, which waits for us and blocks nothing."""
    return status.endswith(IN_PROGRESS_SUFFIX) and status != REVIEW_IN_PROGRESS


def is_terminal(status: str) -> bool:
    return not status.endswith(IN_PROGRESS_SUFFIX) or status == REVIEW_IN_PROGRESS


def is_failure(status: str) -> bool:
    return status in FAILURE or status.endswith("_FAILED")


def means_no_changes(reason: str | None) -> bool:
    return bool(reason) and any(text in str(reason) for text in NO_CHANGE_REASONS)


@dataclass(frozen=True)
class StackEvent:
    """One line of a stack's event history, stripped to what an operator reads."""

    event_id: str
    timestamp: datetime
    logical_id: str
    resource_type: str
    status: str
    reason: str

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> StackEvent:
        return cls(
            event_id=str(raw.get("EventId", "")),
            timestamp=raw["Timestamp"],
            logical_id=str(raw.get("LogicalResourceId", "")),
            resource_type=str(raw.get("ResourceType", "")),
            status=str(raw.get("ResourceStatus", "")),
            reason=str(raw.get("ResourceStatusReason", "") or ""),
        )

    @property
    def failed(self) -> bool:
        return self.status.endswith("_FAILED")

    @property
    def finished(self) -> bool:
        """A resource reached a terminal state (progress counts these)."""
        return self.status.endswith(("_COMPLETE", "_FAILED", "_SKIPPED"))

    def line(self) -> str:
        when = self.timestamp.strftime("%H:%M:%S")
        text = f"{when} {self.status:<28} {self.logical_id} ({self.resource_type})"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(frozen=True)
class StackState:
    stack_id: str
    name: str
    status: str
    reason: str
    parameters: Mapping[str, str]
    outputs: Mapping[str, str]
    tags: Mapping[str, str]
    termination_protection: bool

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> StackState:
        return cls(
            stack_id=str(raw["StackId"]),
            name=str(raw["StackName"]),
            status=str(raw["StackStatus"]),
            reason=str(raw.get("StackStatusReason", "") or ""),
            parameters={
                p["ParameterKey"]: str(p.get("ParameterValue", ""))
                for p in _list(raw, "Parameters")
            },
            outputs={o["OutputKey"]: str(o.get("OutputValue", "")) for o in _list(raw, "Outputs")},
            tags={t["Key"]: str(t["Value"]) for t in _list(raw, "Tags")},
            termination_protection=bool(raw.get("EnableTerminationProtection", False)),
        )


def _list(raw: Mapping[str, Any], key: str) -> list[Any]:
    return list(raw.get(key) or [])
