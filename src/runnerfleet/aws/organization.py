"""AWS Organizations, read only: which of the organisational units a StackSet names exist.

A unit id of the right shape that is not in the organisation would fail the StackSet's
operation only after the set is created; asked first, it is refused with the key and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from runnerfleet.aws.awscall import error_code

NOT_FOUND = ("OrganizationalUnitNotFoundException", "ChildNotFoundException")
NOT_ASKED = ("AccessDeniedException", "AWSOrganizationsNotInUseException")


def unknown_units(organizations: Any, units: Sequence[str]) -> list[str] | None:
    """The units (``ou-...`` or a root ``r-...``) the organisation does not have; None when
    this account may not ask (a delegated administrator without the read permission): then
    AWS decides at deploy time."""
    try:
        roots = {r["Id"] for r in organizations.list_roots()["Roots"]}
        missing = []
        for unit in units:
            if unit.startswith("r-"):
                if unit not in roots:
                    missing.append(unit)
                continue
            try:
                organizations.describe_organizational_unit(OrganizationalUnitId=unit)
            except ClientError as exc:
                if error_code(exc) not in NOT_FOUND:
                    raise
                missing.append(unit)
    except ClientError as exc:
        if error_code(exc) in NOT_ASKED:
            return None
        raise
    return missing
