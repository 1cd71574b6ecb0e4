"""Reading SSM Run Command answers as drain command statuses (pure)."""

from __future__ import annotations

from runnerfleet.drain.types import CommandStatus

_PENDING = frozenset({"Pending", "Delayed"})
_UNDELIVERABLE_DETAILS = frozenset({"Undeliverable", "Delivery Timed Out", "Terminated"})
_UNDELIVERABLE_ERRORS = frozenset({"InvalidInstanceId", "InvalidInstanceInformationFilterValue"})


def undeliverable_error(error_code: str) -> bool:
    """True for SendCommand errors that mean this instance cannot receive commands."""
    return error_code in _UNDELIVERABLE_ERRORS


def classify_invocation(status: str, details: str = "", response_code: int = -1) -> CommandStatus:
    """Map a GetCommandInvocation Status/StatusDetails/ResponseCode to a CommandStatus.

    TimedOut covers both delivery and execution timeouts; only the details tell them apart, and
    only a delivery failure (the script never started: ResponseCode -1) means unreachable.
    """
    if details in _UNDELIVERABLE_DETAILS and response_code == -1:
        return CommandStatus.UNREACHABLE
    if status in _PENDING:
        return CommandStatus.PENDING
    if status in ("InProgress", "Cancelling"):
        return CommandStatus.RUNNING
    if status == "Success":
        return CommandStatus.SUCCEEDED
    return CommandStatus.FAILED
