"""The host rule for credentials: registrable domains, origins and the `trusted_token_hosts` opt-in.

(The end-to-end behaviour, against hostile servers, is in tests/reliability/test_credential_hosts.py.)
"""

from __future__ import annotations

import httpx
import pytest

from containerregistry.auth import RegistryAuth
from containerregistry.auth._hosts import (
    normalize_trusted_hosts,
    origin_key,
    registrable_domain,
    token_host_allowed,
)


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("registry-1.docker.io", "docker.io"),
        ("auth.docker.io", "docker.io"),
        ("ghcr.io", "ghcr.io"),
        ("a.b.c.example.com", "example.com"),
        ("Auth.Example.COM.", "example.com"),
        ("auth.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("registry.example.com.cn", "example.com.cn"),
        ("x.example.or.jp", "example.or.jp"),
        ("registry.example.io", "example.io"),  # a two-letter TLD without a registration label
        ("myreg.azurecr.io", "myreg.azurecr.io"),  # one customer per ACR name
        ("myreg.westeurope.data.azurecr.io", "data.azurecr.io"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
    ],
)
def test_registrable_domain(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(
    ("registry", "realm", "allowed"),
    [
        ("https://registry-1.docker.io", "https://auth.docker.io/token", True),
        ("https://ghcr.io", "https://ghcr.io/token", True),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5001/token", True),  # one host, another port
        ("http://localhost:5000", "http://localhost:5001/token", True),
        ("http://127.0.0.1:5000", "http://127.0.0.2:5000/token", False),
        ("http://127.0.0.1:5000", "http://localhost:5001/token", False),
        ("http://localhost:5000", "http://127.0.0.1:5001/token", False),
        ("https://registry.example.com", "https://auth.evil.com/token", False),
        ("https://registry.example.co.uk", "https://auth.other.co.uk/token", False),
        ("https://registry.example.com", "https://example.com.evil.net/token", False),
        ("https://myreg.azurecr.io", "https://otherreg.azurecr.io/oauth2/token", False),
        ("https://10.0.0.1", "https://10.0.0.2/token", False),  # IPs match only themselves
        ("https://registry", "https://auth/token", False),  # single labels too
    ],
)
def test_token_host_allowed(registry: str, realm: str, allowed: bool) -> None:
    assert token_host_allowed(httpx.URL(registry), httpx.URL(realm), frozenset()) is allowed


def test_trusted_hosts_opt_in_by_host_or_host_and_port() -> None:
    registry, realm = httpx.URL("https://nvcr.io"), httpx.URL("https://authn.nvidia.com/token")
    assert not token_host_allowed(registry, realm, frozenset())
    assert token_host_allowed(registry, realm, normalize_trusted_hosts(["authn.nvidia.com"]))
    assert token_host_allowed(registry, realm, normalize_trusted_hosts(["AUTHN.nvidia.com:443"]))
    assert not token_host_allowed(registry, realm, normalize_trusted_hosts(["authn.nvidia.com:8443"]))
    assert not token_host_allowed(registry, realm, normalize_trusted_hosts(["nvidia.com"]))


def test_normalize_trusted_hosts() -> None:
    assert normalize_trusted_hosts(None) == frozenset()
    assert normalize_trusted_hosts("auth.example.com") == {"auth.example.com"}
    assert normalize_trusted_hosts(["https://Auth.Example.com/", "[::1]:5001", "h:80"]) == {
        "auth.example.com",
        "::1:5001",
        "h:80",
    }
    for bad in ("", "  ", "host/path", "host:99999"):
        with pytest.raises(ValueError, match="trusted_token_hosts"):
            normalize_trusted_hosts([bad])
    with pytest.raises(ValueError, match="trusted_token_hosts"):
        RegistryAuth(None, trusted_token_hosts=[""])


def test_origin_key_fills_default_ports() -> None:
    assert origin_key("https://Reg.example.com") == origin_key("https://reg.example.com:443/v2/")
    assert origin_key("http://reg:80") == origin_key("http://reg")
    assert origin_key("http://reg") != origin_key("https://reg")
    assert origin_key("http://127.0.0.1:5000") != origin_key("http://127.0.0.1:5001")
