"""Small helpers the clients, auth, the image functions and the CLI share: endpoints, timeouts, limits (no I/O)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .exceptions import InvalidReferenceError

if TYPE_CHECKING:
    import httpx  # imported by `to_timeout` when called: `creg` validates endpoints here before any client exists

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "DOCKER_HUB_API_HOST",
    "MAX_MANIFEST_SIZE",
    "ProgressCallback",
    "endpoint_candidates",
    "is_loopback_host",
    "login_server_of",
    "normalize_endpoint",
    "registry_endpoint",
    "to_timeout",
]

#: Registries must accept manifests of at least 4 MiB (OCI Distribution); we refuse larger ones by default.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024
#: Seconds a request may take (read, write, pool) and may take to connect, when the caller gives no timeout.
DEFAULT_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 15.0

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


#: Where Docker Hub serves the registry API: `docker.io` and `index.docker.io` mean this host.
DOCKER_HUB_API_HOST = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io"})


def _split_endpoint(endpoint: str) -> tuple[str | None, str]:
    """(scheme or None when not given, netloc) of a validated endpoint; Docker Hub's names -> its API host.

    Raises:
        InvalidReferenceError: the endpoint is not a URL or host name.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise InvalidReferenceError("registry endpoint is empty")
    text = endpoint.strip().rstrip("/")
    given = "://" in text
    parts = urlsplit(text if given else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidReferenceError(f"invalid registry endpoint {endpoint!r}: expected https://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidReferenceError(
            f"invalid registry endpoint {endpoint!r}: give only the scheme, host and port (no path, query or user)"
        )
    netloc = parts.netloc
    if netloc.lower() in _DOCKER_HUB_ALIASES:
        netloc = DOCKER_HUB_API_HOST
    return (parts.scheme if given else None), netloc


def normalize_endpoint(endpoint: str) -> str:
    """`myregistry.azurecr.io` -> `https://myregistry.azurecr.io`; loopback hosts default to http.

    This is the endpoint's plain reading, without I/O. A client given a bare loopback host (or a bare
    host with `insecure=True`) tries https first and falls back to http (see `endpoint_candidates`).
    Docker Hub's names (`docker.io`, `index.docker.io`) become its API host, `registry-1.docker.io`.

    Raises:
        InvalidReferenceError: the endpoint is not a URL or host name.
    """
    scheme, netloc = _split_endpoint(endpoint)
    if scheme is None:
        scheme = "http" if is_loopback_host(urlsplit(f"//{netloc}").hostname or "") else "https"
    return f"{scheme}://{netloc}"


def registry_endpoint(endpoint: str) -> str:
    """The endpoint validated and kept as given: `scheme://host[:port]`, or `host[:port]` without a scheme.

    A scheme-less endpoint lets the client choose (`endpoint_candidates`), so keep it scheme-less when
    the user wrote none.

    Raises:
        InvalidReferenceError: the endpoint is not a URL or host name.
    """
    scheme, netloc = _split_endpoint(endpoint)
    return f"{scheme}://{netloc}" if scheme else netloc


def endpoint_candidates(endpoint: str, *, insecure: bool = False) -> tuple[str, str | None]:
    """(the endpoint to try first, the http one to fall back to or None), as docker chooses.

    An explicit scheme is used as given. A bare host gets https; for a loopback host, or any host with
    `insecure=True`, plain http is the fallback when https gets no answer.

    Raises:
        InvalidReferenceError: the endpoint is not a URL or host name.
    """
    scheme, netloc = _split_endpoint(endpoint)
    if scheme is not None:
        return f"{scheme}://{netloc}", None
    host = urlsplit(f"//{netloc}").hostname or ""
    fallback = f"http://{netloc}" if insecure or is_loopback_host(host) else None
    return f"https://{netloc}", fallback


def login_server_of(endpoint: str) -> str:
    """`https://myregistry.azurecr.io` (or a bare `myregistry.azurecr.io`) -> `myregistry.azurecr.io`."""
    if "://" not in endpoint:
        return endpoint.strip().rstrip("/").split("/", 1)[0]
    return urlsplit(endpoint).netloc


def to_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    import httpx

    if timeout is None:
        return httpx.Timeout(DEFAULT_TIMEOUT, connect=DEFAULT_CONNECT_TIMEOUT)
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout)
