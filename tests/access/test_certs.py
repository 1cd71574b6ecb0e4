"""Server certificate generation: algorithm, names, usage, file modes, expiry checks."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from runnerfleet.access import certs
from runnerfleet.errors import SpecError

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DOMAIN = "vpn.dev.example.internal"


@pytest.fixture(scope="module")
def bundle() -> certs.CertBundle:
    return certs.generate(DOMAIN, NOW)


def test_server_certificate_has_what_client_vpn_needs(bundle: certs.CertBundle) -> None:
    cert = x509.load_pem_x509_certificate(bundle.cert_pem)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == DOMAIN
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [DOMAIN]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ca = x509.load_pem_x509_certificate(bundle.ca_pem)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert len(bundle.key_pem) < certs.ACM_MAX_KEY_BYTES
    assert b"ENCRYPTED" not in bundle.key_pem


def test_keys_written_0600_and_repr_hides_them(bundle: certs.CertBundle, tmp_path: Path) -> None:
    written = certs.write_bundle(bundle, tmp_path)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
    assert modes[certs.KEY_FILE] == 0o600 and modes[certs.CA_KEY_FILE] == 0o600
    assert modes[certs.CERT_FILE] == 0o644
    assert "PRIVATE" not in repr(bundle)
    assert certs.read_bundle(tmp_path).key_pem == bundle.key_pem


def test_refuses_to_overwrite_without_force(bundle: certs.CertBundle, tmp_path: Path) -> None:
    key = tmp_path / certs.KEY_FILE
    key.write_text("old")
    key.chmod(0o644)
    with pytest.raises(SpecError, match="pass --force"):
        certs.write_bundle(bundle, tmp_path)
    certs.write_bundle(bundle, tmp_path, overwrite=True)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # a loose old file is tightened


def test_check_ok_warning_and_expired(bundle: certs.CertBundle) -> None:
    ok = certs.check_bundle(bundle, NOW)
    assert ok.errors == () and ok.warnings == ()
    near = certs.check_bundle(bundle, ok.not_after - dt.timedelta(days=10))
    assert near.errors == () and "expires in 10 days" in near.warnings[0]
    late = certs.check_bundle(bundle, ok.not_after + dt.timedelta(days=1))
    assert any("not valid now" in e for e in late.errors)


def test_check_catches_foreign_ca(bundle: certs.CertBundle) -> None:
    other = certs.generate("other.example.internal", NOW)
    mixed = certs.CertBundle(other.ca_pem, bundle.cert_pem, bundle.key_pem)
    assert any("not issued by ca.crt" in e for e in certs.check_bundle(mixed, NOW).errors)
