"""The front's ``ssm`` route: Run Command's actions answered by the twin, the rest by moto.

SendCommand, GetCommandInvocation, ListCommandInvocations, ListCommands and CancelCommand are
served from ``RunCommandService`` in SSM's JSON protocol (shapes in ``ssmmodel``); parameters,
documents and everything else of SSM go to moto.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply, Route, error_reply
from runnerfleet.sandbox.twin.runcommand import DEFAULT_DELIVERY_TIMEOUT_S, RunCommandService
from runnerfleet.sandbox.twin.ssmdocs import SsmError
from runnerfleet.sandbox.twin.ssmmodel import Command, command_shape, invocation_shape

PAGE_MAX = 50
JSON_TYPE = "application/x-amz-json-1.1"

Action = Callable[[RunCommandService, Mapping[str, Any]], dict[str, Any]]


def ssm_route(service: RunCommandService) -> Route:
    """The route the twin puts under ``ssm``."""

    def _route(request: AwsRequest, moto: Passthrough) -> Reply:
        action = ACTIONS.get(request.action)
        if action is None:
            return moto()
        try:
            params = json.loads(request.body or b"{}")
            out = action(service, params if isinstance(params, dict) else {})
        except SsmError as exc:
            return error_reply(request, 400, exc.code, exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            return error_reply(request, 400, "ValidationException", f"bad request: {exc}")
        return Reply(200, [("Content-Type", JSON_TYPE)], json.dumps(out).encode())

    return _route


def send_command(service: RunCommandService, params: Mapping[str, Any]) -> dict[str, Any]:
    instance_ids = list(params.get("InstanceIds") or [])
    for target in params.get("Targets") or []:
        if target.get("Key") != "InstanceIds":
            raise SsmError("ValidationException", "the sandbox resolves only InstanceIds targets")
        instance_ids += list(target.get("Values") or [])
    command_id = service.send(
        str(params["DocumentName"]),
        instance_ids,
        dict(params.get("Parameters") or {}),
        str(params.get("Comment") or ""),
        timeout_seconds=int(params.get("TimeoutSeconds") or DEFAULT_DELIVERY_TIMEOUT_S),
        document_version=str(params.get("DocumentVersion") or ""),
    )
    return {"Command": command_shape(service.command(command_id))}


def get_command_invocation(service: RunCommandService, params: Mapping[str, Any]) -> dict[str, Any]:
    name = params.get("PluginName")
    return service.invocation(
        str(params["CommandId"]), str(params["InstanceId"]), None if name is None else str(name)
    )


def list_command_invocations(
    service: RunCommandService, params: Mapping[str, Any]
) -> dict[str, Any]:
    details = bool(params.get("Details"))
    rows = [
        invocation_shape(command, invocation, details)
        for command in _selected(service, params)
        for invocation in command.invocations.values()
        if params.get("InstanceId") in (None, invocation.instance_id)
    ]
    return _page(rows, params, "CommandInvocations")


def list_commands(service: RunCommandService, params: Mapping[str, Any]) -> dict[str, Any]:
    rows = [
        command_shape(command)
        for command in _selected(service, params)
        if params.get("InstanceId") in (None, *command.invocations)
    ]
    return _page(rows, params, "Commands")


def cancel_command(service: RunCommandService, params: Mapping[str, Any]) -> dict[str, Any]:
    service.cancel(str(params["CommandId"]), list(params.get("InstanceIds") or []))
    return {}


ACTIONS: dict[str, Action] = {
    "SendCommand": send_command,
    "GetCommandInvocation": get_command_invocation,
    "ListCommandInvocations": list_command_invocations,
    "ListCommands": list_commands,
    "CancelCommand": cancel_command,
}


def _selected(service: RunCommandService, params: Mapping[str, Any]) -> list[Command]:
    if params.get("CommandId"):
        return [service.command(str(params["CommandId"]))]
    return service.commands()


def _page(rows: list[dict[str, Any]], params: Mapping[str, Any], key: str) -> dict[str, Any]:
    size = int(params.get("MaxResults") or PAGE_MAX)
    if not 1 <= size <= PAGE_MAX:
        raise SsmError("ValidationException", f"MaxResults must be 1..{PAGE_MAX}.")
    start = int(params.get("NextToken") or 0)
    out: dict[str, Any] = {key: rows[start : start + size]}
    if start + size < len(rows):
        out["NextToken"] = str(start + size)
    return out
