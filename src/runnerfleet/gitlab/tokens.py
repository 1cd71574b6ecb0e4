"""Runner tokens in SSM SecureString, one parameter per registration.

The parameter's *value* is the ``glrt-`` token (read with decryption only when a runner API
call needs it). Its *description* holds non-secret bookkeeping as JSON: the GitLab runner id
and a fingerprint of the settings it was created with. That is what ``plan_registrations``
compares against, so planning never decrypts anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.errors import AwsError
from runnerfleet.gitlab.client import read_secure_parameter

DEFAULT_KMS_KEY = "alias/aws/ssm"
MANAGED_BY = "runnerfleet"


@dataclass(frozen=True)
class StoredToken:
    """What one SSM parameter says about a runner runnerfleet created (no secret here)."""

    name: str
    parameter: str
    runner_id: int | None
    fingerprint: str
    managed: bool
    # runners this one replaced that instances may still use; `runners prune` deletes them
    replaces: tuple[int, ...] = ()


class TokenStore:
    """Reads and writes runner-token parameters below ``<ssm_path>/runners/``."""

    def __init__(self, ssm: Any, ssm_path: str, kms_key_id: str | None = None) -> None:
        self.ssm = ssm
        self.prefix = ssm_path.rstrip("/") + "/runners"
        self.kms_key_id = kms_key_id or DEFAULT_KMS_KEY

    def default_parameter(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def list(self) -> list[StoredToken]:
        """Every parameter runnerfleet manages below the prefix."""
        found: list[StoredToken] = []
        try:
            pages = self.ssm.get_paginator("describe_parameters").paginate(
                ParameterFilters=[{"Key": "Path", "Option": "OneLevel", "Values": [self.prefix]}]
            )
            for page in pages:
                found.extend(_parse(p) for p in page["Parameters"])
        except ClientError as exc:
            raise _aws_error(f"list the runner tokens below {self.prefix}", exc) from exc
        return sorted((s for s in found if s.managed), key=lambda s: s.name)

    def read(self, parameter: str) -> str:
        """The token value: only for runner API calls (verify, manager delete)."""
        return read_secure_parameter(self.ssm, parameter, what="runner token")

    def read_optional(self, parameter: str) -> str | None:
        try:
            value: str = self.ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"][
                "Value"
            ]
        except self.ssm.exceptions.ParameterNotFound:
            return None
        return value

    def write(
        self,
        name: str,
        parameter: str,
        token: str,
        *,
        runner_id: int | None,
        fingerprint: str,
        replaces: tuple[int, ...] = (),
    ) -> None:
        meta: dict[str, object] = {
            "managed_by": MANAGED_BY,
            "registration": name,
            "runner_id": runner_id,
            "fingerprint": fingerprint,
        }
        if replaces:
            meta["replaces"] = list(replaces)
        try:
            self._put_secure(parameter, token, json.dumps(meta, sort_keys=True), Tier="Standard")
        except ClientError as exc:
            raise _aws_error(f"store the token of {name} in {parameter}", exc) from exc

    def restore(self, parameter: str, token: str, description: str) -> None:
        self._put_secure(parameter, token, description)

    def _put_secure(self, parameter: str, token: str, description: str, **extra: str) -> None:
        """Tokens are only ever stored encrypted, with the fleet's KMS key."""
        self.ssm.put_parameter(
            Name=parameter,
            Value=token,
            Type="SecureString",
            KeyId=self.kms_key_id,
            Overwrite=True,
            Description=description,
            **extra,
        )

    def description(self, parameter: str) -> str:
        params = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [parameter]}]
        )["Parameters"]
        return str(params[0].get("Description", "")) if params else ""

    def replaced(self, parameter: str) -> tuple[int, ...]:
        """The runners the token in ``parameter`` replaced (kept for ``runners prune``)."""
        return _parse({"Name": parameter, "Description": self.description(parameter)}).replaces

    def delete(self, parameter: str) -> None:
        try:
            self.ssm.delete_parameter(Name=parameter)
        except self.ssm.exceptions.ParameterNotFound:
            return
        except ClientError as exc:
            raise _aws_error(f"delete {parameter}", exc) from exc


def _parse(param: dict[str, Any]) -> StoredToken:
    name = str(param["Name"])
    try:
        meta = json.loads(param.get("Description") or "{}")
    except json.JSONDecodeError:
        meta = {}
    if not isinstance(meta, dict):
        meta = {}
    runner_id = meta.get("runner_id")
    replaced = meta.get("replaces")
    return StoredToken(
        name=str(meta.get("registration") or name.rsplit("/", 1)[-1]),
        parameter=name,
        runner_id=int(runner_id) if isinstance(runner_id, int) else None,
        fingerprint=str(meta.get("fingerprint", "")),
        managed=meta.get("managed_by") == MANAGED_BY,
        replaces=tuple(i for i in replaced if isinstance(i, int))
        if isinstance(replaced, list)
        else (),
    )


def _aws_error(what: str, exc: ClientError) -> AwsError:
    code = exc.response.get("Error", {}).get("Code", "error")
    return AwsError(
        f"could not {what}: {code}",
        hint="check the SSM and KMS permissions of your AWS identity "
        "(ssm:PutParameter/DeleteParameter, kms:Encrypt on the key)",
    )
