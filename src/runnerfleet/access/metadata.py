"""IdP metadata (the file downloaded from an Identity Center custom SAML app), read and checked.

What Client VPN needs from it: a signing certificate that is valid now, a SingleSignOnService
with the HTTP-Redirect binding (its sign-in requests are unsigned redirects), and a size IAM
accepts (1,000 bytes to 10 MB). ``now`` comes in as a value.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from lxml import etree

from runnerfleet.access.xmlsafe import NS, parse_hardened, text
from runnerfleet.errors import SpecError
from runnerfleet.findings import Finding, Severity

REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
IAM_MIN_BYTES, IAM_MAX_BYTES = 1000, 10_000_000
CERT_WARNING_DAYS = 30


@dataclass(frozen=True)
class IdpMetadata:
    """The parts of the metadata that matter to Client VPN."""

    entity_id: str
    sso_bindings: tuple[tuple[str, str], ...]  # (binding, location)
    signing_certs: tuple[x509.Certificate, ...]
    valid_until: dt.datetime | None
    want_authn_signed: bool
    protocols: str
    size: int
    document: str

    @property
    def redirect_url(self) -> str | None:
        return next((loc for binding, loc in self.sso_bindings if binding == REDIRECT), None)


def _found(severity: Severity, message: str, fix: str) -> Finding:
    return Finding("saml-metadata", severity, message, fix)


def read_metadata_file(path: Path) -> IdpMetadata:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"cannot read the metadata file {path}: {exc.strerror}",
            hint="download it from the Identity Center app's configuration page",
        ) from exc
    return read_metadata(data)


def read_metadata(data: bytes) -> IdpMetadata:
    """Parse (hardened) and extract; raises SpecError when it is not IdP metadata at all."""
    root = parse_hardened(data, what="SAML metadata", max_bytes=IAM_MAX_BYTES)
    if root.tag != f"{{{NS['md']}}}EntityDescriptor":
        raise SpecError(
            f"the root element is {etree.QName(root).localname}, not md:EntityDescriptor",
            hint="use the IdP (Identity Center) metadata file of one app, not a response or an "
            "aggregate of several entities",
        )
    idp = root.find("md:IDPSSODescriptor", NS)
    if idp is None:
        raise SpecError(
            "the metadata has no IDPSSODescriptor: it does not describe an IdP",
            hint="download the 'IAM Identity Center SAML metadata file' of the app",
        )
    return IdpMetadata(
        entity_id=root.get("entityID", ""),
        sso_bindings=tuple(
            (s.get("Binding", ""), s.get("Location", ""))
            for s in idp.findall("md:SingleSignOnService", NS)
        ),
        signing_certs=_signing_certs(idp),
        valid_until=_instant(root.get("validUntil")),
        want_authn_signed=idp.get("WantAuthnRequestsSigned", "false").lower() == "true",
        protocols=idp.get("protocolSupportEnumeration", ""),
        size=len(data),
        document=data.decode("utf-8", errors="replace"),
    )


def _signing_certs(idp: etree._Element) -> tuple[x509.Certificate, ...]:
    certs = []
    for key in idp.findall("md:KeyDescriptor", NS):
        if key.get("use", "signing") != "signing":
            continue
        for node in key.iterfind(".//ds:X509Certificate", NS):
            der = "".join(text(node).split())
            try:
                certs.append(x509.load_der_x509_certificate(base64.b64decode(der, validate=True)))
            except (ValueError, binascii.Error):
                continue  # reported as "no usable signing certificate"
    return tuple(certs)


def _instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def check_metadata(md: IdpMetadata, now: dt.datetime) -> list[Finding]:
    """Everything that would stop Client VPN from using this metadata, in words to act on."""
    problems = _check_size_and_protocol(md)
    problems += _check_certificates(md, now)
    problems += _check_endpoints(md)
    if md.valid_until is not None and md.valid_until <= now:
        problems.append(
            _found(
                "error",
                f"the metadata expired on {md.valid_until:%Y-%m-%d %H:%M} UTC (validUntil)",
                "download fresh metadata from the app and run `runnerfleet access deploy` (the IAM "
                "provider is updated in place)",
            )
        )
    return problems


def _check_size_and_protocol(md: IdpMetadata) -> list[Finding]:
    problems = []
    if md.size < IAM_MIN_BYTES:
        problems.append(
            _found(
                "error",
                f"the metadata is {md.size} bytes; IAM needs at least 1,000",
                "download the complete metadata file from the app",
            )
        )
    if SAML2_PROTOCOL not in md.protocols.split():
        problems.append(
            _found(
                "error",
                "the IdP does not announce SAML 2.0 support",
                "use SAML 2.0 metadata (Identity Center custom SAML 2.0 app)",
            )
        )
    return problems


def _check_certificates(md: IdpMetadata, now: dt.datetime) -> list[Finding]:
    if not md.signing_certs:
        return [
            _found(
                "error",
                "the metadata holds no usable signing certificate",
                "download the metadata again; Client VPN needs signed assertions",
            )
        ]
    valid = [c for c in md.signing_certs if c.not_valid_before_utc <= now < c.not_valid_after_utc]
    if not valid:
        last = max(c.not_valid_after_utc for c in md.signing_certs)
        return [
            _found(
                "error",
                f"the signing certificate is not valid now (expired {last:%Y-%m-%d} or "
                "not yet valid)",
                "the IdP rotated its certificate: download the new metadata and "
                "run `runnerfleet access deploy` to update the IAM provider in place",
            )
        ]
    latest = max(c.not_valid_after_utc for c in valid)
    if latest - now <= dt.timedelta(days=CERT_WARNING_DAYS):
        return [
            _found(
                "warning",
                f"the signing certificate expires on {latest:%Y-%m-%d}",
                "plan the rotation: when Identity Center shows the new certificate, download the "
                "metadata and redeploy",
            )
        ]
    return []


def _check_endpoints(md: IdpMetadata) -> list[Finding]:
    problems = []
    if md.redirect_url is None:
        have = ", ".join(sorted({b.rsplit(":", 1)[-1] for b, _ in md.sso_bindings})) or "none"
        problems.append(
            _found(
                "error",
                f"no HTTP-Redirect SingleSignOnService (bindings present: {have})",
                "Client VPN sends its sign-in request by HTTP-Redirect: enable that binding at the "
                "IdP, or use Identity Center's app metadata, which lists it",
            )
        )
    if md.want_authn_signed:
        problems.append(
            _found(
                "error",
                "the IdP wants signed AuthnRequests (WantAuthnRequestsSigned=true)",
                "Client VPN cannot sign its requests: turn off 'require signed requests'",
            )
        )
    return problems


def summary(md: IdpMetadata) -> list[tuple[str, str]]:
    """Key facts for display (no secrets in metadata: the certificate is public)."""
    certs = "; ".join(
        f"{c.subject.rfc4514_string()} until {c.not_valid_after_utc:%Y-%m-%d}"
        for c in md.signing_certs
    )
    return [
        ("entity ID", md.entity_id),
        ("sign-in (Redirect)", md.redirect_url or "-"),
        ("signing certificate", certs or "-"),
        ("size", f"{md.size:,} bytes"),
    ]
