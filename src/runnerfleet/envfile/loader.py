"""Loading environment files: inheritance (``extends:``), secret screening, validation.

Merge rules for ``extends`` (documented in docs/environment-files.md):

* mappings merge key by key, recursively; the child's value wins;
* a key set to ``null`` in the child removes the parent's value (the default applies again);
* lists are replaced whole by the child's list, except ``registrations``, which merge by
  ``name``: a child entry replaces the parent's entry of the same name, new names are appended,
  and ``{name: x, remove: true}`` drops the parent's entry;
* ``extends`` paths are relative to the file that names them; chains are allowed, cycles are not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from runnerfleet.envfile.capacity import CapacitySection
from runnerfleet.envfile.errorfmt import (
    SSM_REFERENCE_FIX,
    describe_validation_errors,
    dotted,
    locate,
    position,
    problem_line,
    undotted,
)
from runnerfleet.envfile.models import FleetSpec, InstancesSection, cross_section_error
from runnerfleet.envfile.warm import warm_problems
from runnerfleet.envfile.yamlsource import KeyPath, YamlDocument, read_yaml
from runnerfleet.errors import SpecError
from runnerfleet.findings import Finding
from runnerfleet.tokenscreen import secret_kind

MAX_EXTENDS_DEPTH = 10


def load_environment(path: str | Path) -> FleetSpec:
    """Load, merge, screen and validate one environment file; every problem is reported."""
    chain = _read_chain(Path(path))
    merged = _merged(chain)
    problems = list(_secret_problems(merged, chain))
    try:
        spec = FleetSpec.model_validate(merged)
    except ValidationError as exc:
        problems.extend(describe_validation_errors(exc, chain, merged))
        problems.extend(_capacity_problems(merged, chain, exc))
        problems.extend(p for p in _warm_problems(merged, chain) if p not in problems)
        spec = None
    if problems or spec is None:
        raise SpecError(
            f"{chain[0].path}: {len(problems)} problem(s) in the environment file",
            problems=problems,
        )
    return spec


def locate_findings(path: str | Path, findings: Sequence[Finding]) -> list[Finding]:
    """Each finding with the file and line that set its key (guardrails know only the key)."""
    chain = _read_chain(Path(path))
    merged = _merged(chain)
    located = []
    for finding in findings:
        file, line = position(undotted(finding.key_path), chain, merged)
        located.append(finding.located(file, line))
    return located


def _merged(chain: list[YamlDocument]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for doc in reversed(chain):
        merged = merge(merged, {k: v for k, v in doc.data.items() if k != "extends"})
    return merged


def load_environments(paths: Sequence[str | Path]) -> list[FleetSpec]:
    """Load several files; problems from all of them are reported together."""
    specs: list[FleetSpec] = []
    problems: list[str] = []
    for path in paths:
        try:
            specs.append(load_environment(path))
        except SpecError as exc:
            problems.extend(exc.problems or [str(exc)])
    if problems:
        raise SpecError(f"{len(problems)} problem(s) in the environment files", problems=problems)
    return specs


def _read_chain(path: Path) -> list[YamlDocument]:
    """The file, then its parent, grandparent...; a cycle or a missing parent is an error."""
    chain = [read_yaml(path)]
    seen = [path.resolve()]
    while (parent := _parent_of(chain[-1])) is not None:
        if parent in seen:
            cycle = " -> ".join(str(p) for p in [*seen, parent])
            _extends_problem(chain[-1], f"extends forms a cycle: {cycle}",
                             "make the base file stop extending its children")  # fmt: skip
        if len(seen) >= MAX_EXTENDS_DEPTH:
            _extends_problem(chain[-1], f"extends is nested more than {MAX_EXTENDS_DEPTH} deep",
                             "merge some of the base files into one")  # fmt: skip
        if not parent.is_file():
            _extends_problem(chain[-1], f"the parent file {parent} does not exist or is not a file",
                             "check the path; it is relative to this file")  # fmt: skip
        seen.append(parent)
        chain.append(read_yaml(parent))
    return chain


def _extends_problem(doc: YamlDocument, problem: str, fix: str) -> NoReturn:
    where = f"{doc.path}:{doc.lines.get(('extends',), 1)}"
    raise SpecError(
        f"{doc.path}: cannot load it", problems=[problem_line(where, "extends", problem, fix)]
    )


def _parent_of(doc: YamlDocument) -> Path | None:
    parent = doc.data.get("extends")
    if parent is None:
        return None
    if not isinstance(parent, str) or not parent.strip():
        _extends_problem(doc, "extends must be a file path",
                         "write `extends: base.yaml` (relative to this file)")  # fmt: skip
    return (doc.path.parent / parent).resolve()


def merge(base: dict[str, Any], child: dict[str, Any], path: KeyPath = ()) -> dict[str, Any]:
    """Merge ``child`` over ``base`` by the rules in this module's docstring."""
    result = dict(base)
    for key, value in child.items():
        if value is None:
            result.pop(key, None)
        elif path == () and key == "registrations" and isinstance(value, list):
            result[key] = _merge_by_name(base.get(key) or [], value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            result[key] = merge(base[key], value, (*path, key))
        else:
            result[key] = value
    return result


def _merge_by_name(base: list[Any], child: list[Any]) -> list[Any]:
    """Child entries replace the parent's entry of the same name; duplicates within one file
    are kept so that validation reports them."""
    result: list[Any] = list(base)
    index_of = {_name(item, i): i for i, item in enumerate(base)}
    for item in child:
        name = _name(item, -1)
        position = index_of.pop(name, None)
        drop = isinstance(item, dict) and item.get("remove") is True
        if position is not None:
            result[position] = None if drop else item
        elif not drop:
            result.append(item)
    return [item for item in result if item is not None]


def _name(item: Any, index: int) -> Any:
    return item.get("name", f"#{index}") if isinstance(item, dict) else f"#{index}"


def _secret_problems(data: Any, chain: list[YamlDocument]) -> Iterator[str]:
    for key_path, value in _walk_strings(data, ()):
        kind = secret_kind(value)
        if kind is not None:
            problem = f"this looks like a {kind} (not shown); secrets never go in this file"
            where = locate(key_path, chain, data)
            yield problem_line(where, dotted(key_path), problem, SSM_REFERENCE_FIX)


def _walk_strings(data: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _walk_strings(value, (*path, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _walk_strings(value, (*path, index))


def _capacity_problems(
    merged: dict[str, Any], chain: list[YamlDocument], exc: ValidationError
) -> Iterator[str]:
    """min/max/desired bounds, checked on the raw data when pydantic stopped before them."""
    if any(e["loc"] == ("capacity",) for e in exc.errors()):
        return  # the model's own check ran and is already reported
    capacity = merged.get("capacity")
    if not isinstance(capacity, dict):
        return
    low, high, desired = (capacity.get(k) for k in ("min", "max", "desired"))
    where = locate(("capacity",), chain, merged)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        yield problem_line(where, "capacity", f"min ({low}) is greater than max ({high})",
                           "lower min or raise max")  # fmt: skip
    if (
        isinstance(low, int)
        and isinstance(high, int)
        and isinstance(desired, int)
        and not (low <= desired <= high)
    ):
        yield problem_line(where, "capacity", f"desired ({desired}) is outside [min, max]",
                           "set desired between min and max, or leave it out")  # fmt: skip


def _warm_problems(merged: dict[str, Any], chain: list[YamlDocument]) -> Iterator[str]:
    """The warm-capacity rules (``envfile.warm``) on the instances and capacity sections,
    when both are valid on their own and another section's error stopped the model."""
    try:
        instances = InstancesSection.model_validate(merged.get("instances", {}))
        capacity = CapacitySection.model_validate(merged.get("capacity", {}))
    except ValidationError:
        return  # their own errors are reported; the rule needs both
    found = warm_problems(instances, capacity)
    if found:
        yield from describe_validation_errors(cross_section_error(found), chain, merged)
