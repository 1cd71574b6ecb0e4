"""docs/architecture.md and the import contracts say the same, and every package has its place."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO

DOC = REPO / "docs" / "architecture.md"
PACKAGES = sorted(p.name for p in (REPO / "src" / "runnerfleet").iterdir() if p.is_dir()
                  and (p / "__init__.py").exists())  # fmt: skip


def contract_layers() -> list[list[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    return [[p.strip().removeprefix("runnerfleet.") for p in row.split("|")] for row in layers]


def documented_layers() -> list[list[str]]:
    rows = re.findall(r"^\| \d+ \| (.+?) \| ", DOC.read_text(encoding="utf-8"), re.M)
    return [re.findall(r"`(\w+)`", row) for row in rows]


def test_the_documented_layers_are_the_contract() -> None:
    assert documented_layers() == contract_layers()


def test_every_package_sits_in_a_layer() -> None:
    layered = sorted(p for row in contract_layers() for p in row)
    assert layered == PACKAGES
