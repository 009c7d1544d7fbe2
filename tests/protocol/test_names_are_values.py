"""Names are values, parsed once: `Reference.scope`, `Digest.parse`, and a download that validates its
digest once at the edge (the stream and its hasher take the parsed value)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

import httpx
import pytest

from containerregistry import ContainerRegistryContentClient, aio
from containerregistry.exceptions import InvalidReferenceError
from containerregistry.protocol import reference as reference_module
from containerregistry.protocol.digest import new_hasher
from containerregistry.protocol.reference import Digest, Reference, parse_reference

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "actions", "scope"),
    [
        ("registry.example/app", ("pull",), "repository:app:pull"),
        ("registry.example/app:1", ("pull", "push"), "repository:app:pull,push"),
        (f"registry.example/team/app@sha256:{HEX}", ("delete",), "repository:team/app:delete"),
        ("localhost:5000/a/b/c:v1", ("metadata_read",), "repository:a/b/c:metadata_read"),
        ("docker.io/alpine:3", ("pull",), "repository:library/alpine:pull"),
        ("registry.example/app", (), "repository:app:pull"),  # no action: pull
    ],
)
def test_reference_scope(text: str, actions: tuple[str, ...], scope: str) -> None:
    # The tag and digest are not part of the scope: a token is per repository.
    assert parse_reference(text).scope(*actions) == scope


def test_repository_reference_scope_is_what_the_clients_ask_for() -> None:
    assert Reference("r.example", "app").scope("pull", "push") == "repository:app:pull,push"


@pytest.mark.parametrize(
    ("text", "algorithm", "encoded"),
    [
        (f"sha256:{HEX}", "sha256", HEX),
        ("sha512:" + "b" * 128, "sha512", "b" * 128),
    ],
)
def test_digest_parse(text: str, algorithm: str, encoded: str) -> None:
    digest = Digest.parse(text)
    assert (digest.algorithm, digest.encoded, str(digest)) == (algorithm, encoded, text)
    assert Digest.parse(digest) is digest


@pytest.mark.parametrize(
    "text", ["", "sha256", f"sha256:{HEX[:-1]}", f"SHA256:{HEX}", f"md5:{HEX}", f"sha256:{HEX.upper()}"]
)
def test_digest_parse_refuses(text: str) -> None:
    with pytest.raises(InvalidReferenceError):
        Digest.parse(text)


class _CountingPattern:
    """Stands in for `DIGEST_RE`: counts how often a digest string is validated."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls = 0

    def fullmatch(self, text: str) -> Any:
        self.calls += 1
        return self.pattern.fullmatch(text)


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> _CountingPattern:
    counter = _CountingPattern(reference_module.DIGEST_RE)
    monkeypatch.setattr(reference_module, "DIGEST_RE", counter)
    return counter


def test_hasher_of_a_parsed_digest_does_not_validate_again(validations: _CountingPattern) -> None:
    digest = Digest.parse(f"sha256:{HEX}")
    assert validations.calls == 1
    assert new_hasher(digest).algorithm == "sha256"
    assert validations.calls == 1


BLOB = b"blob bytes " * 100
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


def _registry(request: httpx.Request) -> httpx.Response:
    if request.url.path == f"/v2/app/blobs/{BLOB_DIGEST}":
        return httpx.Response(200, stream=httpx.ByteStream(BLOB), headers={"Content-Length": str(len(BLOB))})
    return httpx.Response(404)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_download_validates_its_digest_once(validations: _CountingPattern, flavour: str) -> None:
    """`download_blob_content` parses the digest at the edge; the stream and hasher reuse the value
    (before: validated by the client, again by the hasher's algorithm look-up, and split a third time)."""
    if flavour == "sync":
        client = ContainerRegistryContentClient(
            "http://127.0.0.1:1", "app", transport=httpx.MockTransport(_registry)
        )
        with client:
            content = client.download_blob_content(BLOB_DIGEST).content
    else:

        async def run() -> bytes:
            async with aio.ContainerRegistryContentClient(
                "http://127.0.0.1:1", "app", transport=httpx.MockTransport(_registry)
            ) as client:
                return (await client.download_blob_content(BLOB_DIGEST)).content

        content = asyncio.run(run())
    assert content == BLOB
    assert validations.calls == 1


@pytest.mark.parametrize(
    ("text", "client_endpoint", "scope"),
    [
        ("127.0.0.1:5000/app:1", "127.0.0.1:5000", "repository:app:pull"),
        ("http://127.0.0.1:5000/team/app:1", "http://127.0.0.1:5000", "repository:team/app:pull"),
        ("https://r.example/app@sha256:" + HEX, "https://r.example", "repository:app:pull"),
        ("docker://r.example/app", "r.example", "repository:app:pull"),
    ],
)
def test_registry_location_is_a_reference_and_a_scheme(text: str, client_endpoint: str, scope: str) -> None:
    from containerregistry.images import RegistryLocation, parse_image_location

    location = parse_image_location(text)
    assert isinstance(location, RegistryLocation)
    assert location.client_endpoint == client_endpoint
    assert location.scope("pull") == location.reference.scope("pull") == scope
    assert location.identifier == location.reference.identifier


@pytest.mark.parametrize(
    ("registry", "text", "client_endpoint", "shown"),
    [
        ("http://127.0.0.1:5000", "app:1", "http://127.0.0.1:5000", "127.0.0.1:5000/app:1"),
        ("127.0.0.1:5000", "app:1", "127.0.0.1:5000", "127.0.0.1:5000/app:1"),
        ("http://127.0.0.1:5000", "other.example/app:1", "other.example", "other.example/app:1"),
        ("docker.io", "alpine", "registry-1.docker.io", "registry-1.docker.io/library/alpine"),
        ("r.example", "docker.io/alpine:3", "registry-1.docker.io", "registry-1.docker.io/library/alpine:3"),
        (
            "https://r.example",
            "app:1@sha256:abababababababababababababababababababababababababababababababab",
            "https://r.example",
            "r.example/app:1@sha256:abababababababababababababababababababababababababababababababab",
        ),
    ],
)
def test_cli_references_resolve_like_registry_locations(
    registry: str, text: str, client_endpoint: str, shown: str
) -> None:
    """What `creg` commands talk to, and how they show a reference: the CLI resolves it to the image code's
    own `RegistryLocation` (one name value, no second type)."""
    from containerregistry.cli._app import AppContext
    from containerregistry.images import RegistryLocation

    ref = AppContext(registry=registry).reference(text)
    assert type(ref) is RegistryLocation
    assert (ref.client_endpoint, str(ref)) == (client_endpoint, shown)
