"""Group display names -> Identity Store group IDs, the values ``memberOf`` actually carries.

Identity Center's ``${user:groups}`` emits group IDs, so an authorisation rule written with a
display name would silently never match. We resolve names with ``GetGroupId`` (ListGroups'
DisplayName filter is deprecated) and report every name that does not resolve, at once.
Clients are passed in (boto3 adapter).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import botocore.exceptions

from runnerfleet.aws.awscall import error_code, translate
from runnerfleet.errors import SpecError


def identity_store_id(sso_admin: Any) -> str:
    """The store of the (single) Identity Center instance visible to these credentials."""
    try:
        instances = sso_admin.list_instances().get("Instances", [])
    except botocore.exceptions.ClientError as exc:
        raise translate(
            exc,
            "listing IAM Identity Center instances",
            hint="set access.identity_store_id (IAM Identity Center > Settings), or use "
            "credentials of the account that hosts Identity Center",
        ) from exc
    if len(instances) != 1:
        raise SpecError(
            f"found {len(instances)} IAM Identity Center instances; cannot pick the store",
            hint="set access.identity_store_id (IAM Identity Center > Settings)",
        )
    return str(instances[0]["IdentityStoreId"])


def resolve_groups(identitystore: Any, store_id: str, names: Iterable[str]) -> dict[str, str]:
    """Map each display name to its GroupId; all unresolved names are reported together."""
    resolved: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        key = {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}}
        try:
            answer = identitystore.get_group_id(IdentityStoreId=store_id, AlternateIdentifier=key)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise translate(
                    exc,
                    f"looking up group {name!r} in the identity store",
                    hint="check identity_store_id and that the credentials may call "
                    "identitystore:GetGroupId",
                ) from exc
            missing.append(name)
            continue
        resolved[name] = str(answer["GroupId"])
    if missing:
        raise SpecError(
            f"{len(missing)} group name(s) not found in identity store {store_id}",
            problems=[
                f"group {n!r} does not exist (display names are case-sensitive)" for n in missing
            ],
            hint="check the spelling in IAM Identity Center > Groups, or write group_id: <id>",
        )
    return resolved
