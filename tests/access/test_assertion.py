"""The assertion doctor: signatures, audience, NameID, memberOf, window, size, rules."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse

import pytest

from runnerfleet.access.assertion import check_assertion, mask_email
from runnerfleet.access.metadata import read_metadata
from runnerfleet.access.rules import RuleView
from runnerfleet.errors import SpecError
from tests.access.samlkit import (
    GROUP_A,
    GROUP_B,
    NOW,
    make_idp,
    metadata_xml,
    response_b64,
    response_xml,
)

IDP = make_idp()
MD = read_metadata(metadata_xml(IDP))
AT = NOW + dt.timedelta(minutes=1)


def _messages(raw: bytes, rules: tuple[RuleView, ...] = ()) -> list[str]:
    return [p.message for p in check_assertion(raw, MD, AT, rules).problems]


def test_good_response_passes_and_reads_only_signed_data() -> None:
    report = check_assertion(response_b64(IDP), MD, AT)
    assert report.ok and report.problems == []
    assert report.facts.groups == (GROUP_A,)
    assert report.facts.signed == ("response", "assertion")
    assert mask_email(report.facts.name_id) == "d***@example.com"


@pytest.mark.parametrize("form", ["xml", "form"])
def test_accepts_raw_xml_and_form_encoded(form: str) -> None:
    xml = response_xml(IDP)
    raw = (
        xml
        if form == "xml"
        else b"SAMLResponse=" + urllib.parse.quote(base64.b64encode(xml)).encode()
    )
    assert check_assertion(raw, MD, AT).ok


def test_tampered_signature_is_refused() -> None:
    xml = response_xml(IDP).replace(GROUP_A.encode(), GROUP_B.encode())
    with pytest.raises(SpecError, match="signature does not verify"):
        check_assertion(xml, MD, AT)


def test_signed_by_another_key_is_refused() -> None:
    with pytest.raises(SpecError, match="signature does not verify"):
        check_assertion(response_xml(make_idp()), MD, AT)


def test_unsigned_is_refused() -> None:
    with pytest.raises(SpecError, match="neither the response nor its assertion is signed"):
        check_assertion(response_xml(IDP, sign_response=False, sign_assertion=False), MD, AT)


def test_only_response_signed_is_a_warning() -> None:
    report = check_assertion(response_xml(IDP, sign_assertion=False), MD, AT)
    assert report.ok
    assert [p.severity for p in report.problems] == ["warning"]


def test_wrong_audience() -> None:
    msgs = _messages(response_xml(IDP, audience="https://example.com/app"))
    assert any("Client VPN expects urn:amazon:webservices:clientvpn" in m for m in msgs)


def test_name_id_not_email() -> None:
    fmt = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    msgs = _messages(response_xml(IDP, email="d-1234", name_format=fmt))
    assert any("NameID is not an e-mail address (format persistent)" in m for m in msgs)


def test_member_of_missing() -> None:
    msgs = _messages(response_xml(IDP, group_attr=None))
    assert "no memberOf attribute in the assertion" in msgs


def test_member_of_misspelled() -> None:
    msgs = _messages(response_xml(IDP, group_attr="MemberOf"))
    assert any("'MemberOf' looks like it" in m for m in msgs)


def test_member_of_holds_display_names() -> None:
    msgs = _messages(response_xml(IDP, groups=("Platform Engineers",)))
    assert any(
        "memberOf holds display names (Platform Engineers); Client VPN needs group IDs" in m
        for m in msgs
    )


def test_expired_and_not_yet_valid() -> None:
    late = check_assertion(response_xml(IDP), MD, NOW + dt.timedelta(hours=1))
    assert any("expired at" in p.message for p in late.problems)
    early = check_assertion(response_xml(IDP), MD, NOW - dt.timedelta(hours=1))
    assert any("not valid until" in p.message for p in early.problems)


def test_unsupported_condition_is_a_warning() -> None:
    raw = response_xml(IDP, extra_conditions="<saml:OneTimeUse/>")
    report = check_assertion(raw, MD, AT)
    assert any(p.severity == "warning" and "OneTimeUse" in p.message for p in report.problems)


def test_oversize_response() -> None:
    groups = tuple(f"{i:08x}-0000-0000-0000-000000000000" for i in range(2500))
    with pytest.raises(SpecError, match="accepts at most 128 KB"):
        check_assertion(response_b64(IDP, groups=groups), MD, AT)


def test_wrapping_two_assertions_is_refused() -> None:
    xml = response_xml(IDP, sign_response=False)
    start = xml.index(b"<saml:Assertion")
    doubled = xml[:start] + xml[start:].replace(b"</samlp:Response>", b"") * 2
    with pytest.raises(SpecError, match="exactly one assertion"):
        check_assertion(doubled + b"</samlp:Response>", MD, AT)


def test_rules_compared_with_longest_prefix() -> None:
    rules = (
        RuleView("10.0.0.0/16", GROUP_A, False, "runners"),
        RuleView("10.0.5.0/24", GROUP_B, False, "admins"),
    )
    report = check_assertion(response_xml(IDP), MD, AT, rules)
    assert report.access == [
        ("10.0.0.0/16", True, "rule for runners"),
        ("10.0.5.0/24", False, "needs group admins"),
    ]
    assert report.ok


def test_no_rule_matches_is_an_error() -> None:
    rules = (RuleView("10.0.0.0/16", GROUP_B, False, "admins"),)
    msgs = _messages(response_xml(IDP), rules)
    assert any("matches no authorisation rule" in m for m in msgs)


def test_not_base64() -> None:
    with pytest.raises(SpecError, match="neither XML nor base64"):
        check_assertion(b"%%% not a response %%%", MD, AT)


def test_hostile_response_xml_is_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>'
    )
    with pytest.raises(SpecError, match="refused"):
        check_assertion(base64.b64encode(xxe), MD, AT)
