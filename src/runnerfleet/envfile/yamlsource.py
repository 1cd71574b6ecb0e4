"""Reading YAML as data, remembering the line of every key so errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runnerfleet.errors import SpecError

KeyPath = tuple[str | int, ...]
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)


def read_yaml(path: Path) -> YamlDocument:
    """Parse one file with the safe loader; a syntax error names the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(f"{path}: no such file", hint="check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read it ({exc})", hint="use a UTF-8 text file") from exc
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(f"{path}: larger than 1 MB", hint="an environment file is a few KB")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            f"{path}: not valid YAML at {where}: {problem}",
            hint="fix the indentation or quoting there (a value with ': ' needs quotes)",
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{path}: the top level must be a mapping of keys, not a {type(data).__name__}",
            hint="start the file with `name: <env>` and the sections under it",
        )
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)


def _index_lines(node: yaml.Node, prefix: KeyPath, out: dict[KeyPath, int]) -> None:
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            out[key] = key_node.start_mark.line + 1
            _index_lines(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*prefix, index), out)
