"""The AWS Query protocol, both ways, driven by botocore's service model.

``parse`` turns a request's form parameters (``Tags.member.1.Key=...``) into the boto3-shaped
dict of the operation's input shape, checking what AWS checks (required members, types, enum
values, length and range constraints) and answering ``ValidationError`` as AWS words it.
``serialize`` turns an output dict into the ``<XResponse><XResult>`` document botocore parses;
``error`` is the ``<ErrorResponse>`` AWS sends. Handlers therefore work with the same dicts a
boto3 caller sees, whatever client sent the request.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

_MISSING = object()


class QueryError(Exception):
    """A request AWS would refuse: ``code`` and ``message`` as AWS sends them (HTTP 400)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation(service: str, action: str) -> OperationModel:
    model = service_model(service)
    if action not in model.operation_names:
        raise QueryError(
            "InvalidAction", f"The action {action or '(none)'} is not valid for this web service."
        )
    return model.operation_model(action)


# ----- requests ---------------------------------------------------------------------------


def parse(op: OperationModel, form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The operation's input as boto3 would have passed it; ``QueryError`` if AWS refuses it."""
    flat = {key: values[-1] for key, values in form.items() if key not in ("Action", "Version")}
    shape = op.input_shape
    if shape is None:
        return {}
    problems: list[str] = []
    parsed = _structure(shape, "", flat, problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise QueryError(
            "ValidationError", f"{count} validation {noun} detected: " + "; ".join(problems)
        )
    return parsed if isinstance(parsed, dict) else {}


def _structure(shape: Shape, prefix: str, flat: dict[str, str], problems: list[str]) -> Any:
    out: dict[str, Any] = {}
    required = set(getattr(shape, "required_members", ()))
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        key = _join(prefix, _wire_name(member, name))
        value = _value(member, key, flat, problems)
        if value is not _MISSING:
            out[name] = value
        elif name in required:
            problems.append(_null(prefix, name))
    return out


def _value(shape: Shape, key: str, flat: dict[str, str], problems: list[str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not _present(key, flat):
            return _MISSING
        return _structure(shape, key, flat, problems)
    if kind == "list":
        return _list(shape, key, flat, problems)
    if kind == "map":
        return _map(shape, key, flat, problems)
    if key not in flat:
        return _MISSING
    return _scalar(shape, key, flat[key], problems)


def _list(shape: Shape, key: str, flat: dict[str, str], problems: list[str]) -> Any:
    if flat.get(key) == "":
        return []  # the Query protocol's empty list
    member: Shape = shape.member  # type: ignore[attr-defined]
    if shape.serialization.get("flattened"):
        base = key
        if member.serialization.get("name"):
            base = _join(key.rpartition(".")[0], member.serialization["name"])
    else:
        base = f"{key}.{member.serialization.get('name', 'member')}"
    items = []
    for i in range(1, 10_000):
        item = _value(member, f"{base}.{i}", flat, problems)
        if item is _MISSING:
            break
        items.append(item)
    if not items:
        return _MISSING
    _check_size(shape, key, len(items), problems)
    return items


def _map(shape: Shape, key: str, flat: dict[str, str], problems: list[str]) -> Any:
    base = key if shape.serialization.get("flattened") else f"{key}.entry"
    key_name = shape.key.serialization.get("name", "key")  # type: ignore[attr-defined]
    value_name = shape.value.serialization.get("name", "value")  # type: ignore[attr-defined]
    out: dict[Any, Any] = {}
    for i in range(1, 10_000):
        entry_key = _value(shape.key, f"{base}.{i}.{key_name}", flat, problems)  # type: ignore[attr-defined]
        if entry_key is _MISSING:
            break
        out[entry_key] = _value(shape.value, f"{base}.{i}.{value_name}", flat, problems)  # type: ignore[attr-defined]
    return out if out else _MISSING


def _scalar(shape: Shape, key: str, raw: str, problems: list[str]) -> Any:
    kind = shape.type_name
    try:
        value = _convert(kind, raw)
    except ValueError:
        problems.append(
            f"Value '{raw}' at '{_member_path(key)}' failed to satisfy constraint: "
            f"Member must be of type {kind}"
        )
        return raw
    _check_scalar(shape, key, value, problems)
    return value


def _convert(kind: str, raw: str) -> Any:
    if kind in ("integer", "long"):
        return int(raw)
    if kind in ("float", "double"):
        return float(raw)
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise ValueError(raw)
        return raw.lower() == "true"
    if kind == "timestamp":
        return _timestamp(raw)
    if kind == "blob":
        return base64.b64decode(raw)
    return raw


def _timestamp(raw: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(raw), tz=UTC)
    except ValueError:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_scalar(shape: Shape, key: str, value: Any, problems: list[str]) -> None:
    meta = shape.metadata
    path = _member_path(key)
    enum = meta.get("enum")
    if enum and value not in enum:
        problems.append(
            f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy "
            f"enum value set: [{', '.join(enum)}]"
        )
    if isinstance(value, str):
        _check_size(shape, key, len(value), problems)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"value less than or equal to {meta['max']}"
            )


def _check_size(shape: Shape, key: str, size: int, problems: list[str]) -> None:
    meta = shape.metadata
    path = _member_path(key)
    if "min" in meta and size < meta["min"]:
        problems.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have length greater "
            f"than or equal to {meta['min']}"
        )
    if "max" in meta and size > meta["max"]:
        problems.append(
            f"Value at '{path}' failed to satisfy constraint: Member must have length less "
            f"than or equal to {meta['max']}"
        )


def _present(key: str, flat: dict[str, str]) -> bool:
    dotted = key + "."
    return any(k.startswith(dotted) for k in flat)


def _null(prefix: str, name: str) -> str:
    path = _member_path(_join(prefix, name))
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def _member_path(key: str) -> str:
    """AWS names members lower camel case in validation messages: ``tags.member.1.key``."""
    return ".".join(part[:1].lower() + part[1:] for part in key.split("."))


def _wire_name(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("name", default))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# ----- responses --------------------------------------------------------------------------


def serialize(
    op: OperationModel, output: Mapping[str, Any], request_id: str | None = None
) -> bytes:
    """``<{Op}Response><{Op}Result>...</{Op}Result><ResponseMetadata>`` for ``output``."""
    namespace = op.service_model.metadata.get("xmlNamespace", "")
    rid = request_id or str(uuid.uuid4())
    shape = op.output_shape
    result = ""
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{op.name}Result")
        result = f"<{wrapper}>{_members(shape, output)}</{wrapper}>"
    return (
        f'<{op.name}Response xmlns="{namespace}">{result}'
        f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
        f"</{op.name}Response>"
    ).encode()


def error(service: str, code: str, message: str, request_id: str | None = None) -> bytes:
    namespace = service_model(service).metadata.get("xmlNamespace", "")
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id or uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def _members(shape: Shape, value: Mapping[str, Any]) -> str:
    parts: list[str] = []
    members: dict[str, Any] = shape.members  # type: ignore[attr-defined]
    for name, member in members.items():
        if value.get(name) is None:
            continue
        tag = _wire_name(member, name)
        if member.type_name == "list" and member.serialization.get("flattened"):
            tag = member.member.serialization.get("name", tag)
            parts.extend(f"<{tag}>{_xml(member.member, item)}</{tag}>" for item in value[name])
        else:
            parts.append(f"<{tag}>{_xml(member, value[name])}</{tag}>")
    return "".join(parts)


def _xml(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "structure":
        return _members(shape, value)
    if kind == "list":
        member: Shape = shape.member  # type: ignore[attr-defined]
        tag = member.serialization.get("name", "member")
        return "".join(f"<{tag}>{_xml(member, item)}</{tag}>" for item in value)
    if kind == "map":
        key_tag = shape.key.serialization.get("name", "key")  # type: ignore[attr-defined]
        value_tag = shape.value.serialization.get("name", "value")  # type: ignore[attr-defined]
        return "".join(
            f"<entry><{key_tag}>{escape(str(k))}</{key_tag}>"
            f"<{value_tag}>{_xml(shape.value, v)}</{value_tag}></entry>"  # type: ignore[attr-defined]
            for k, v in value.items()
        )
    return escape(_text(kind, value))


def _text(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()
    return str(value)


def iso8601(value: datetime | float | int | str) -> str:
    """AWS's timestamp form: ``2026-12-02T08:00:00.123Z``; epoch seconds are accepted too."""
    if isinstance(value, str):
        return value
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, tz=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
