"""Certificate issuing for `tls.generate_self_signed`: a small local CA and a server certificate signed by
it (ECDSA P-256), reused while valid. The only emulator module that imports cryptography; `tls.py` loads
it only when a certificate is to be generated, so the emulator without `--tls-self-signed` never does.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .._files import write_atomic

__all__ = ["issue"]

_CA_DAYS = 3650
_SERVER_DAYS = 397
# Re-issue a little before expiry, so a long-running test session never meets an expired certificate.
_MIN_REMAINING = datetime.timedelta(days=2)
_WILDCARD_BINDS = {"", "0.0.0.0", "::", "*"}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path: Path, data: bytes, *, private: bool) -> None:
    # Partial file + rename: a crash never leaves a truncated certificate that a later start would reuse.
    write_atomic(path, data, mode=0o600 if private else 0o644)


def _san_entries(hostnames: list[str]) -> tuple[set[str], set[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    dns: set[str] = set()
    ips: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for raw in [*hostnames, "localhost", "127.0.0.1", "::1"]:
        name = raw.strip().strip("[]")
        if name in _WILDCARD_BINDS:
            continue
        try:
            ips.add(ipaddress.ip_address(name))
        except ValueError:
            dns.add(name.lower())
    return dns, ips


def _not_valid_after(cert: x509.Certificate) -> datetime.datetime:
    # `not_valid_after_utc` arrived in cryptography 42; the naive attribute is UTC too.
    aware = getattr(cert, "not_valid_after_utc", None)
    if isinstance(aware, datetime.datetime):
        return aware
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.public_key() != key.public_key() or _not_valid_after(cert) - _now() < _MIN_REMAINING:
        return None
    return cert, key


def _server_is_usable(
    directory: Path,
    ca: x509.Certificate,
    dns: set[str],
    ips: set[ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> bool:
    try:
        cert = x509.load_pem_x509_certificate((directory / "server.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "server-key.pem").read_bytes(), password=None)
        cert.verify_directly_issued_by(ca)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    if cert.public_key() != key.public_key() or _not_valid_after(cert) - _now() < _MIN_REMAINING:
        return False
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = set(san.get_values_for_type(x509.IPAddress))
    return dns <= have_dns and ips <= have_ips


def _new_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "containerregistry emulator local CA")])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(
        directory / "ca-key.pem",
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        private=True,
    )
    _write(directory / "ca.pem", cert.public_bytes(serialization.Encoding.PEM), private=False)
    return cert, key


def _new_server(
    directory: Path,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    dns: set[str],
    ips: set[ipaddress.IPv4Address | ipaddress.IPv6Address],
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = sorted(dns)[0] if dns else "localhost"
    now = _now()
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(dns)]
    sans += [x509.IPAddress(ip) for ip in sorted(ips, key=str)]
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(days=_SERVER_DAYS), _not_valid_after(ca)))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(
        directory / "server-key.pem",
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        private=True,
    )
    _write(directory / "server.pem", cert.public_bytes(serialization.Encoding.PEM), private=False)


def issue(hostnames: list[str], directory: Path) -> None:
    """Create (or reuse) the CA and the server certificate for `hostnames` in `directory` (see
    `tls.generate_self_signed`)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    dns, ips = _san_entries(hostnames)
    loaded = _load_ca(directory)
    if loaded is None:
        ca, ca_key = _new_ca(directory)
    else:
        ca, ca_key = loaded
    if loaded is None or not _server_is_usable(directory, ca, dns, ips):
        _new_server(directory, ca, ca_key, dns, ips)
