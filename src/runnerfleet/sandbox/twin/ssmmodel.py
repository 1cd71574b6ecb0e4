"""Run Command's records (commands, invocations, one run per step) and their API shapes.

The shapes are SSM's field names with its caps: StandardOutputContent 24,000 characters,
StandardErrorContent 8,000, a plugin's Output in ListCommandInvocations 2,500. Timestamps are
epoch seconds (the JSON protocol's form) except GetCommandInvocation's date strings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runnerfleet.sandbox.twin.ssmdocs import Document, SsmError, Step

STDOUT_CAP, STDERR_CAP, PLUGIN_OUTPUT_CAP = 24_000, 8_000, 2_500
#: Status -> StatusDetails for the plain cases (timeouts and delivery failures say more)
DETAILS = {
    "Pending": "Pending",
    "InProgress": "In Progress",
    "Success": "Success",
    "Failed": "Failed",
    "Cancelled": "Cancelled",
    "Cancelling": "Cancelling",
}
FINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})


@dataclass
class PluginRun:
    """One step on one instance: GetCommandInvocation's answer for that PluginName."""

    step: Step
    status: str = "Pending"
    details: str = "Pending"
    response_code: int = -1
    started: float | None = None
    ended: float | None = None
    stdout: Path | None = None
    stderr: Path | None = None
    note: str = ""  # stderr of a step the twin did not run

    def finish(self, status: str, details: str, code: int, at: float) -> None:
        self.status, self.details, self.response_code, self.ended = status, details, code, at

    def output(self, which: str, cap: int) -> str:
        path = self.stdout if which == "stdout" else self.stderr
        if path is None or self.ended is None or not path.exists():
            return self.note[:cap] if which == "stderr" else ""
        with path.open("rb") as handle:
            return handle.read(cap * 4).decode("utf-8", "replace")[:cap]


@dataclass
class Invocation:
    instance_id: str
    plugins: list[PluginRun]
    status: str = "Pending"
    details: str = "Pending"
    cancel: threading.Event = field(default_factory=threading.Event)

    def set(self, status: str, details: str = "") -> None:
        self.status, self.details = status, details or DETAILS[status]


@dataclass
class Command:
    command_id: str
    document: Document
    parameters: dict[str, list[str]]
    comment: str
    requested: float
    timeout_s: int
    invocations: dict[str, Invocation]

    @property
    def deadline(self) -> float:
        return self.requested + self.timeout_s


def invocation_answer(
    command: Command, invocation: Invocation, plugin_name: str | None = None
) -> dict[str, Any]:
    """GetCommandInvocation's output: one step's run (the only one unless named)."""
    plugin = _plugin(invocation, plugin_name)
    whole = plugin_name is None
    return {
        "CommandId": command.command_id,
        "InstanceId": invocation.instance_id,
        "Comment": command.comment,
        "DocumentName": command.document.name,
        "DocumentVersion": command.document.version,
        "PluginName": plugin.step.name,
        "ResponseCode": plugin.response_code,
        "ExecutionStartDateTime": _stamp(plugin.started),
        "ExecutionElapsedTime": _elapsed(plugin),
        "ExecutionEndDateTime": _stamp(plugin.ended),
        "Status": invocation.status if whole else plugin.status,
        "StatusDetails": invocation.details if whole else plugin.details,
        "StandardOutputContent": plugin.output("stdout", STDOUT_CAP),
        "StandardOutputUrl": "",
        "StandardErrorContent": plugin.output("stderr", STDERR_CAP),
        "StandardErrorUrl": "",
        "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
    }


def command_shape(command: Command) -> dict[str, Any]:
    states = [i.status for i in command.invocations.values()]
    status = _command_status(states)
    return {
        "CommandId": command.command_id,
        "DocumentName": command.document.name,
        "DocumentVersion": command.document.version,
        "Comment": command.comment,
        "ExpiresAfter": command.deadline,
        "Parameters": command.parameters,
        "InstanceIds": list(command.invocations),
        "Targets": [],
        "RequestedDateTime": command.requested,
        "Status": status,
        "StatusDetails": status if status != "InProgress" else "In Progress",
        "MaxConcurrency": "50",
        "MaxErrors": "0",
        "TargetCount": len(states),
        "CompletedCount": sum(s in ("Success", "Failed", "TimedOut", "Cancelled") for s in states),
        "ErrorCount": sum(s == "Failed" for s in states),
        "DeliveryTimedOutCount": sum(
            i.details == "Delivery Timed Out" for i in command.invocations.values()
        ),
        "TimeoutSeconds": command.timeout_s,
    }


def invocation_shape(command: Command, invocation: Invocation, details: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "CommandId": command.command_id,
        "InstanceId": invocation.instance_id,
        "InstanceName": "",
        "Comment": command.comment,
        "DocumentName": command.document.name,
        "DocumentVersion": command.document.version,
        "RequestedDateTime": command.requested,
        "Status": invocation.status,
        "StatusDetails": invocation.details,
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "CommandPlugins": [],
    }
    if details:
        shape["CommandPlugins"] = [_plugin_shape(p) for p in invocation.plugins]
    return shape


def _plugin_shape(plugin: PluginRun) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "Name": plugin.step.name,
        "Status": plugin.status,
        "StatusDetails": plugin.details,
        "ResponseCode": plugin.response_code,
        "Output": plugin.output("stdout", PLUGIN_OUTPUT_CAP),
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
    }
    if plugin.started is not None:
        shape["ResponseStartDateTime"] = plugin.started
    if plugin.ended is not None:
        shape["ResponseFinishDateTime"] = plugin.ended
    return shape


def _command_status(states: list[str]) -> str:
    if any(s in ("Pending", "InProgress", "Cancelling") for s in states):
        return "InProgress" if any(s != "Pending" for s in states) else "Pending"
    for final in ("Failed", "TimedOut", "Cancelled"):
        if final in states:
            return final
    return "Success"


def _plugin(invocation: Invocation, name: str | None) -> PluginRun:
    if name is None:
        if len(invocation.plugins) != 1:
            raise SsmError("InvalidPluginName", "The document has several steps: name one.")
        return invocation.plugins[0]
    for plugin in invocation.plugins:
        if plugin.step.name == name:
            return plugin
    raise SsmError("InvalidPluginName", f"The document has no step named {name!r}.")


def _stamp(at: float | None) -> str:
    """GetCommandInvocation's date strings ("" before the step starts)."""
    if at is None:
        return ""
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _elapsed(plugin: PluginRun) -> str:
    if plugin.started is None or plugin.ended is None:
        return ""
    return f"PT{plugin.ended - plugin.started:.3f}S"
