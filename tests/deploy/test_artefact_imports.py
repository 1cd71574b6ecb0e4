"""The Lambda artefact is self-sufficient: every handler imports from the zip alone.

Run in a fresh interpreter whose path holds the extracted zip and the standard library plus
boto3 (the Lambda runtime provides it); operator-side packages are blocked.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

from runnerfleet.aws.artifacts import build_zip

PROBE = """
import importlib, importlib.abc, pkgutil, sys
sys.path = [p for p in sys.path if not p.endswith("/src")]
sys.path.insert(0, sys.argv[1])
BLOCKED = {"pydantic", "pydantic_core", "yaml", "typer", "rich", "moto", "gitlab",
           "requests", "cfnlint", "matplotlib", "click"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("not in the Lambda artefact: " + name)
sys.meta_path.insert(0, Block())
import runnerfleet.handlers as handlers
assert handlers.__file__.startswith(sys.argv[1]), handlers.__file__
names = [m.name for m in pkgutil.iter_modules(handlers.__path__)]
for name in names:
    importlib.import_module("runnerfleet.handlers." + name)
import runnerfleet.ops as ops
assert ops.__file__.startswith(sys.argv[1]), ops.__file__
for found in pkgutil.walk_packages(ops.__path__, "runnerfleet.ops."):
    importlib.import_module(found.name)  # what is packaged must import from the zip alone
print(" ".join(names))
"""


def test_every_handler_imports_from_the_zip_without_operator_packages(tmp_path: Path):
    zipfile.ZipFile(io.BytesIO(build_zip()[0])).extractall(tmp_path)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.split(), "no handler module found in the artefact"


def test_operator_use_cases_stay_out_of_the_zip():
    names = zipfile.ZipFile(io.BytesIO(build_zip()[0])).namelist()
    assert "runnerfleet/ops/__init__.py" in names
    for operator_side in ("deploy", "destroy", "access_deploy", "doctor", "runners"):
        assert f"runnerfleet/ops/{operator_side}.py" not in names
    assert not any(n.startswith("runnerfleet/envfile/") for n in names)
