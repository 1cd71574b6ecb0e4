"""What a change set would do, as plain data: resource changes and a masked parameter diff.

Pure functions: the CLI renders these, tests check them without AWS. A parameter value is
masked when the template marks it NoEcho, when its name says it is a secret, or when the value
looks like a token, so that no secret reaches a terminal or a log.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runnerfleet.tokenscreen import secret_kind

MASK = "****"
SECRET_NAME = re.compile(r"(token|secret|password|passphrase|credential|private)", re.IGNORECASE)
# Long opaque strings (AWS secret keys, JWTs, base64 blobs) are masked even under a plain name.
OPAQUE_VALUE = re.compile(r"^[A-Za-z0-9+/=_\-]{32,}$")
HEX_DIGEST = re.compile(r"^[0-9a-f]{32,64}$")


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    resource_type: str
    action: str  # Add, Modify, Remove, Import, Dynamic
    replacement: str  # True, False, Conditional, or "" when not applicable
    physical_id: str = ""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ResourceChange:
        change = raw.get("ResourceChange", raw)
        return cls(
            logical_id=str(change.get("LogicalResourceId", "")),
            resource_type=str(change.get("ResourceType", "")),
            action=str(change.get("Action", "")),
            replacement=str(change.get("Replacement", "") or ""),
            physical_id=str(change.get("PhysicalResourceId", "") or ""),
        )


@dataclass(frozen=True)
class ParameterChange:
    key: str
    old: str | None  # None: the parameter is new
    new: str | None  # None: the parameter is gone
    masked: bool

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"


def is_secret(key: str, value: str | None, no_echo: bool) -> bool:
    if no_echo or SECRET_NAME.search(key):
        return True
    if value is None:
        return False
    if secret_kind(value):
        return True
    return _opaque(value)


def _opaque(value: str) -> bool:
    """Key-like: long, no path structure, mixed case and digits (not a hex digest or path)."""
    if not OPAQUE_VALUE.match(value) or HEX_DIGEST.match(value) or value.count("/") > 2:
        return False
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


SSM_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"


def ssm_typed_keys(template: Mapping[str, Any]) -> frozenset[str]:
    """Parameters CloudFormation resolves from SSM at every deploy (e.g. the latest AMI)."""
    params = template.get("Parameters", {}) or {}
    return frozenset(
        k for k, v in params.items() if str(v.get("Type", "")).startswith(SSM_TYPE_PREFIX)
    )


def no_echo_keys(template: Mapping[str, Any]) -> frozenset[str]:
    params = template.get("Parameters", {}) or {}
    return frozenset(k for k, v in params.items() if str(v.get("NoEcho", "")).lower() == "true")


def parameter_diff(
    old: Mapping[str, str], new: Mapping[str, str], template: Mapping[str, Any]
) -> list[ParameterChange]:
    """Changed, added and removed parameters, secrets replaced by a mask (old and new alike)."""
    hidden, resolved = no_echo_keys(template), ssm_typed_keys(template)
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and same_value(before, after):
            continue
        if key in resolved and before is not None and not before.startswith("/"):
            continue  # the emulator stores the resolved value (an AMI id), not the SSM name
        masked = any(is_secret(key, v, key in hidden) for v in (before, after))
        show = (lambda v: None if v is None else MASK) if masked else (lambda v: v)
        changes.append(ParameterChange(key, show(before), show(after), masked))
    return changes


def normalise_value(value: str) -> str:
    """moto reports a List parameter as Python text ("['a', 'b']"); AWS as "a,b"."""
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        if isinstance(items, list):
            return ",".join(str(i) for i in items)
    return ",".join(part.strip() for part in text.split(",")) if "," in text else text


def same_value(a: str, b: str) -> bool:
    return normalise_value(a) == normalise_value(b)


def effective_parameters(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """What the stack will hold: template defaults, overridden by the values we pass."""
    result: dict[str, str] = {}
    for key, decl in (template.get("Parameters", {}) or {}).items():
        if key in given:
            result[key] = str(given[key])
        elif "Default" in decl:
            default = decl["Default"]
            result[key] = ",".join(default) if isinstance(default, list) else str(default)
    return result


def canonical_template(template: Any) -> Any:
    """Templates compare by content, not by key order or the JSON text's whitespace."""
    if isinstance(template, str):
        template = json.loads(template)
    return json.loads(json.dumps(template, sort_keys=True, default=str))
