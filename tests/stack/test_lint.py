"""cfn-lint: zero errors, warnings and informational findings; checkov: zero failed checks.

checkov lives in its own venv (`make checkov`). Its test is skipped only when that venv is
absent and CI is unset: in CI a missing checkov is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from runnerfleet.stack.template import render, synthesize
from tests.conftest import REPO
from tests.stack.helpers import all_specs

SPECS = all_specs()
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cfn_lint_is_clean(name: str) -> None:
    spec = SPECS[name]
    matches = lint(
        render(synthesize(spec)), config=ManualArgs(regions=[spec.aws.region], include_checks=["I"])
    )
    assert [str(m) for m in matches] == []


def test_cfn_lint_catches_a_broken_template() -> None:
    """The lint test can fail: a launch template that allows IMDSv1 is reported."""
    template = synthesize(SPECS["dev"])
    data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    broken = {
        "Resources": {
            "LaunchTemplate": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {
                        "InstanceType": data["InstanceType"],
                        "MetadataOptions": {**data["MetadataOptions"], "HttpTokens": "require"},
                    }
                },
            }
        }
    }
    matches = lint(json.dumps(broken), config=ManualArgs(regions=["us-east-1"]))
    assert [m.rule.id for m in matches] == ["E3030"]


def _run_checkov(paths: list[Path]) -> dict[str, object]:
    args = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--compact"]
    for path in paths:
        args += ["-f", str(path)]
    proc = subprocess.run(
        [*args, "-o", "json"], capture_output=True, text=True, timeout=300, check=False
    )
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


needs_checkov = pytest.mark.skipif(
    not CHECKOV.exists() and not os.environ.get("CI"),
    reason="checkov is not installed (make checkov); CI runs it",
)


@needs_checkov
def test_checkov_has_no_failed_check(tmp_path: Path) -> None:
    templates = {name: synthesize(spec) for name, spec in SPECS.items()}
    assert_checkov_clean(tmp_path, templates, min_passed=150)


def assert_checkov_clean(
    folder: Path, templates: dict[str, dict[str, Any]], *, min_passed: int
) -> None:
    """No failed check, more than ``min_passed`` passed ones, and every skip with its reason."""
    paths = []
    for name, template in sorted(templates.items()):
        path = folder / f"{name}.json"
        path.write_text(render(template), encoding="utf-8")
        paths.append(path)
    results = _run_checkov(paths)["results"]
    assert isinstance(results, dict)
    failed = [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert failed == []
    assert len(results["passed_checks"]) > min_passed
    for skipped in results["skipped_checks"]:  # every skip carries its reason
        assert len(skipped["check_result"].get("suppress_comment", "")) > 30, skipped["check_id"]
