"""The group display names an access file's rules use; ``runnerfleet.aws.identity`` resolves
them to the Identity Store group IDs that ``memberOf`` actually carries."""

from __future__ import annotations

from runnerfleet.access.spec import AccessSpec


def names_to_resolve(spec: AccessSpec) -> list[str]:
    return sorted({r.group for r in spec.rules if r.group})
