"""Which hosts may receive a credential: the registry's own origin, its host or domain, or an opt-in.

The auth flow asks this module before any secret leaves the process for a URL the server chose (a
token realm, a redirect target, an upload ``Location``):

- An Entra ID access token (valid for every ACR the identity can reach) is exchanged only at the
  registry's own origin (scheme, host and port), never at a realm elsewhere; no option widens that.
- A password, identity/refresh token or registry token goes to a token server only on the registry's
  own host (any port: a loopback registry with its token server on another port is one host) or its
  registrable domain (`registrable_domain`), or to a host the user listed in ``trusted_token_hosts``.
- Requests to any other origin (a storage host a blob download is redirected to, an upload
  ``Location`` elsewhere) carry no ``Authorization`` and their challenges are not answered.
- Anonymous token requests carry no secret and may go to any realm.
- No credential goes over plain http, except to a loopback host or with ``insecure=True``
  (`require_secure_transport`).

The registrable domain is computed without a public-suffix list, by a small rule (see
`registrable_domain`); IP addresses and single-label names only ever match themselves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from .._common import is_loopback_host
from ..exceptions import InsecureTransportError, UntrustedTokenServerError
from ..protocol.http import redact_url

__all__ = [
    "REGISTRY_EXTENSION",
    "check_entra_realm",
    "check_token_host",
    "normalize_trusted_hosts",
    "origin_key",
    "registrable_domain",
    "require_secure_transport",
    "token_host_allowed",
]

#: Request extension set by the clients: the origin (``scheme://host:port``) of the registry the user
#: named. A request to any other origin gets no credential and its challenges are not answered.
REGISTRY_EXTENSION = "containerregistry.registry"

# Second-level labels under which a two-letter country code TLD registers names (`example.co.uk`,
# `example.com.cn`, `example.or.jp`): there the registrable domain is the last three labels.
_CCTLD_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "gob", "go", "gov", "ltd", "mil", "ne", "net", "or", "org"}
)
# Domains whose subdomains belong to different customers (one registry each): treated as suffixes.
_SHARED_SUFFIXES = frozenset({"azurecr.io", "azurecr.cn", "azurecr.us"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str:
    """The domain a host name belongs to, by a small rule (no public-suffix list).

    The last two labels (``registry-1.docker.io`` -> ``docker.io``); the last three when the top-level
    label has two letters and the second-level one is a registration label such as ``co``, ``com``,
    ``org``, ``ac``, ``gov`` (``auth.example.co.uk`` -> ``example.co.uk``) or the domain is a shared
    registry suffix (``myreg.azurecr.io`` stays ``myreg.azurecr.io``). IP addresses and single-label
    names (``localhost``) are their own domain.
    """
    name = _host(host)
    if _is_ip(name):
        return name
    labels = name.split(".")
    if len(labels) <= 2:
        return name
    last_two = ".".join(labels[-2:])
    keep = (
        3
        if (len(labels[-1]) == 2 and labels[-2] in _CCTLD_SECOND_LEVEL) or last_two in _SHARED_SUFFIXES
        else 2
    )
    return ".".join(labels[-keep:])


def origin_key(url: httpx.URL | str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in: two URLs are one origin iff equal."""
    url = httpx.URL(url) if isinstance(url, str) else url
    scheme = url.scheme.lower()
    return scheme, _host(url.host), url.port or _DEFAULT_PORTS.get(scheme, 0)


def require_secure_transport(
    url: httpx.URL, credential: object | None, registry: str, insecure: bool
) -> None:
    """Raise `InsecureTransportError` before `credential` goes to `url` over plain http to a remote host.

    Nothing is checked without a credential, with `insecure`, over https or to a loopback host.
    """
    if credential is None or insecure or url.scheme != "http" or is_loopback_host(url.host):
        return
    raise InsecureTransportError(
        f"refusing to send credentials for registry {registry} over plain http to {url.host}; "
        "use https, or pass insecure=True if this network is trusted"
    )


def normalize_trusted_hosts(hosts: Iterable[str] | None) -> frozenset[str]:
    """``trusted_token_hosts`` as given by a user: ``host`` (any port) or ``host:port`` entries.

    ``https://auth.example.com`` and ``[::1]:5001`` are accepted too. Raises ValueError for an empty entry.
    """
    if hosts is None:
        return frozenset()
    if isinstance(hosts, str):
        hosts = [hosts]
    result: set[str] = set()
    for entry in hosts:
        text = str(entry).strip()
        if not text:
            raise ValueError("trusted_token_hosts: empty host name")
        parts = urlsplit(text if "://" in text else f"//{text}")
        if not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"trusted_token_hosts: {entry!r} is not a host or host:port")
        host = _host(parts.hostname)
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"trusted_token_hosts: {entry!r} has an invalid port") from None
        result.add(f"{host}:{port}" if port is not None else host)
    return frozenset(result)


def token_host_allowed(registry: httpx.URL, realm: httpx.URL, trusted: frozenset[str]) -> bool:
    """May a password / identity token / refresh token for `registry` go to the token server `realm`?

    Yes when the realm is on the registry's host (any port), in its registrable domain (host names
    only, never IP addresses), or listed in `trusted` (``host`` or ``host:port``).
    """
    registry_host, realm_host = _host(registry.host), _host(realm.host)
    if registry_host == realm_host:
        return True
    port = realm.port or _DEFAULT_PORTS.get(realm.scheme.lower(), 0)
    if realm_host in trusted or f"{realm_host}:{port}" in trusted:
        return True
    if _is_ip(registry_host) or _is_ip(realm_host):
        return False
    if "." not in registry_host or "." not in realm_host:
        return False
    return registrable_domain(registry_host) == registrable_domain(realm_host)


def check_token_host(
    registry_origin: str, registry: str, realm: httpx.URL, trusted: frozenset[str], what: str
) -> None:
    """Raise `UntrustedTokenServerError` unless `what` (a password, a refresh token) may go to `realm`.

    Args:
        registry_origin: ``scheme://host[:port]`` of the registry.
        registry: the registry as named in messages (``host[:port]``).
        realm: the token server URL the registry's challenge named.
        trusted: `normalize_trusted_hosts` of the user's opt-in.
        what: the secret, for the message ("the password").
    """
    registry_url = httpx.URL(registry_origin)
    if token_host_allowed(registry_url, realm, trusted):
        return
    token_host = realm.netloc.decode("ascii")
    domain = registrable_domain(registry_url.host)
    where = (
        f"neither the registry's host nor in its domain {domain}"
        if domain != _host(registry_url.host)
        else "not the registry's host"
    )
    raise UntrustedTokenServerError(
        f"registry {registry} named a token server on {token_host} ({redact_url(str(realm))}), which is "
        f"{where}: {what} was not sent. If you trust that token server, pass "
        f"trusted_token_hosts=[{realm.host!r}] (creg: --trust-token-host {realm.host})",
        registry=registry,
        token_host=token_host,
        url=redact_url(str(realm)),
    )


def check_entra_realm(registry_origin: str, registry: str, realm: httpx.URL) -> None:
    """Raise `UntrustedTokenServerError` unless `realm` is on the registry's own origin (Entra ID)."""
    if origin_key(realm) == origin_key(registry_origin):
        return
    token_host = realm.netloc.decode("ascii")
    raise UntrustedTokenServerError(
        f"registry {registry} named a token server on {token_host} ({redact_url(str(realm))}): an Entra "
        f"ID token is exchanged only at the registry itself ({registry_origin}/oauth2/exchange), so nothing "
        "was sent (trusted_token_hosts does not apply to Entra ID credentials)",
        registry=registry,
        token_host=token_host,
        url=redact_url(str(realm)),
    )
