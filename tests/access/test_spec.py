"""The access configuration: shape, service limits, all problems at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runnerfleet.access.limits import check_limits, load_access, parse_access
from runnerfleet.access.spec import AccessSpec
from runnerfleet.errors import SpecError
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "access" / "access.yaml"


def _raw(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())["access"]
    raw.update(changes)
    return raw


def _problems(**changes: Any) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_access(_raw(**changes), source=Path("access.yaml"))
    return info.value.problems


def test_example_loads_and_resolves_metadata_paths() -> None:
    spec = load_access(EXAMPLE)
    assert isinstance(spec, AccessSpec)
    assert spec.resolve_path(spec.saml.vpn_metadata).is_file()
    assert check_limits(spec) == []


def test_own_file_without_access_key(tmp_path: Path) -> None:
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(_raw()))
    assert load_access(path).client_cidr == "10.100.0.0/22"


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.100.0.0/24", "is a /24; Client VPN needs /12 to /22"),
        ("10.0.0.0/11", "is a /11; Client VPN needs /12 to /22"),
        ("10.20.0.0/22", "overlaps the VPC CIDR 10.20.0.0/16"),
        ("10.16.0.0/12", "overlaps the VPC CIDR 10.20.0.0/16"),
        ("10.100.0.1/22", "not an IPv4 network"),
    ],
)
def test_client_cidr_size_and_overlap(cidr: str, expected: str) -> None:
    problems = _problems(client_cidr=cidr)
    assert any(p.startswith("access.yaml: client_cidr:") and expected in p for p in problems)


def test_group_id_combined_with_authorize_all() -> None:
    rules = [
        {
            "cidr": "10.20.0.0/16",
            "group_id": "90676b0c-0071-70fa-4d1b-0123456789ab",
            "authorize_all": True,
        }
    ]
    problems = _problems(rules=rules)
    assert any("rules[0]: authorize_all is combined with group_id" in p for p in problems)


def test_rule_needs_a_group_or_authorize_all() -> None:
    assert any("names no group" in p for p in _problems(rules=[{"cidr": "10.20.0.0/16"}]))


def test_display_name_given_as_group_id() -> None:
    problems = _problems(rules=[{"cidr": "10.20.0.0/16", "group_id": "Runner Operators"}])
    assert any(
        "rules[0].group_id: 'Runner Operators' is not an Identity Store group" in p
        for p in problems
    )


def test_two_subnets_in_one_az() -> None:
    subnets = [
        {"id": "subnet-0aa11bb22cc33dd44", "az": "eu-west-1a"},
        {"id": "subnet-0ee55ff66aa77bb88", "az": "eu-west-1a"},
    ]
    assert any(
        "subnets[1].az" in p and "one subnet per Availability Zone" in p
        for p in _problems(subnets=subnets)
    )


def test_every_limit_reported_at_once() -> None:
    problems = _problems(
        session_timeout_hours=9,
        dns_servers=["10.0.0.2", "10.0.0.3", "1.1.1.1"],
        banner="x" * 1401,
        logging={"retention_days": 45},
        client_cidr="10.100.0.0/24",
    )
    joined = "\n".join(problems)
    for key in (
        "session_timeout_hours",
        "dns_servers",
        "banner",
        "logging.retention_days",
        "client_cidr",
    ):
        assert f"access.yaml: {key}:" in joined
    assert all("; fix: " in p for p in problems)


def test_shape_errors_name_key_path_and_fix() -> None:
    problems = _problems(transport="quic", port=8443, splittunnel=True)
    joined = "\n".join(problems)
    assert "access.yaml: transport:" in joined and "'udp' or 'tcp'" in joined
    assert "access.yaml: port:" in joined
    assert "access.yaml: splittunnel:" in joined and "check its spelling" in joined


def test_full_tunnel_needs_default_route() -> None:
    assert any("split_tunnel" in p for p in _problems(split_tunnel=False))
    raw = _raw(split_tunnel=False, routes=[{"cidr": "0.0.0.0/0"}])
    assert parse_access(raw).split_tunnel is False


def test_route_overlapping_client_block() -> None:
    assert any("routes[0].cidr" in p for p in _problems(routes=[{"cidr": "10.100.0.0/24"}]))


def test_unreadable_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_access(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("access: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_access(bad)


def test_access_file_problems_name_their_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text("utf-8")
    path = tmp_path / "access.yaml"
    path.write_text(text.replace("session_timeout_hours: 12", "session_timeout_hours: 9"))
    with pytest.raises(SpecError) as info:
        load_access(path)
    line = 1 + text.splitlines().index("  session_timeout_hours: 12")
    assert info.value.problems[0].startswith(f"{path}:{line}: session_timeout_hours: ")
    assert "; fix: " in info.value.problems[0]


def test_access_file_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text(EXAMPLE.read_text("utf-8") + "port: 443\nport: 1194\n")
    with pytest.raises(SpecError, match="duplicate key"):
        load_access(path)


def test_arns_are_checked() -> None:
    problems = _problems(server_certificate_arn="vpn-cert", logging={"kms_key_arn": "alias/logs"})
    joined = "\n".join(problems)
    assert "server_certificate_arn: 'vpn-cert' is not an ACM certificate ARN" in joined
    assert "logging.kms_key_arn: 'alias/logs' is not a KMS key ARN" in joined


def test_duplicate_rules_and_routes() -> None:
    rule = {"cidr": "10.20.0.0/16", "group": "Runner Operators"}
    route = {"cidr": "172.16.0.0/16"}
    joined = "\n".join(_problems(rules=[rule, rule], routes=[route, route]))
    assert "rules[1]: repeats the rule for Runner Operators on 10.20.0.0/16" in joined
    assert "routes[1]: repeats the route to 172.16.0.0/16" in joined
