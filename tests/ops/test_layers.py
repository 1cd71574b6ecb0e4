"""The layering of the operator side, read from the source (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "runnerfleet"

# package -> packages of ours it must never import, not even inside a function
FORBIDDEN = {
    "gitlab": ("aws", "ops", "sandbox", "cli"),
    "aws": ("ops", "sandbox", "cli"),
    "access": ("aws", "ops", "sandbox", "cli"),
    "ops": ("sandbox", "cli"),
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_no_higher_layer(package: str) -> None:
    wrong = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / package).rglob("*.py"))
        for name in sorted(imported(path))
        if any(name.startswith(f"runnerfleet.{other}") for other in FORBIDDEN[package])
    ]
    assert not wrong, wrong


def test_only_the_cli_imports_the_sandbox() -> None:
    outside = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in ("cli", "sandbox")
        and any(name.startswith("runnerfleet.sandbox") for name in imported(path))
    ]
    assert not outside, outside
