"""SSM side of draining: Run Command of the drain document, its status, and the dedupe records.

One drain per lifecycle action token: the record ``<prefix>/<token>`` is created with
``Overwrite=False`` (atomic: the second writer gets ParameterAlreadyExists), then updated with the
command id. A record carries a lease: a retry that finds an expired lease resumes the work (the
first invocation died), one that finds a live lease is a duplicate and stops.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import error_code
from runnerfleet.aws.lifecycle import aws_error
from runnerfleet.drain import CommandStatus, classify_invocation, undeliverable_error

MIN_DELIVERY_TIMEOUT_S = 30  # SendCommand TimeoutSeconds lower bound
_EPOCH = datetime.fromtimestamp(0, tz=UTC)


class Undeliverable(Exception):
    """SendCommand refused the instance: it is not (or no longer) managed by SSM."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class ActionRecord:
    token: str
    instance_id: str
    state: str  # claimed | sent | abandoned
    lease_until: float
    command_id: str = ""
    first_failure_at: float | None = None
    started_at: float = 0.0  # first claim: the give-up timeout runs from here

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__}, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> ActionRecord:
        data = json.loads(text)
        return ActionRecord(**{k: data.get(k) for k in ActionRecord.__slots__ if k in data})


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: str  # new | resume | duplicate
    record: ActionRecord


class ActionRecords:
    """Dedupe records of lifecycle actions, as SSM String parameters under one path."""

    def __init__(self, ssm: Any, prefix: str) -> None:
        self._ssm = ssm
        self._prefix = prefix.rstrip("/")

    def name(self, token: str) -> str:
        return f"{self._prefix}/{token}"

    def claim(self, token: str, instance_id: str, *, now: float, lease_s: float) -> Claim:
        fresh = ActionRecord(token, instance_id, "claimed", now + lease_s, started_at=now)
        if self._create(fresh):
            return Claim("new", fresh)
        current = self.get(token)
        if current is None:  # deleted between the two calls: treat as new
            self.save(fresh)
            return Claim("new", fresh)
        if current.state == "abandoned" or current.lease_until > now:
            return Claim("duplicate", current)
        taken = replace(current, lease_until=now + lease_s)
        self.save(taken)
        return Claim("resume", taken)

    def get(self, token: str) -> ActionRecord | None:
        try:
            value = self._ssm.get_parameter(Name=self.name(token))["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise aws_error(exc, "reading the drain record", "grant ssm:GetParameter") from exc
        return ActionRecord.from_json(value)

    def save(self, record: ActionRecord) -> None:
        self._put(record, overwrite=True)

    def prune(self, *, older_than: float, limit: int = 50) -> int:
        """Delete up to ``limit`` records last written before ``older_than``; best effort."""
        cutoff = datetime.fromtimestamp(older_than, tz=UTC)
        names: list[str] = []
        pages = self._ssm.get_paginator("get_parameters_by_path").paginate(
            Path=self._prefix, PaginationConfig={"MaxItems": max(500, limit)}
        )
        for page in pages:
            names += [
                p["Name"]
                for p in page.get("Parameters", [])
                if p.get("LastModifiedDate", cutoff + timedelta(1)) < cutoff
            ]
        for chunk in range(0, min(len(names), limit), 10):
            self._ssm.delete_parameters(Names=names[chunk : min(chunk + 10, limit)])
        return min(len(names), limit)

    def _create(self, record: ActionRecord) -> bool:
        try:
            self._put(record, overwrite=False)
        except ClientError as exc:
            if error_code(exc) == "ParameterAlreadyExists":
                return False
            raise aws_error(exc, "writing the drain record", "grant ssm:PutParameter") from exc
        return True

    def _put(self, record: ActionRecord, *, overwrite: bool) -> None:
        self._ssm.put_parameter(
            Name=self.name(record.token),
            Value=record.to_json(),
            Type="String",
            Overwrite=overwrite,
        )


class DrainCommands:
    """Run Command of the drain (or spot stop) document on one instance."""

    def __init__(
        self, ssm: Any, *, log_group: str | None = None, delivery_timeout_s: int = 60
    ) -> None:
        self._ssm = ssm
        self._log_group = log_group
        self._delivery_timeout = max(MIN_DELIVERY_TIMEOUT_S, delivery_timeout_s)

    def send(
        self, instance_id: str, document: str, parameters: Mapping[str, str], comment: str
    ) -> str:
        kwargs: dict[str, Any] = {
            "InstanceIds": [instance_id],
            "DocumentName": document,
            "Parameters": {k: [v] for k, v in parameters.items()},
            "TimeoutSeconds": self._delivery_timeout,
            "Comment": comment[:100],
        }
        if self._log_group:
            kwargs["CloudWatchOutputConfig"] = {
                "CloudWatchLogGroupName": self._log_group,
                "CloudWatchOutputEnabled": True,
            }
        try:
            return str(self._ssm.send_command(**kwargs)["Command"]["CommandId"])
        except ClientError as exc:
            if undeliverable_error(error_code(exc)):
                raise Undeliverable(error_code(exc)) from exc
            raise aws_error(
                exc,
                f"sending {document} to {instance_id}",
                "check the document exists and ssm:SendCommand is granted",
            ) from exc

    def status(self, command_id: str, instance_id: str) -> tuple[CommandStatus, str]:
        """(status, stdout) of the command on the instance; not yet visible counts as pending."""
        try:
            inv = self._ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ClientError as exc:
            if error_code(exc) == "InvocationDoesNotExist":  # eventually consistent
                return CommandStatus.PENDING, ""
            if error_code(exc) == "InvalidInstanceId":
                return CommandStatus.UNREACHABLE, ""
            raise aws_error(
                exc, f"reading command {command_id}", "grant ssm:GetCommandInvocation"
            ) from exc
        status = classify_invocation(
            str(inv.get("Status", "")),
            str(inv.get("StatusDetails", "")),
            int(inv.get("ResponseCode", -1)),
        )
        return status, str(inv.get("StandardOutputContent", ""))

    def latest(self, instance_id: str, document: str) -> tuple[str, CommandStatus] | None:
        """The newest command of ``document`` sent to the instance, with its status."""
        out = self._ssm.list_commands(InstanceId=instance_id, MaxResults=50)
        mine = [c for c in out.get("Commands", []) if c.get("DocumentName") == document]
        if not mine:
            return None
        newest = max(mine, key=lambda c: c.get("RequestedDateTime") or _EPOCH)
        command_id = str(newest["CommandId"])
        return command_id, self.status(command_id, instance_id)[0]
