"""Which resources an update would replace, read from the resource schemas cfn-lint ships.

A change to a create-only property replaces the resource; a replaced resource gets a new
physical ID, so every property that refers to it (Ref/GetAtt/Sub) changes too, and so on. For the
access stack that chain matters: a replaced SAML provider replaces the endpoint, which changes
its DNS name and breaks every user's .ovpn profile. ``access deploy`` refuses such a change
unless asked, before any change set exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Replacement:
    logical_id: str
    type: str
    reason: str


def _create_only(kind: str, region: str) -> set[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # 0.4 s to import: only when deploying

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind).schema
    paths = schema.get("createOnlyProperties", [])
    return {p.split("/")[2] for p in paths if p.startswith("/properties/")}


def _refs(value: Any) -> set[str]:
    """Logical IDs a value refers to (Ref, GetAtt, and ${Name} inside Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                found.add(str(inner[0]))
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                found |= _refs(inner)
            else:
                found |= _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _refs(inner)
    return found


def replacements(
    old: dict[str, Any], new: dict[str, Any], region: str = "us-east-1"
) -> list[Replacement]:
    """Resources present in both templates that the update would replace, with the reason."""
    old_res, new_res = old.get("Resources", {}), new.get("Resources", {})
    replaced: dict[str, Replacement] = {}
    changed = True
    while changed:  # propagate through references until nothing new is replaced
        changed = False
        for lid in sorted(set(old_res) & set(new_res)):
            if lid in replaced:
                continue
            reason = _reason(lid, old_res[lid], new_res[lid], set(replaced), region)
            if reason:
                replaced[lid] = Replacement(lid, new_res[lid]["Type"], reason)
                changed = True
    return sorted(replaced.values(), key=lambda r: r.logical_id)


def _reason(
    lid: str, before: dict[str, Any], after: dict[str, Any], replaced: set[str], region: str
) -> str | None:
    if before.get("Type") != after.get("Type"):
        return f"type changes to {after.get('Type')}"
    old_props, new_props = before.get("Properties", {}), after.get("Properties", {})
    for prop in sorted(_create_only(after["Type"], region)):
        if old_props.get(prop) != new_props.get(prop):
            return f"{prop} changes (create-only)"
        via = _refs(new_props.get(prop)) & replaced
        if via:
            return f"{prop} refers to {', '.join(sorted(via))}, which is replaced"
    return None
