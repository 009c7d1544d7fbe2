"""TLS settings shared by both transports: one `ssl.SSLContext` built from `verify` and `cert`."""

from __future__ import annotations

import ssl
import threading
from typing import TypeAlias

__all__ = ["CertTypes", "LazySSLContext", "VerifyTypes", "make_ssl_context"]

#: `True` (system and certifi CAs), `False` (no verification) or a CA bundle path (file or directory).
VerifyTypes: TypeAlias = bool | str
#: A client certificate: a PEM file holding cert and key, or a `(cert_path, key_path)` pair.
CertTypes: TypeAlias = str | tuple[str, str] | None


def make_ssl_context(verify: VerifyTypes = True, cert: CertTypes = None) -> ssl.SSLContext:
    """Build the client `SSLContext` for `verify` and `cert`.

    Args:
        verify: `True` trusts the system store plus certifi's bundle (httpx trusts certifi only;
            adding the system store keeps corporate CAs working). `False` disables verification.
            A string is a CA bundle file (or a directory of hashed certificates) trusted *instead*.
        cert: client certificate for mutual TLS.

    Returns:
        A new context; callers may share it between connections.
    """
    if verify is False:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif verify is True:
        ctx = ssl.create_default_context()
        try:
            import certifi
        except ImportError:  # pragma: no cover - httpx depends on certifi
            pass
        else:
            ctx.load_verify_locations(cafile=certifi.where())
    else:
        import os

        if os.path.isdir(verify):
            ctx = ssl.create_default_context(capath=verify)
        else:
            ctx = ssl.create_default_context(cafile=verify)
    if cert is not None:
        if isinstance(cert, str):
            ctx.load_cert_chain(cert)
        else:
            ctx.load_cert_chain(cert[0], cert[1])
    # Registries speak HTTP/1.1 on both transports; advertising h2 would only confuse proxies.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class LazySSLContext:
    """Builds the `SSLContext` on first use: loading CA stores costs ~40 ms, and plain-http users
    (a local emulator, a CLI call) should not pay it."""

    def __init__(self, verify: VerifyTypes = True, cert: CertTypes = None) -> None:
        self._verify = verify
        self._cert = cert
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def get(self) -> ssl.SSLContext:
        """Return the context, building it the first time."""
        context = self._context
        if context is None:
            with self._lock:
                if self._context is None:
                    self._context = make_ssl_context(self._verify, self._cert)
                context = self._context
        return context
