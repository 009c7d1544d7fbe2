"""Where a reference's registry is reached: Docker Hub's names, and the scheme of a bare host (no I/O)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from containerregistry import ContainerRegistryClient, ContainerRegistryContentClient, parse_reference
from containerregistry._common import (
    endpoint_candidates,
    login_server_of,
    normalize_endpoint,
    registry_endpoint,
)
from containerregistry._sync._scheme import probe_endpoint
from containerregistry.images import RegistryLocation, parse_image_location
from containerregistry.protocol.reference import is_docker_hub

HUB = "https://registry-1.docker.io"


@pytest.mark.parametrize(
    ("text", "repository"),
    [
        ("docker.io/alpine:3", "library/alpine"),
        ("index.docker.io/alpine:3", "library/alpine"),
        ("docker.io/library/alpine:3", "library/alpine"),
        ("docker.io/bitnami/redis:7", "bitnami/redis"),
        ("index.docker.io/bitnami/redis:7", "bitnami/redis"),
    ],
)
def test_docker_hub_references(text: str, repository: str) -> None:
    ref = parse_reference(text)
    assert (ref.repository, ref.tag) == (repository, text.rsplit(":", 1)[1])
    assert normalize_endpoint(ref.registry) == HUB
    location = parse_image_location(text)
    assert isinstance(location, RegistryLocation)
    assert (location.endpoint, location.repository) == (HUB, repository)


def test_docker_hub_as_default_registry() -> None:
    assert parse_reference("alpine", default_registry="docker.io").repository == "library/alpine"
    assert parse_reference("alpine", default_registry="registry-1.docker.io").repository == "library/alpine"
    hub_location = parse_image_location("alpine:3", default_registry="docker.io")
    assert isinstance(hub_location, RegistryLocation)
    assert hub_location.repository == "library/alpine"
    # Not Docker Hub: names stay as written.
    assert parse_reference("alpine").repository == "alpine"
    assert parse_reference("alpine", default_registry="myregistry.azurecr.io").repository == "alpine"
    assert parse_reference("quay.io/alpine").repository == "alpine"
    assert parse_reference("localhost:5000/alpine").repository == "alpine"
    assert parse_reference("docker.io:5000/alpine").repository == "alpine"  # another host (a port)


def test_docker_hub_endpoints() -> None:
    for name in ("docker.io", "index.docker.io", "https://docker.io", "https://index.docker.io/"):
        assert normalize_endpoint(name) == HUB
        assert endpoint_candidates(name) == (HUB, None)
    assert registry_endpoint("docker.io") == "registry-1.docker.io"
    assert is_docker_hub("docker.io") and is_docker_hub("INDEX.docker.io") and not is_docker_hub("quay.io")
    # Clients (no I/O until the first request) talk to the API host.
    assert ContainerRegistryClient("docker.io").endpoint == HUB
    content = ContainerRegistryContentClient("index.docker.io", "library/alpine")
    assert (content.endpoint, content.login_server) == (HUB, "registry-1.docker.io")
    content.close()


def test_scheme_candidates_follow_docker() -> None:
    # An explicit scheme is used as given, never probed.
    assert endpoint_candidates("http://127.0.0.1:5000") == ("http://127.0.0.1:5000", None)
    assert endpoint_candidates("https://127.0.0.1:5443") == ("https://127.0.0.1:5443", None)
    assert endpoint_candidates("http://registry.example") == ("http://registry.example", None)
    # Loopback: https first, http as the fallback.
    for host in ("127.0.0.1:5443", "localhost:5000", "[::1]:5000", "127.1.2.3"):
        assert endpoint_candidates(host) == (f"https://{host}", f"http://{host}")
    # Any other host: https only, unless the user said it is insecure.
    assert endpoint_candidates("registry.example:5000") == ("https://registry.example:5000", None)
    assert endpoint_candidates("registry.example:5000", insecure=True) == (
        "https://registry.example:5000",
        "http://registry.example:5000",
    )
    # Bare hosts stay bare until a client decides; the login server is the same either way.
    assert registry_endpoint("127.0.0.1:5443/") == "127.0.0.1:5443"
    assert registry_endpoint("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert login_server_of("127.0.0.1:5443") == login_server_of("https://127.0.0.1:5443") == "127.0.0.1:5443"
    # A client of a bare loopback host starts from https (the probe may move it to http).
    assert ContainerRegistryClient("127.0.0.1:5443").endpoint == "https://127.0.0.1:5443"


def _probe(handler: Any, first: str, fallback: str | None) -> tuple[str, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    with httpx.Client(transport=httpx.MockTransport(record)) as client:
        return probe_endpoint(client, first, fallback), seen


def test_probe_of_an_insecure_remote_host() -> None:
    """A non-loopback host (`--insecure`): GET /v2/ over https, then over http; never an Authorization."""

    def plain_only(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            raise httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number", request=request)
        return httpx.Response(401)

    chosen, seen = _probe(plain_only, *endpoint_candidates("registry.example:5000", insecure=True))
    assert chosen == "http://registry.example:5000"
    assert [str(r.url) for r in seen] == [
        "https://registry.example:5000/v2/",
        "http://registry.example:5000/v2/",
    ]
    assert not any("Authorization" in r.headers for r in seen)

    chosen, seen = _probe(
        lambda r: httpx.Response(200), "https://registry.example", "http://registry.example"
    )
    assert chosen == "https://registry.example" and len(seen) == 1

    def untrusted(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            cause = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
            raise httpx.ConnectError(str(cause), request=request) from cause
        return httpx.Response(200)

    chosen, seen = _probe(untrusted, "https://registry.example", "http://registry.example")
    assert chosen == "https://registry.example" and len(seen) == 1  # no downgrade past a certificate error

    def nothing(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert (
        _probe(nothing, "https://registry.example", "http://registry.example")[0]
        == "https://registry.example"
    )
    # Without a fallback nothing is probed at all.
    assert _probe(nothing, "https://registry.example", None) == ("https://registry.example", [])
