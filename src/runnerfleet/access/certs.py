"""The endpoint's server certificate: a private CA plus a server certificate, made locally.

Client VPN wants RSA 1024 or 2048 (we use 2048) and a certificate with a *domain*: a DNS-style CN
plus a DNS SAN, or ACM import succeeds and the endpoint then fails with "does not have a domain".
Keys are written 0600 and never printed. Time comes in as a value, so expiry checks are pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from runnerfleet.errors import SpecError
from runnerfleet.files import make_directory, write_file

KEY_BITS = 2048
EXPIRY_WARNING_DAYS = 30
ACM_MAX_KEY_BYTES = 5120
CA_FILE, CERT_FILE, KEY_FILE, CA_KEY_FILE = "ca.crt", "server.crt", "server.key", "ca.key"


@dataclass(frozen=True)
class CertBundle:
    """PEM bytes of the CA, the server certificate and its key (the key stays in memory/0600)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    ca_key_pem: bytes | None = None

    def __repr__(self) -> str:  # never show key material, even in a traceback
        return "CertBundle(<pem redacted>)"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "runnerfleet"),
        ]
    )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),  # ACM import rejects encrypted keys
    )


def _builder(
    subject: str, issuer: x509.Name, key: rsa.RSAPublicKey, now: dt.datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
    )


def generate(domain: str, now: dt.datetime, *, days: int = 825, ca_days: int = 3650) -> CertBundle:
    """A fresh CA and a server certificate for ``domain`` (CN and DNS SAN), RSA 2048 / SHA-256."""
    ca_key, key = _new_key(), _new_key()
    ca_name = _name(f"runnerfleet access CA {domain}")
    ca_cert = (
        _builder(f"runnerfleet access CA {domain}", ca_name, ca_key.public_key(), now, ca_days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        _builder(domain, ca_name, key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return CertBundle(
        ca_cert.public_bytes(pem), cert.public_bytes(pem), _pem_key(key), _pem_key(ca_key)
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def write_bundle(bundle: CertBundle, directory: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the PEM files; keys get mode 0600 from the moment they exist (no chmod race)."""
    make_directory(directory)
    files = [
        (CA_FILE, bundle.ca_pem, 0o644),
        (CERT_FILE, bundle.cert_pem, 0o644),
        (KEY_FILE, bundle.key_pem, 0o600),
    ]
    if bundle.ca_key_pem is not None:
        files.append((CA_KEY_FILE, bundle.ca_key_pem, 0o600))
    existing = [name for name, _, _ in files if (directory / name).exists()]
    if existing and not overwrite:
        raise SpecError(
            f"{directory} already holds {', '.join(existing)}",
            hint="pass --force to replace them, or choose another --out directory",
        )
    written = []
    for name, data, mode in files:
        path = directory / name
        write_file(path, data, mode=mode, enforce=True)  # also tightens a pre-existing file
        written.append(path)
    return written


def read_bundle(directory: Path) -> CertBundle:
    try:
        return CertBundle(
            (directory / CA_FILE).read_bytes(),
            (directory / CERT_FILE).read_bytes(),
            (directory / KEY_FILE).read_bytes(),
        )
    except OSError as exc:
        raise SpecError(
            f"cannot read the certificate bundle in {directory}: {exc.strerror}",
            hint="run `runnerfleet access cert --domain NAME --out DIR` first",
        ) from exc


@dataclass(frozen=True)
class CertCheck:
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    not_after: dt.datetime


def check_bundle(
    bundle: CertBundle, now: dt.datetime, warn_days: int = EXPIRY_WARNING_DAYS
) -> CertCheck:
    """What ACM and Client VPN will object to, found before we upload anything."""
    cert = x509.load_pem_x509_certificate(bundle.cert_pem)
    ca = x509.load_pem_x509_certificate(bundle.ca_pem)
    errors = _cert_errors(cert, ca, now)
    if len(bundle.key_pem) > ACM_MAX_KEY_BYTES:
        errors.append("the private key is over 5,120 bytes; ACM refuses it: use RSA 2048")
    warnings = []
    left = cert.not_valid_after_utc - now
    if dt.timedelta(0) < left <= dt.timedelta(days=warn_days):
        warnings.append(
            f"the server certificate expires in {left.days} days "
            f"({cert.not_valid_after_utc:%Y-%m-%d}): generate a new one and re-import "
            "it with --certificate-arn (ACM does not renew imported certificates)"
        )
    return CertCheck(tuple(errors), tuple(warnings), cert.not_valid_after_utc)


def _cert_errors(cert: x509.Certificate, ca: x509.Certificate, now: dt.datetime) -> list[str]:
    errors = []
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size not in (1024, 2048):
        errors.append("Client VPN accepts only RSA 1024 or 2048-bit keys: regenerate the cert")
    if not (cert.not_valid_before_utc <= now < cert.not_valid_after_utc):
        errors.append(
            f"the server certificate is not valid now (valid "
            f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
            ": generate a new one with `runnerfleet access cert`"
        )
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        has_dns = bool(sans.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        has_dns = False
    if not has_dns:
        errors.append(
            "the certificate has no DNS name (SAN); Client VPN says 'does not have a "
            "domain': regenerate it with --domain"
        )
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        errors.append("the server certificate was not issued by ca.crt: regenerate the bundle")
    return errors
