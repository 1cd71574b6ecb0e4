"""The access stack template: lint-clean, checkov-clean, stable, rotation in place."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from runnerfleet.access.changes import replacements
from runnerfleet.access.limits import load_access, parse_access
from runnerfleet.access.spec import AccessSpec
from runnerfleet.access.template import ENDPOINT, VPN_PROVIDER, render, synthesize
from runnerfleet.errors import SpecError
from tests.access.samlkit import make_idp, metadata_xml
from tests.conftest import EXAMPLES, REPO

EXAMPLE = EXAMPLES / "access" / "access.yaml"
GROUPS = {"Runner Operators": "a1b2c3d4e5-11112222-3333-4444-5555-666677778888"}
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def _spec(**changes: Any) -> AccessSpec:
    import yaml

    raw = yaml.safe_load(EXAMPLE.read_text())["access"]
    raw.update(changes)
    return parse_access(raw, source=EXAMPLE)


def _template(spec: AccessSpec, vpn: str | None = None) -> dict[str, Any]:
    vpn_doc = vpn or spec.resolve_path(spec.saml.vpn_metadata).read_text()
    portal = spec.resolve_path(spec.saml.portal_metadata).read_text()
    return synthesize(spec, vpn_doc, portal, GROUPS)


FULL_TUNNEL = {
    "split_tunnel": False,
    "routes": [{"cidr": "0.0.0.0/0", "description": "web"}],
    "rules": [{"cidr": "0.0.0.0/0", "authorize_all": True}],
}
VARIANTS = {
    "example": {},
    "full-tunnel": FULL_TUNNEL,
    "kms-no-logging-extras": {
        "logging": {
            "enabled": True,
            "retention_days": 30,
            "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/abcd",
        }
    },
    "no-logging": {"logging": {"enabled": False}, "banner": None, "dns_servers": []},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("access-templates")
    files = {}
    for name, changes in VARIANTS.items():
        files[name] = out / f"{name}.json"
        files[name].write_text(render(_template(_spec(**changes))))
    return files


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cfn_lint_zero_errors_and_warnings(rendered: dict[str, Path], variant: str) -> None:
    matches = lint(rendered[variant].read_text(), config=ManualArgs(regions=["eu-west-1"]))
    serious = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id[0] in "EW"]
    assert serious == []


def test_checkov_zero_failed_checks(rendered: dict[str, Path]) -> None:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail("checkov is missing in CI: run `make checkov`")
        pytest.skip("checkov not installed (make checkov); it must run in CI")
    args = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for path in rendered.values():
        args += ["-f", str(path)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c["check_id"] for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [], proc.stdout[-2000:]
    assert proc.returncode == 0
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    ids = sorted({c["check_id"] for c in skipped})
    assert ids == ["CKV_AWS_158"]  # log group without a customer managed key, with its reason
    assert all(c["check_result"]["suppress_comment"] for c in skipped)  # every skip has a reason


def test_deterministic_and_order_independent() -> None:
    spec = _spec()
    reordered = _spec(rules=list(reversed(_spec().model_dump(mode="json")["rules"])))
    assert render(_template(spec)) == render(_template(spec))
    assert sorted(_template(spec)["Resources"]) == sorted(_template(reordered)["Resources"])


def test_endpoint_has_federated_auth_portal_and_limits() -> None:
    props = _template(_spec())["Resources"][ENDPOINT]["Properties"]
    fed = props["AuthenticationOptions"][0]["FederatedAuthentication"]
    assert fed == {
        "SAMLProviderArn": {"Ref": "VpnSamlProvider"},
        "SelfServiceSAMLProviderArn": {"Ref": "PortalSamlProvider"},
    }
    assert props["SelfServicePortal"] == "enabled"
    assert props["ClientCidrBlock"] == "10.100.0.0/22" and props["VpnPort"] == 443
    assert props["ConnectionLogOptions"]["CloudwatchLogGroup"] == {"Ref": "ConnectionLogGroup"}


def test_resources_per_subnet_rule_and_route() -> None:
    spec = _spec(routes=[{"cidr": "172.16.0.0/16", "description": "peered"}])
    res = _template(spec)["Resources"]
    kinds = [r["Type"].rsplit("::", 1)[1] for r in res.values()]
    assert kinds.count("ClientVpnTargetNetworkAssociation") == 2
    assert kinds.count("ClientVpnAuthorizationRule") == 2
    assert kinds.count("ClientVpnRoute") == 2  # one route through each associated subnet
    group_ids = {
        r["Properties"].get("AccessGroupId")
        for r in res.values()
        if r["Type"].endswith("AuthorizationRule")
    }
    assert group_ids == {GROUPS["Runner Operators"], "90676b0c-0071-70fa-4d1b-0123456789ab"}


def test_unresolved_group_name_is_refused() -> None:
    spec = _spec()
    with pytest.raises(SpecError, match="'Runner Operators' was not resolved"):
        synthesize(spec, "<md/>", "<md/>", {})


def test_metadata_rotation_updates_provider_in_place() -> None:
    spec = load_access(EXAMPLE)
    before = _template(spec)
    after = _template(spec, vpn=metadata_xml(make_idp()).decode())
    old_p, new_p = before["Resources"][VPN_PROVIDER], after["Resources"][VPN_PROVIDER]
    assert old_p["Properties"]["Name"] == new_p["Properties"]["Name"]
    assert (
        old_p["Properties"]["SamlMetadataDocument"] != new_p["Properties"]["SamlMetadataDocument"]
    )
    assert set(before["Resources"]) == set(after["Resources"])
    assert replacements(before, after) == []


def test_replacement_analysis_follows_references() -> None:
    before = _template(_spec())
    renamed = _template(
        _spec(saml={**_spec().model_dump(mode="json")["saml"], "vpn_provider_name": "other-name"})
    )
    hit = {r.logical_id: r.reason for r in replacements(before, renamed)}
    assert hit[VPN_PROVIDER] == "Name changes (create-only)"
    assert "refers to VpnSamlProvider" in hit[ENDPOINT]
    cidr = {
        r.logical_id for r in replacements(before, _template(_spec(client_cidr="10.200.0.0/22")))
    }
    assert ENDPOINT in cidr  # and every rule/association that refers to it
    assert len(cidr) == 1 + 2 + 2


def test_oversized_metadata_is_refused_before_any_aws_call(tmp_path: Path) -> None:
    import datetime as dt

    from runnerfleet.access.plan import build_plan

    spec = _spec()
    big = metadata_xml(make_idp()).replace(
        b"<md:NameIDFormat>", b"<!-- " + b"x" * 60_000 + b" --><md:NameIDFormat>"
    )
    vpn = tmp_path / "vpn.xml"
    vpn.write_bytes(big)
    raw = spec.model_dump(mode="json", exclude={"source"})
    raw["saml"]["vpn_metadata"] = str(vpn)
    raw["saml"]["portal_metadata"] = str(spec.resolve_path(spec.saml.portal_metadata))
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(SpecError, match="at most 51,200 inline"):
        build_plan(parse_access(raw), now, GROUPS)


GOLDEN = Path(__file__).parent / "golden" / "access-example.json"


def test_example_matches_golden_snapshot() -> None:
    """Review template changes as a diff. Regenerate: RUNNERFLEET_UPDATE_GOLDEN=1 pytest ..."""
    body = render(_template(_spec()))
    if os.environ.get("RUNNERFLEET_UPDATE_GOLDEN"):
        GOLDEN.write_text(body)
    assert body == GOLDEN.read_text()
