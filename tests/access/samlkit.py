"""Local SAML fixtures: an IdP key and certificate, metadata and signed responses.

Everything is generated here with a throwaway key; no real organisation's data is involved.
Run ``python -m tests.access.samlkit examples/access`` to regenerate the example metadata files.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
AUDIENCE = "urn:amazon:webservices:clientvpn"
ENTITY = "https://portal.sso.eu-west-1.amazonaws.com/saml/assertion/EXAMPLEAPPID"
GROUP_A = "90676b0c-0071-70fa-4d1b-0123456789ab"
GROUP_B = "a1b2c3d4e5-11112222-3333-4444-5555-666677778888"
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Idp:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def cert_b64(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


def make_idp(not_before: dt.datetime = NOW - dt.timedelta(days=30), days: int = 1825) -> Idp:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "example-idp.invalid"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example IdP (test)"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return Idp(key, cert)


def metadata_xml(
    idp: Idp,
    *,
    bindings: tuple[str, ...] = (POST, REDIRECT),
    valid_until: str | None = None,
    want_signed: bool = False,
    entity: str = ENTITY,
) -> bytes:
    until = f' validUntil="{valid_until}"' if valid_until else ""
    services = "\n".join(
        f'    <md:SingleSignOnService Binding="{b}" Location="{entity}"/>' for b in bindings
    )
    logout = entity.replace("/assertion/", "/logout/")
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD}" entityID="{entity}"{until}>
  <md:IDPSSODescriptor WantAuthnRequestsSigned="{str(want_signed).lower()}"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{idp.cert_b64}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="{POST}" Location="{logout}"/>
    <md:NameIDFormat>{EMAIL}</md:NameIDFormat>
{services}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""
    return doc.encode()


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def assertion_element(
    *,
    email: str = "dev@example.com",
    name_format: str = EMAIL,
    groups: tuple[str, ...] = (GROUP_A,),
    group_attr: str | None = "memberOf",
    audience: str = AUDIENCE,
    issued: dt.datetime = NOW,
    lifetime: dt.timedelta = dt.timedelta(minutes=5),
    entity: str = ENTITY,
    extra_conditions: str = "",
) -> etree._Element:
    aid = "_" + uuid.uuid4().hex
    attrs = ""
    if group_attr is not None:
        values = "".join(f"<saml:AttributeValue>{g}</saml:AttributeValue>" for g in groups)
        attrs = f'<saml:Attribute Name="{group_attr}">{values}</saml:Attribute>'
    doc = f"""<saml:Assertion xmlns:saml="{SAML}" ID="{aid}" Version="2.0"
 IssueInstant="{_iso(issued)}"><saml:Issuer>{entity}</saml:Issuer>
<saml:Subject><saml:NameID Format="{name_format}">{email}</saml:NameID></saml:Subject>
<saml:Conditions NotBefore="{_iso(issued)}" NotOnOrAfter="{_iso(issued + lifetime)}">
<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
{extra_conditions}</saml:Conditions>
<saml:AttributeStatement>{attrs}<saml:Attribute Name="Name">
<saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>
</saml:Assertion>"""
    return etree.fromstring(doc)


def sign(element: etree._Element, idp: Idp) -> etree._Element:
    signer = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    return signer.sign(element, key=idp.key, cert=[idp.cert], reference_uri=element.get("ID"))


def response_xml(
    idp: Idp, *, sign_response: bool = True, sign_assertion: bool = True, **kwargs: object
) -> bytes:
    assertion = assertion_element(**kwargs)  # type: ignore[arg-type]
    if sign_assertion:
        assertion = sign(assertion, idp)
    rid = "_" + uuid.uuid4().hex
    entity = str(kwargs.get("entity", ENTITY))
    issued = kwargs.get("issued", NOW)
    assert isinstance(issued, dt.datetime)
    response = etree.fromstring(
        f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{rid}" Version="2.0" '
        f'IssueInstant="{_iso(issued)}" Destination="http://127.0.0.1:35001">'
        f"<saml:Issuer>{entity}</saml:Issuer><samlp:Status><samlp:StatusCode "
        'Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:Response>'
    )
    response.append(assertion)
    if sign_response:
        response = sign(response, idp)
    return etree.tostring(response)


def response_b64(idp: Idp, **kwargs: object) -> bytes:
    return base64.b64encode(response_xml(idp, **kwargs))  # type: ignore[arg-type]


def write_examples(directory: Path) -> None:
    """The example metadata files and a sample response: one local test IdP, valid ten years."""
    idp = make_idp(not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), days=3650)
    vpn = ENTITY.replace("EXAMPLEAPPID", "ins-example-vpn")
    portal = ENTITY.replace("EXAMPLEAPPID", "ins-example-portal")
    (directory / "vpn-client-metadata.xml").write_bytes(metadata_xml(idp, entity=vpn))
    (directory / "self-service-metadata.xml").write_bytes(metadata_xml(idp, entity=portal))
    # A captured sign-in of a fictitious user in group GROUP_A, valid 12:00-12:05 on NOW's day.
    sample = response_b64(idp, entity=vpn, email="operator@example.com")
    (directory / "sample-response.b64").write_bytes(sample + b"\n")


if __name__ == "__main__":
    write_examples(Path(sys.argv[1]))
