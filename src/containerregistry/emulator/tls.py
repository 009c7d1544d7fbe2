"""TLS for the emulator: a user's certificate, or a self-signed CA and server certificate.

`--tls-self-signed` creates, under `<data dir>/tls/`, a small CA (`ca.pem`, `ca-key.pem`) and a server
certificate signed by it (`server.pem`, `server-key.pem`) whose SANs cover the requested host names,
`localhost`, `127.0.0.1` and `::1`. Clients trust `ca.pem` (`httpx.Client(verify="…/ca.pem")`,
`skopeo --cert-dir`, `SSL_CERT_FILE`). The files are reused while valid, so a CA a client already trusts
stays the same across restarts; only the server certificate is re-issued when host names change.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import ssl
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "TLSFiles",
    "add_tls_arguments",
    "generate_self_signed",
    "server_ssl_context",
    "ssl_context_from_args",
    "tls_files_from_args",
]

_CA_DAYS = 3650
_SERVER_DAYS = 397
# Re-issue a little before expiry, so a long-running test session never meets an expired certificate.
_MIN_REMAINING = datetime.timedelta(days=2)
_WILDCARD_BINDS = {"", "0.0.0.0", "::", "*"}


class TLSFiles(NamedTuple):
    """Paths of a server certificate, its key, and the CA that clients should trust (if known)."""

    cert: Path
    key: Path
    ca: Path | None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path: Path, data: bytes, *, private: bool) -> None:
    # Temp file + rename: a crash never leaves a truncated certificate that a later start would reuse.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


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


def generate_self_signed(hostnames: list[str], directory: Path) -> tuple[Path, Path, Path]:
    """Create (or reuse) a local CA and a server certificate for `hostnames` in `directory`.

    Args:
        hostnames: DNS names or IP addresses the server is reached by; `localhost`, `127.0.0.1` and
            `::1` are always added, wildcard binds (`0.0.0.0`, `::`) are ignored.
        directory: where `ca.pem`, `ca-key.pem`, `server.pem` and `server-key.pem` live (created 0700).

    Returns:
        `(cert_path, key_path, ca_path)`.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    dns, ips = _san_entries(hostnames)
    loaded = _load_ca(directory)
    if loaded is None:
        ca, ca_key = _new_ca(directory)
    else:
        ca, ca_key = loaded
    if loaded is None or not _server_is_usable(directory, ca, dns, ips):
        _new_server(directory, ca, ca_key, dns, ips)
    return directory / "server.pem", directory / "server-key.pem", directory / "ca.pem"


def server_ssl_context(cert: Path | str, key: Path | str) -> ssl.SSLContext:
    """A server-side SSL context (TLS 1.2+) serving `cert` (a PEM chain) with `key`.

    Raises:
        ValueError: the files cannot be read or do not match.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load TLS certificate {str(cert)!r} with key {str(key)!r}: {exc}") from None
    return context


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--tls-cert`, `--tls-key`, `--tls-self-signed` and `--tls-hostname` to `parser`."""
    group = parser.add_argument_group("TLS")
    group.add_argument("--tls-cert", type=Path, metavar="PEM", help="server certificate (chain), PEM")
    group.add_argument("--tls-key", type=Path, metavar="PEM", help="private key of --tls-cert, PEM")
    group.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a generated certificate; clients trust <data dir>/tls/ca.pem",
    )
    group.add_argument(
        "--tls-hostname",
        action="append",
        default=[],
        metavar="NAME",
        help="extra host name or IP for the generated certificate (repeatable)",
    )


def tls_files_from_args(args: argparse.Namespace, data_dir: Path) -> TLSFiles | None:
    """Resolve the TLS options to files (generating them for `--tls-self-signed`); None means plain HTTP.

    Raises:
        ValueError: only one of `--tls-cert`/`--tls-key`, or both a certificate and `--tls-self-signed`.
    """
    cert: Path | None = getattr(args, "tls_cert", None)
    key: Path | None = getattr(args, "tls_key", None)
    self_signed = bool(getattr(args, "tls_self_signed", False))
    if (cert is None) != (key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if cert is not None and key is not None:
        if self_signed:
            raise ValueError("use either --tls-cert/--tls-key or --tls-self-signed, not both")
        return TLSFiles(cert, key, None)
    if not self_signed:
        return None
    hostnames = list(getattr(args, "tls_hostname", None) or [])
    host = getattr(args, "host", None)
    if isinstance(host, str):
        hostnames.append(host)
    cert_path, key_path, ca_path = generate_self_signed(hostnames, Path(data_dir) / "tls")
    return TLSFiles(cert_path, key_path, ca_path)


def ssl_context_from_args(args: argparse.Namespace, data_dir: Path) -> ssl.SSLContext | None:
    """The server SSL context the TLS options ask for, or None for plain HTTP.

    Raises:
        ValueError: inconsistent options or unreadable certificate files.
    """
    files = tls_files_from_args(args, data_dir)
    return None if files is None else server_ssl_context(files.cert, files.key)
