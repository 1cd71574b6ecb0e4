"""The organisation: section: what it accepts, what it refuses (with the key and the fix), and
the StackSet plan it gives (targets, overrides, changes, batches, overlaps). Pure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runnerfleet.envfile import load_environment
from runnerfleet.envfile.models import FleetSpec
from runnerfleet.errors import SpecError
from runnerfleet.ops import stackset_plan as plan
from tests.conftest import REPO

SELF_MANAGED = """
organisation:
  permission_model: self_managed
  accounts: ["111111111111", "222222222222"]
  regions: [eu-west-1, eu-central-1]
  overrides:
    - region: eu-central-1
      parameters: {ImageId: ami-0123456789abcdef0}
    - account: "222222222222"
      region: eu-central-1
      parameters: {ImageId: ami-0fedcba9876543210}
  concurrency: {max_concurrent_percentage: 50, failure_tolerance: 1}
"""
SERVICE_MANAGED = """
organisation:
  organizational_units: [ou-ab12-abcdefgh, r-ab12]
  regions: [eu-west-1]
"""


def env_file(tmp_path: Path, section: str, name: str = "dev") -> Path:
    """examples/dev.yaml as ``name``.yaml (next to a copy of its base) plus ``section``."""
    shutil.copy(REPO / "examples" / "base.yaml", tmp_path / "base.yaml")
    text = (REPO / "examples" / "dev.yaml").read_text().replace("name: dev", f"name: {name}")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text + section)
    return path


def spec_with(tmp_path: Path, section: str) -> FleetSpec:
    return load_environment(env_file(tmp_path, section))


def refused(tmp_path: Path, section: str) -> str:
    with pytest.raises(SpecError) as caught:
        spec_with(tmp_path, section)
    return str(caught.value) + " " + str(getattr(caught.value, "hint", ""))


def test_self_managed_targets_and_overrides(tmp_path: Path) -> None:
    org = spec_with(tmp_path, SELF_MANAGED).organisation
    assert org is not None
    wanted = plan.targets(org)
    assert sorted(wanted) == [
        ("111111111111", "eu-central-1"),
        ("111111111111", "eu-west-1"),
        ("222222222222", "eu-central-1"),
        ("222222222222", "eu-west-1"),
    ]
    assert wanted["111111111111", "eu-central-1"] == {"ImageId": "ami-0123456789abcdef0"}
    assert wanted["222222222222", "eu-central-1"] == {"ImageId": "ami-0fedcba9876543210"}
    assert wanted["222222222222", "eu-west-1"] == {}
    assert plan.preferences(org) == {
        "RegionConcurrencyType": "SEQUENTIAL",
        "RegionOrder": ["eu-west-1", "eu-central-1"],
        "MaxConcurrentPercentage": 50,
        "FailureToleranceCount": 1,
    }


def test_service_managed_targets_units(tmp_path: Path) -> None:
    org = spec_with(tmp_path, SERVICE_MANAGED).organisation
    assert org is not None and org.auto_deployment.enabled
    assert sorted(plan.targets(org)) == [("ou-ab12-abcdefgh", "eu-west-1"), ("r-ab12", "eu-west-1")]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (SERVICE_MANAGED.replace("ou-ab12-abcdefgh", "ou-12"), "organizational_units"),
        (
            SELF_MANAGED.replace(
                "region: eu-central-1\n      parameters: {ImageId: ami-0f",
                "region: us-west-2\n      parameters: {ImageId: ami-0f",
            ),
            "overrides[1].region us-west-2 is not in regions",
        ),
        (
            SELF_MANAGED.replace('account: "222222222222"', 'account: "333333333333"'),
            "overrides[1].account 333333333333 is not in accounts",
        ),
        (
            SELF_MANAGED.replace(
                "max_concurrent_percentage: 50", "max_concurrent_percentage: 50, max_concurrent: 2"
            ),
            "not both",
        ),
        (
            SERVICE_MANAGED + '  accounts: ["111111111111"]\n',
            "service_managed targets organizational_units",
        ),
        (SELF_MANAGED.replace("eu-central-1]", "eu-centrl-1]"), "eu-centrl-1"),
        (
            SERVICE_MANAGED
            + "  overrides:\n    - {account: '111111111111', parameters: {ImageId: x}}\n",
            "override by region",
        ),
    ],
)
def test_bad_sections_are_refused_with_the_key_and_fix(
    tmp_path: Path, section: str, expected: str
) -> None:
    message = refused(tmp_path, section)
    assert expected in message and "organisation" in message and "fix" in message


def test_override_of_an_unknown_parameter_names_the_key(tmp_path: Path) -> None:
    org = spec_with(
        tmp_path,
        SELF_MANAGED.replace("{ImageId: ami-0f", "{InstanceType: m7g.large, ImageId: ami-0f"),
    ).organisation
    assert org is not None
    (problem,) = plan.override_problems(org, {"Parameters": {"ImageId": {}, "CodeKey": {}}})
    assert problem.key_path == "organisation.overrides[1].parameters.InstanceType"
    assert "ImageId" in problem.fix and "CodeKey" not in problem.fix


def test_changes_create_update_delete() -> None:
    wanted = {("1", "a"): {}, ("1", "b"): {"ImageId": "x"}, ("2", "a"): {}}
    deployed = {("1", "a"): {}, ("1", "b"): {}, ("3", "a"): {}}
    changes = plan.instance_changes(wanted, deployed)
    assert [c.describe() for c in changes] == [
        "create 2/a",
        "update 1/b with ImageId=x",
        "delete 3/a",
    ]


def test_batches_group_scopes_per_region_and_overrides() -> None:
    wanted = {(a, r): ({"ImageId": "x"} if r == "b" else {}) for a in "123" for r in "ab"}
    found = plan.batches(plan.instance_changes(wanted, {("9", "a"): {}}))
    assert [(b.action, b.region, b.scopes, dict(b.overrides)) for b in found] == [
        ("create", "a", ("1", "2", "3"), {}),
        ("create", "b", ("1", "2", "3"), {"ImageId": "x"}),
        ("delete", "a", ("9",), {}),
    ]


def test_overlapping_accounts_are_refused(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, SELF_MANAGED)
    other_path = env_file(tmp_path, SELF_MANAGED.replace('"111111111111", ', ""), name="qa")
    other = load_environment(other_path)
    single = spec.model_copy(update={"name": "solo", "organisation": None})
    single = single.model_copy(
        update={
            "aws": single.aws.model_copy(
                update={"account_id": "111111111111", "region": "eu-west-1"}
            )
        }
    )
    problems = plan.overlap_problems(spec, [("qa.yaml", other), ("solo.yaml", single)])
    assert [p.message for p in problems] == [
        "account 222222222222 in eu-central-1 is also targeted by environment qa (qa.yaml)",
        "account 222222222222 in eu-west-1 is also targeted by environment qa (qa.yaml)",
        "account 111111111111 in eu-west-1 is also targeted by environment solo (solo.yaml)",
    ]
    assert problems[0].key_path == "organisation.accounts[1]"
