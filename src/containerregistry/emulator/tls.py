"""TLS for the emulator: a user's certificate, or a self-signed CA and server certificate.

`--tls-self-signed` creates, under `<data dir>/tls/`, a small CA (`ca.pem`, `ca-key.pem`) and a server
certificate signed by it (`server.pem`, `server-key.pem`) whose SANs cover the requested host names,
`localhost`, `127.0.0.1` and `::1`. Clients trust `ca.pem` (`httpx.Client(verify="…/ca.pem")`,
`skopeo --cert-dir`, `SSL_CERT_FILE`). The files are reused while valid, so a CA a client already trusts
stays the same across restarts; only the server certificate is re-issued when host names change.

The certificates themselves are made in `_tls_certs` (the emulator's only user of cryptography), which
loads when a certificate is generated: the options and `server_ssl_context` need only the standard library.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "TLSFiles",
    "add_tls_arguments",
    "generate_self_signed",
    "server_ssl_context",
    "ssl_context_from_args",
    "tls_files_from_args",
]


class TLSFiles(NamedTuple):
    """Paths of a server certificate, its key, and the CA that clients should trust (if known)."""

    cert: Path
    key: Path
    ca: Path | None


def generate_self_signed(hostnames: list[str], directory: Path) -> tuple[Path, Path, Path]:
    """Create (or reuse) a local CA and a server certificate for `hostnames` in `directory`.

    Args:
        hostnames: DNS names or IP addresses the server is reached by; `localhost`, `127.0.0.1` and
            `::1` are always added, wildcard binds (`0.0.0.0`, `::`) are ignored.
        directory: where `ca.pem`, `ca-key.pem`, `server.pem` and `server-key.pem` live (created 0700).

    Returns:
        `(cert_path, key_path, ca_path)`.
    """
    from ._tls_certs import issue  # cryptography loads here, only when a certificate is generated

    issue(hostnames, directory)
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
