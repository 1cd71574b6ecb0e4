"""Turning pydantic's validation errors into lines a user can act on: file:line, key, fix."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from runnerfleet.envfile.yamlsource import KeyPath, YamlDocument

_FIXES = {
    "missing": "add this key",
    "int_type": "use a whole number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "bool_type": "use true or false",
    "bool_parsing": "use true or false",
    "string_type": "use a text value (quote it)",
    "dict_type": "use a mapping (key: value lines under it)",
    "tuple_type": "use a list (`- item` lines, or [a, b])",
    "list_type": "use a list (`- item` lines, or [a, b])",
    "string_pattern_mismatch": "see `runnerfleet schema` for the accepted format",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "literal_error": "use one of the values listed",
    "model_type": "use a mapping (key: value lines under it)",
}


def describe_validation_errors(
    exc: ValidationError, chain: list[YamlDocument], merged: dict[str, Any]
) -> list[str]:
    from runnerfleet.envfile.models import FleetSpec

    problems = []
    for error in exc.errors():
        loc: KeyPath = tuple(p for p in error["loc"] if isinstance(p, str | int))
        message = _message(error, loc, FleetSpec)
        problems.append(f"{locate(loc, chain, merged)}: {dotted(loc)}: {message}")
    return problems


def _message(error: Any, loc: KeyPath, root: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc, root)
    text = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        return text
    fix = _FIXES.get(kind)
    if kind == "string_pattern_mismatch":
        text = f"{error['input']!r} is not in the expected format"
    return f"{text}; fix: {fix}" if fix else text


def _unknown_key(loc: KeyPath, root: type[BaseModel]) -> str:
    allowed = allowed_keys(loc[:-1], root)
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r}; fix: did you mean {close[0]!r}?"
    listed = ", ".join(sorted(allowed)) if allowed else "none"
    return f"unknown key {key!r}; fix: remove it (allowed here: {listed})"


def allowed_keys(parent: KeyPath, root: type[BaseModel]) -> list[str]:
    """The keys the model accepts at ``parent``, found by walking the model's annotations."""
    model: Any = root
    for part in parent:
        if isinstance(part, int):
            continue
        model = _model_of(model.model_fields[part].annotation) if _is_model(model) else None
        if model is None:
            return []
    return list(model.model_fields) if _is_model(model) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _model_of(annotation: Any) -> Any:
    """The BaseModel inside Optional[...] / tuple[..., ...] / Annotated[...], if any."""
    if _is_model(annotation):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def locate(key_path: KeyPath, chain: list[YamlDocument], merged: dict[str, Any]) -> str:
    """``file:line`` of the deepest known prefix of the key, searching the child first."""
    for depth in range(len(key_path), 0, -1):
        prefix = key_path[:depth]
        for doc in chain:
            local = _local_path(prefix, doc, merged)
            if local in doc.lines:
                return f"{doc.path}:{doc.lines[local]}"
    return str(chain[0].path)


def _local_path(path: KeyPath, doc: YamlDocument, merged: dict[str, Any]) -> KeyPath:
    """Registrations merge by name, so a merged index maps to that name's index in ``doc``."""
    if len(path) < 2 or path[0] != "registrations" or not isinstance(path[1], int):
        return path
    try:
        name = merged["registrations"][path[1]]["name"]
        local = [r.get("name") for r in doc.data.get("registrations") or []].index(name)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        return ("__absent__",)
    return ("registrations", local, *path[2:])


def dotted(key_path: KeyPath) -> str:
    text = ""
    for part in key_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"
