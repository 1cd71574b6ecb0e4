"""Metadata checks: hardened parsing, certificates, bindings, expiry."""

from __future__ import annotations

import datetime as dt

import pytest

from runnerfleet.access.metadata import check_metadata, read_metadata
from runnerfleet.errors import SpecError
from tests.access.samlkit import NOW, POST, REDIRECT, make_idp, metadata_xml

IDP = make_idp()


def _errors(data: bytes, now: dt.datetime = NOW) -> list[str]:
    return [p.message for p in check_metadata(read_metadata(data), now) if p.severity == "error"]


def test_good_metadata_has_no_problems() -> None:
    md = read_metadata(metadata_xml(IDP))
    assert check_metadata(md, NOW) == []
    assert md.redirect_url and md.redirect_url.startswith("https://portal.sso.")
    assert len(md.signing_certs) == 1


def test_metadata_without_redirect_binding_is_an_error() -> None:
    errors = _errors(metadata_xml(IDP, bindings=(POST,)))
    assert any("no HTTP-Redirect SingleSignOnService" in e and "HTTP-POST" in e for e in errors)


def test_expired_metadata_valid_until() -> None:
    errors = _errors(metadata_xml(IDP, valid_until="2026-01-01T00:00:00Z"))
    assert any("metadata expired on 2026-01-01" in e for e in errors)


def test_expired_signing_certificate() -> None:
    old = make_idp(not_before=NOW - dt.timedelta(days=400), days=365)
    errors = _errors(metadata_xml(old))
    assert any("signing certificate is not valid now" in e for e in errors)


def test_certificate_close_to_expiry_is_a_warning() -> None:
    soon = make_idp(not_before=NOW - dt.timedelta(days=355), days=365)
    problems = check_metadata(read_metadata(metadata_xml(soon)), NOW)
    assert [p.severity for p in problems] == ["warning"]
    assert "expires on" in problems[0].message


def test_signed_requests_wanted_is_an_error() -> None:
    errors = _errors(metadata_xml(IDP, want_signed=True))
    assert any("WantAuthnRequestsSigned" in e for e in errors)


def test_too_small_for_iam() -> None:
    tiny = (
        b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">'
        b'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        b'<md:SingleSignOnService Binding="' + REDIRECT.encode() + b'" Location="https://x"/>'
        b"</md:IDPSSODescriptor></md:EntityDescriptor>"
    )
    errors = _errors(tiny)
    assert any("IAM needs at least 1,000" in e for e in errors)
    assert any("no usable signing certificate" in e for e in errors)


def test_not_metadata_at_all() -> None:
    with pytest.raises(SpecError, match="not md:EntityDescriptor"):
        read_metadata(b"<html><body>login</body></html>")


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol3;"/>"""

DOCTYPE_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE md:EntityDescriptor SYSTEM "http://203.0.113.9/evil.dtd">
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>"""


@pytest.mark.parametrize(
    ("payload", "why"),
    [(XXE, "DOCTYPE|entit"), (BOMB, "DOCTYPE|entit"), (DOCTYPE_ONLY, "DOCTYPE")],
    ids=["external-entity", "entity-bomb", "doctype"],
)
def test_hostile_xml_is_refused(payload: bytes, why: str) -> None:
    with pytest.raises(SpecError, match=why) as info:
        read_metadata(payload)
    assert "root:" not in str(info.value)  # nothing from a local file leaked into the message


def test_oversize_metadata_is_refused_unread() -> None:
    with pytest.raises(SpecError, match="the limit is 10,000,000"):
        read_metadata(b"<a>" + b" " * 10_000_001 + b"</a>")
