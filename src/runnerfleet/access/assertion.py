"""The assertion doctor: why did this SAML sign-in to Client VPN fail?

Input is a captured SAMLResponse (base64 as the browser posts it, or the decoded XML). We verify
its signature against the certificate in the app's metadata and read only what the signature
covers (signxml's ``signed_xml``), which defeats signature-wrapping. Then we check what Client VPN
needs: audience, an e-mail NameID, a ``memberOf`` attribute holding group IDs, the validity
window and the 128 KB size limit, and compare the groups with the authorisation rules.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from runnerfleet.access.metadata import IdpMetadata
from runnerfleet.access.rules import RuleView, evaluate_rules
from runnerfleet.access.spec import GROUP_ID_RE
from runnerfleet.access.xmlsafe import NS, parse_hardened, text
from runnerfleet.errors import SpecError
from runnerfleet.findings import Finding, Severity

AUDIENCE = "urn:amazon:webservices:clientvpn"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
MAX_RESPONSE_BYTES = 128 * 1024
MAX_GROUPS = 200
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GROUP_ATTR = "memberOf"


@dataclass(frozen=True)
class AssertionFacts:
    """What the verified assertion says (the e-mail is masked for display)."""

    issuer: str = ""
    name_id: str = ""
    name_id_format: str = ""
    audiences: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    attribute_names: tuple[str, ...] = ()
    not_before: dt.datetime | None = None
    not_on_or_after: dt.datetime | None = None
    encoded_size: int = 0
    signed: tuple[str, ...] = ()


@dataclass
class AssertionReport:
    facts: AssertionFacts
    problems: list[Finding] = field(default_factory=list)
    access: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def _found(severity: Severity, message: str, fix: str) -> Finding:
    return Finding("saml-assertion", severity, message, fix)


def decode_response(raw: bytes) -> tuple[bytes, int]:
    """(XML, size as sent): accepts base64, ``SAMLResponse=...`` form data, or raw XML."""
    data = raw.strip()
    if data.startswith(b"SAMLResponse="):
        data = urllib.parse.unquote_to_bytes(data.split(b"=", 1)[1].split(b"&", 1)[0])
    if data.startswith(b"<"):
        return data, len(base64.b64encode(data))
    compact = b"".join(data.split())
    if len(compact) > 2 * MAX_RESPONSE_BYTES:
        return b"", len(compact)  # refused below without decoding a huge blob
    try:
        return base64.b64decode(compact, validate=True), len(compact)
    except (binascii.Error, ValueError) as exc:
        raise SpecError(
            "the input is neither XML nor base64",
            hint="paste the SAMLResponse value exactly as the browser posted it (devtools, "
            "Network tab, the POST to 127.0.0.1:35001), or the decoded XML",
        ) from exc


def check_assertion(
    raw: bytes, metadata: IdpMetadata, now: dt.datetime, rules: Sequence[RuleView] = ()
) -> AssertionReport:
    xml, size = decode_response(raw)
    if size > MAX_RESPONSE_BYTES:
        raise SpecError(
            f"the SAMLResponse is {size / 1024:.0f} KB; Client VPN accepts at most 128 KB",
            hint="the user is in very many groups or the app maps extra attributes: keep only "
            "Subject and memberOf in the attribute mappings",
        )
    root = parse_hardened(xml, what="SAML response", max_bytes=MAX_RESPONSE_BYTES)
    assertion, signed = _verified_assertion(root, metadata)
    facts = _facts(assertion, size, signed)
    report = AssertionReport(facts)
    report.problems += _check_signing(facts)
    report.problems += _check_issuer_audience(facts, assertion, metadata)
    report.problems += _check_window(facts, now)
    report.problems += _check_subject(facts)
    report.problems += _check_groups(facts)
    if rules:
        report.access = evaluate_rules(facts.groups, rules)
        if not any(allowed for _, allowed, _ in report.access):
            report.problems.append(
                _found(
                    "error",
                    "this user matches no authorisation rule: the tunnel comes up but no "
                    "traffic is allowed",
                    "add the user to a group named in a rule (see the table), "
                    "or add a rule for one of the user's groups",
                )
            )
    return report


def _verify(element: etree._Element, metadata: IdpMetadata) -> etree._Element:
    """Verify the signature that is a direct child of ``element`` with a metadata certificate."""
    config = SignatureConfiguration(location="./")
    failure: Exception | None = None
    for cert in metadata.signing_certs:
        try:
            result = XMLVerifier().verify(element, x509_cert=cert, expect_config=config)
        except (InvalidSignature, InvalidInput) as exc:  # InvalidDigest is a subclass
            failure = exc
            continue
        assert not isinstance(result, list)  # expect_references=1 gives one result
        return result.signed_xml
    raise SpecError(
        f"the signature does not verify against the metadata's certificate ({failure})",
        hint="the response was altered after signing, or it comes from another app or IdP: "
        "capture it again, and check with the metadata of the app you signed in to",
    )


def _verified_assertion(
    root: etree._Element, metadata: IdpMetadata
) -> tuple[etree._Element, tuple[str, ...]]:
    if not metadata.signing_certs:
        raise SpecError(
            "the metadata has no signing certificate to verify with",
            hint="run `runnerfleet access check-metadata` on it",
        )
    if root.tag == f"{{{NS['saml']}}}Assertion":
        return _verify(_standalone(root), metadata), ("assertion",)
    if root.tag != f"{{{NS['samlp']}}}Response":
        raise SpecError(
            f"expected a samlp:Response, found {etree.QName(root).localname}",
            hint="paste the SAMLResponse, not the metadata or the AuthnRequest",
        )
    if root.findall(".//saml:EncryptedAssertion", NS):
        raise SpecError(
            "the assertion is encrypted; it cannot be inspected here",
            hint="turn assertion encryption off while troubleshooting",
        )
    if len(root.findall(".//saml:Assertion", NS)) != 1:
        raise SpecError(
            "the response must carry exactly one assertion",
            hint="several assertions is a signature-wrapping pattern: do not trust it",
        )
    signed: list[str] = []
    trusted: etree._Element | None = None
    if root.find("ds:Signature", NS) is not None:
        verified = _verify(root, metadata)
        trusted, signed = verified.find("saml:Assertion", NS), ["response"]
    inner = root.find("saml:Assertion", NS)
    if inner is not None and inner.find("ds:Signature", NS) is not None:
        trusted = _verify(_standalone(inner), metadata)  # prefer the assertion's own signature
        signed.append("assertion")
    if trusted is None:
        raise SpecError(
            "neither the response nor its assertion is signed",
            hint="Client VPN needs signed assertions: enable signing at the IdP",
        )
    return trusted, tuple(signed)


def _standalone(element: etree._Element) -> etree._Element:
    """A copy as its own document (namespaces carried over) so its signature verifies alone."""
    return etree.fromstring(etree.tostring(element))


def _instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _facts(assertion: etree._Element, size: int, signed: tuple[str, ...]) -> AssertionFacts:
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    conditions = assertion.find("saml:Conditions", NS)
    attrs = assertion.findall("saml:AttributeStatement/saml:Attribute", NS)
    groups = [
        text(v)
        for a in attrs
        if a.get("Name") == GROUP_ATTR
        for v in a.findall("saml:AttributeValue", NS)
    ]
    return AssertionFacts(
        issuer=text(assertion.find("saml:Issuer", NS)),
        name_id=text(name_id),
        name_id_format=name_id.get("Format", "") if name_id is not None else "",
        audiences=tuple(text(a) for a in assertion.iterfind(".//saml:Audience", NS)),
        groups=tuple(groups),
        attribute_names=tuple(a.get("Name", "") for a in attrs),
        not_before=_instant(conditions.get("NotBefore") if conditions is not None else None),
        not_on_or_after=_instant(
            conditions.get("NotOnOrAfter") if conditions is not None else None
        ),
        encoded_size=size,
        signed=signed,
    )


def _check_signing(facts: AssertionFacts) -> list[Finding]:
    if "assertion" in facts.signed:
        return []
    return [
        _found(
            "warning",
            "only the Response is signed, not the assertion itself",
            "set the IdP to sign the assertion (or both); some IdPs fail otherwise",
        )
    ]


def _check_issuer_audience(
    facts: AssertionFacts, assertion: etree._Element, metadata: IdpMetadata
) -> list[Finding]:
    problems = []
    if metadata.entity_id and facts.issuer != metadata.entity_id:
        problems.append(
            _found(
                "error",
                f"the issuer {facts.issuer!r} is not the metadata's entity {metadata.entity_id!r}",
                "the IAM provider holds another app's metadata: use the metadata of this app",
            )
        )
    if AUDIENCE not in facts.audiences:
        seen = ", ".join(facts.audiences) or "none"
        problems.append(
            _found(
                "error",
                f"the audience is {seen}; Client VPN expects {AUDIENCE}",
                f"set 'Application SAML audience' of the app to {AUDIENCE}",
            )
        )
    conditions = assertion.find("saml:Conditions", NS)
    extra = sorted(
        {
            etree.QName(c).localname
            for c in (conditions if conditions is not None else [])
            if isinstance(c.tag, str) and etree.QName(c).localname != "AudienceRestriction"
        }
    )
    if extra:
        problems.append(
            _found(
                "warning",
                f"unsupported conditions: {', '.join(extra)}",
                "Client VPN honours only AudienceRestriction and the time window: drop the rest",
            )
        )
    return problems


def _check_window(facts: AssertionFacts, now: dt.datetime) -> list[Finding]:
    start, end = facts.not_before, facts.not_on_or_after
    if start is not None and now < start:
        return [
            _found(
                "error",
                f"the assertion is not valid until {start:%Y-%m-%d %H:%M:%S} UTC",
                "check the clock of this machine and of the IdP (clock skew)",
            )
        ]
    if end is not None and now >= end:
        return [
            _found(
                "error",
                f"the assertion expired at {end:%Y-%m-%d %H:%M:%S} UTC",
                "capture a fresh response (they live minutes), or pass --at with the "
                "capture time; if it is fresh, check this machine's clock",
            )
        ]
    return []


def _check_subject(facts: AssertionFacts) -> list[Finding]:
    if facts.name_id_format == EMAIL_FORMAT and EMAIL_RE.match(facts.name_id):
        return []
    shown = facts.name_id_format.rsplit(":", 1)[-1] or "none"
    return [
        _found(
            "error",
            f"the NameID is not an e-mail address (format {shown})",
            "map Subject to ${user:email} with format emailAddress in the app's attribute mappings",
        )
    ]


def _check_groups(facts: AssertionFacts) -> list[Finding]:
    if GROUP_ATTR not in facts.attribute_names:
        return [_missing_member_of(facts.attribute_names)]
    if not facts.groups:
        return [
            _found(
                "error",
                "memberOf is present but empty: the user is in no group",
                "add the user to a group used in the authorisation rules",
            )
        ]
    names = [g for g in facts.groups if not GROUP_ID_RE.match(g)]
    problems = []
    if names:
        problems.append(
            _found(
                "error",
                f"memberOf holds display names ({', '.join(names[:3])}); Client VPN needs "
                "group IDs",
                "map memberOf to ${user:groups} (it emits Identity Store group IDs) and "
                "use group IDs (or `group:` names resolved by runnerfleet) in the rules",
            )
        )
    if len(facts.groups) > MAX_GROUPS:
        problems.append(
            _found(
                "warning",
                f"the user is in {len(facts.groups)} groups; Client VPN reads the first 200",
                "a group beyond the 200th never matches a rule: trim memberships",
            )
        )
    return problems


def _missing_member_of(names: tuple[str, ...]) -> Finding:
    lookalikes = [n for n in names if n.lower() == GROUP_ATTR.lower()]
    lookalikes += difflib.get_close_matches(GROUP_ATTR, [n for n in names if n not in lookalikes])
    if lookalikes:
        return _found(
            "error",
            f"no memberOf attribute, but {lookalikes[0]!r} looks like it",
            "the name is case-sensitive: rename the mapping to exactly memberOf",
        )
    return _found(
        "error",
        "no memberOf attribute in the assertion",
        "add the mapping memberOf -> ${user:groups} (format unspecified) to the app",
    )


def mask_email(value: str) -> str:
    """Show enough to recognise the user, not enough to copy the address."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else (value[:1] + "***" if value else "")
