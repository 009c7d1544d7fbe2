"""Helpers shared by the sync and async clients (no I/O)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from .exceptions import InvalidReferenceError

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_MANIFEST_SIZE",
    "ProgressCallback",
    "is_loopback_host",
    "login_server_of",
    "normalize_endpoint",
    "scope_for",
    "to_timeout",
]

#: Registries must accept manifests of at least 4 MiB (OCI Distribution); we refuse larger ones by default.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=15.0)

#: `progress(bytes_done, bytes_total_or_None)`, called as a transfer advances.
ProgressCallback = Callable[[int, int | None], Any]


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_endpoint(endpoint: str) -> str:
    """`myregistry.azurecr.io` -> `https://myregistry.azurecr.io`; loopback hosts default to http.

    Raises:
        InvalidReferenceError: the endpoint is not a URL or host name.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise InvalidReferenceError("registry endpoint is empty")
    text = endpoint.strip().rstrip("/")
    if "://" not in text:
        host = text.split("/", 1)[0]
        hostname = urlsplit(f"//{host}").hostname or ""
        text = f"{'http' if is_loopback_host(hostname) else 'https'}://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidReferenceError(f"invalid registry endpoint {endpoint!r}: expected https://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidReferenceError(
            f"invalid registry endpoint {endpoint!r}: give only the scheme, host and port (no path, query or user)"
        )
    return f"{parts.scheme}://{parts.netloc}"


def login_server_of(endpoint: str) -> str:
    """`https://myregistry.azurecr.io` -> `myregistry.azurecr.io`."""
    return urlsplit(endpoint).netloc


def scope_for(repository: str, *actions: str) -> tuple[str, ...]:
    """The token scope a repository request needs, in the form the auth flow expects."""
    return (f"repository:{repository}:{','.join(actions)}",)


def to_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout)
