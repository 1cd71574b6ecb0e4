"""Reading YAML as data, remembering the line of every key so errors can point at it.

Every YAML file the tool reads (environment, policy and access files) comes through
``read_yaml``, which refuses, before building anything, what would make a small file cost
minutes or a traceback:

* aliases that expand the document past ``MAX_VALUES`` values (a "billion laughs" file of a
  few hundred bytes would otherwise take minutes to validate);
* nesting deeper than ``MAX_DEPTH`` (the composer recurses, and would raise RecursionError);
* the same key twice in one mapping (YAML keeps the last one silently);
* files that are not regular files, larger than ``MAX_FILE_BYTES``, or not UTF-8.

The budget is counted on the parser's event stream, which is linear in the file's size, so a
refusal takes microseconds whatever the file would expand to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from runnerfleet.envfile.errorfmt import FILE_KEY, dotted, problem_line
from runnerfleet.errors import SpecError

KeyPath = tuple[str | int, ...]
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32  # an environment file nests five deep
MAX_VALUES = 50_000  # after aliases are expanded; an environment file holds a few hundred
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)


def read_yaml(path: Path) -> YamlDocument:
    """Parse one file with the safe loader; every refusal names the file, line and fix."""
    text = read_text(path)
    _check_shape(path, text)
    node, data = _compose(path, text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        _refuse(
            path,
            1,
            f"the top level must be a mapping of keys, not a {type(data).__name__}",
            "start the file with `key: value` lines (an environment file with `name: <env>`)",
        )
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)


def _refuse(path: Path, line: int, problem: str, fix: str) -> NoReturn:
    where = f"{path}:{line}"
    raise SpecError(
        f"{path}: cannot load it", problems=[problem_line(where, FILE_KEY, problem, fix)]
    )


def read_text(path: Path) -> str:
    """A small UTF-8 input file as text; anything else is refused with its line and fix."""
    if not path.exists():
        _refuse(path, 1, "no such file", "check the path")
    if not path.is_file():
        _refuse(path, 1, "not a regular file", "give the path of a YAML file")
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        _refuse(path, 1, f"cannot read it ({exc.strerror})", "check the file's permissions")
    if len(raw) > MAX_FILE_BYTES:
        _refuse(path, 1, "larger than 1 MB", "this file holds a few KB of settings; check the path")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        _refuse(
            path,
            line,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8",
        )


def _check_shape(path: Path, text: str) -> None:
    """Depth and expanded size from the event stream, before anything is built."""
    try:
        for line, problem, fix in _shape_problems(yaml.parse(text, Loader=_Loader)):
            _refuse(path, line, problem, fix)
    except yaml.YAMLError as exc:
        _syntax_error(path, exc)


def _shape_problems(events: Iterator[yaml.Event]) -> Iterator[tuple[int, str, str]]:
    anchors: dict[str, int] = {}  # anchor -> values it expands to
    stack: list[list[Any]] = [[0, None]]  # open collections: [values so far, anchor]
    for event in events:
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, event.anchor])
            if len(stack) - 1 > MAX_DEPTH:
                yield line, f"nested more than {MAX_DEPTH} levels deep", _FLATTEN
                return
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            size, anchor = stack.pop()
        elif isinstance(event, yaml.AliasEvent):
            size, anchor = anchors.get(str(event.anchor), 1), None
            if size > 1 and sum(frame[0] for frame in stack) + size > MAX_VALUES:
                problem = f"the alias *{event.anchor} expands the file past {MAX_VALUES:,} values"
                yield line, problem, _ALIASES
                return
        elif isinstance(event, yaml.ScalarEvent):
            size, anchor = 1, event.anchor
        else:
            continue
        if anchor is not None:
            anchors[str(anchor)] = size
        stack[-1][0] += size
        if sum(frame[0] for frame in stack) > MAX_VALUES:
            yield line, f"aliases expand the file past {MAX_VALUES:,} values", _ALIASES
            return


_SYNTAX = "fix the indentation or quoting there (a value with ': ' needs quotes)"
_FLATTEN = "flatten the structure; settings nest a few levels at most"
_ALIASES = "write the values out, or use fewer aliases (*name) of anchors (&name)"


def _compose(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_duplicates(path, node)
        return node, loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        _syntax_error(path, exc)
    finally:
        loader.dispose()


def _syntax_error(path: Path, exc: yaml.YAMLError) -> NoReturn:
    mark = getattr(exc, "problem_mark", None)
    line, where = (mark.line + 1, f" at column {mark.column + 1}") if mark else (1, "")
    problem = str(getattr(exc, "problem", None) or exc)
    fix = _FLATTEN if "nesting depth" in problem else _SYNTAX
    _refuse(path, line, f"not valid YAML{where}: {problem}", fix)


def _check_duplicates(path: Path, root: yaml.Node) -> None:
    problems = [
        problem_line(f"{path}:{second}", dotted(key), f"duplicate key (first at line {first})",
                     "keep one of them: YAML would silently use the last")
        for key, first, second in _duplicates(root, (), set())
    ]  # fmt: skip
    if problems:
        raise SpecError(f"{path}: {len(problems)} duplicate key(s)", problems=problems)


def _duplicates(
    node: yaml.Node, prefix: KeyPath, seen: set[int]
) -> Iterator[tuple[KeyPath, int, int]]:
    if id(node) in seen:  # an aliased node is checked once
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                ident = (key_node.tag, key_node.value)
                line = key_node.start_mark.line + 1
                if ident in first_line:
                    yield key, first_line[ident], line
                first_line.setdefault(ident, line)
            yield from _duplicates(value_node, key, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, (*prefix, index), seen)


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
