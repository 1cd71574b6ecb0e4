"""Guardrails: built-in rules and the organisation policy, reported as findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.envfile import load_environment
from runnerfleet.envfile.guardrails import check, has_errors
from runnerfleet.envfile.policy import OrgPolicy, PolicyRules, load_policy
from runnerfleet.errors import SpecError
from tests.conftest import EXAMPLES


def ids(findings: list) -> dict[str, str]:
    return {f.code: f.severity for f in findings}


def test_examples_have_no_errors() -> None:
    for name in ("dev.yaml", "prod.yaml"):
        assert not has_errors(check(load_environment(EXAMPLES / name)))


def test_the_shipped_organisation_policy_binds_and_the_examples_follow_it() -> None:
    """README's quick start validates with examples/org-policy.yaml: it must exist, say
    something, and let the examples through (an empty policy would pass vacuously)."""
    policy = load_policy(EXAMPLES / "org-policy.yaml")
    dev, prod = (load_environment(EXAMPLES / name) for name in ("dev.yaml", "prod.yaml"))
    assert policy.rules_for(dev).max_fleet_size == 10
    assert policy.rules_for(prod).forbid_privileged and not policy.rules_for(dev).forbid_privileged
    for spec in (dev, prod):
        assert not has_errors(check(spec, policy))
    wider = dev.model_copy(update={"capacity": dev.capacity.model_copy(update={"max": 11})})
    assert ids(check(wider, policy)).get("RF102") == "error"


def test_forbidden_instance_type() -> None:
    spec = load_environment(EXAMPLES / "prod.yaml")
    policy = OrgPolicy(defaults=PolicyRules(allowed_instance_types=("m7i.*", "m6i.*")))
    findings = [f for f in check(spec, policy) if f.code == "RF101"]
    assert [f.key_path for f in findings] == ["instances.types[2]"]
    assert findings[0].severity == "error" and "m5.large" in findings[0].message


def test_missing_required_tag() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    findings = check(spec, OrgPolicy(defaults=PolicyRules(required_tags=("CostCenter", "Owner"))))
    missing = [f for f in findings if f.code == "RF103"]
    assert [f.key_path for f in missing] == ["tags.Owner"]


def test_production_overrides_apply_only_to_production() -> None:
    policy = OrgPolicy(production=PolicyRules(max_fleet_size=10))
    assert "RF102" in ids(check(load_environment(EXAMPLES / "prod.yaml"), policy))
    assert "RF102" not in ids(check(load_environment(EXAMPLES / "dev.yaml"), policy))


def test_privileged_and_socket(tmp_path: Path) -> None:
    env = tmp_path / "e.yaml"
    env.write_text(
        f"extends: {EXAMPLES / 'dev.yaml'}\n"
        "runner: {docker: {privileged: true,"
        " volumes: ['/var/run/docker.sock:/var/run/docker.sock']}}\n"
    )
    spec = load_environment(env)
    assert {"RF104": "warning", "RF105": "warning"}.items() <= ids(check(spec)).items()
    strict = OrgPolicy(defaults=PolicyRules(forbid_privileged=True, forbid_docker_socket=True))
    assert {"RF104": "error", "RF105": "error"}.items() <= ids(check(spec, strict)).items()


def test_errors_sort_first() -> None:
    spec = load_environment(EXAMPLES / "dev.yaml")
    findings = check(spec, OrgPolicy(defaults=PolicyRules(max_fleet_size=1)))
    assert findings[0].severity == "error"


def test_policy_file_errors_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("defaults: {max_fleet_sise: 3}\n")
    with pytest.raises(SpecError, match="policy file is invalid"):
        load_policy(bad)


def test_policy_file_loads(tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text(
        "defaults: {required_tags: [CostCenter]}\nenvironments: {dev: {max_fleet_size: 2}}\n"
    )
    policy = load_policy(good)
    assert policy.rules_for(load_environment(EXAMPLES / "dev.yaml")).max_fleet_size == 2
