"""Every problem in an input file as one line a user can act on.

The format, for validation errors and file-level errors alike::

    FILE:LINE: KEY.PATH: PROBLEM; fix: WHAT TO DO

File-level problems (syntax, encoding, a missing parent, a cycle) carry ``(file)`` as the key.
Values that look like secrets are never echoed (``runnerfleet.tokenscreen``).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from runnerfleet.findings import FIX_SEPARATOR, Finding
from runnerfleet.tokenscreen import secret_kind

if TYPE_CHECKING:
    from runnerfleet.envfile.yamlsource import KeyPath, YamlDocument

FILE_KEY = "(file)"

_FIXES = {
    "missing": "add this key",
    "int_type": "use a whole number",
    "int_parsing": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "float_type": "use a number",
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


GENERIC_FIX = "see this key in docs/environment-files.md, or `runnerfleet schema`"
SSM_REFERENCE_FIX = (
    "store it in SSM (`runnerfleet runners create` does this for runner tokens) and "
    "reference it as `{ssm_parameter: /path}`"
)


def problem_line(where: str, key: str, problem: str, fix: str) -> str:
    """One problem as a ``Finding`` renders it; anything shaped like a secret is replaced."""
    return Finding("input", "error", problem, fix, key, where).render()


def describe_validation_errors(
    exc: ValidationError,
    chain: list[YamlDocument],
    merged: dict[str, Any],
    root: type[BaseModel] | None = None,
) -> list[str]:
    """Every pydantic error as a problem line, located in the file that set the key."""
    if root is None:
        from runnerfleet.envfile.models import FleetSpec

        root = FleetSpec
    problems = []
    for error in exc.errors():
        loc: KeyPath = tuple(p for p in error["loc"] if isinstance(p, str | int))
        problem, fix = _explain(error, loc, root)
        problems.append(problem_line(locate(loc, chain, merged), dotted(loc), problem, fix))
    return problems


def _explain(error: Any, loc: KeyPath, root: type[BaseModel]) -> tuple[str, str]:
    """(problem, fix) for one pydantic error."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc, root)
    given = error.get("input")
    if isinstance(given, bool) and kind in ("int_type", "float_type"):
        return f"{str(given).lower()} is a yes/no value, not a number", _FIXES[kind]
    if isinstance(given, str) and secret_kind(given):
        return f"this looks like a {secret_kind(given)} (not shown)", SSM_REFERENCE_FIX
    text = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        problem, _, fix = text.partition(FIX_SEPARATOR)
        return problem, fix or GENERIC_FIX
    if kind == "string_pattern_mismatch":
        text = f"{_shown(given)} is not in the expected format"
    return text, _FIXES.get(kind, GENERIC_FIX)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(loc: KeyPath, root: type[BaseModel]) -> tuple[str, str]:
    allowed = allowed_keys(loc[:-1], root)
    key = str(loc[-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {_shown(key)}", f"did you mean {close[0]!r}?"
    listed = ", ".join(sorted(allowed)) if allowed else "none"
    return f"unknown key {_shown(key)}", f"remove it (allowed here: {listed})"


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
    file, line = position(key_path, chain, merged)
    return f"{file}:{line}" if line is not None else file


def position(
    key_path: KeyPath, chain: list[YamlDocument], merged: dict[str, Any]
) -> tuple[str, int | None]:
    """The file and line that set the key (or its deepest present parent); the child file
    without a line when no part of the key is written anywhere (a default)."""
    for depth in range(len(key_path), 0, -1):
        prefix = key_path[:depth]
        for doc in chain:
            local = _local_path(prefix, doc, merged)
            if local in doc.lines:
                return str(doc.path), doc.lines[local]
    return str(chain[0].path), None


def undotted(text: str) -> KeyPath:
    """``instances.types[0]`` back to ``("instances", "types", 0)`` (the inverse of dotted)."""
    parts: list[str | int] = []
    for piece in text.split("."):
        name, *indexes = piece.replace("]", "").split("[")
        parts += [name] if name else []
        parts += [int(i) if i.isdigit() else i for i in indexes]
    return tuple(parts)


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
