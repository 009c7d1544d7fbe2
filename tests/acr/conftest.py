"""Fixtures for the ACR client tests: the emulator with TLS and token auth, test Entra ID credentials,
clients of both flavours (sync, and async driven through `client_kind.adapt`), request counting and image seeding."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry import aio
from containerregistry._sync import ContainerRegistryClient, ContainerRegistryContentClient
from containerregistry.emulator import RunningEmulator, run_emulator
from containerregistry.emulator.auth import AuthConfig, EmulatorAuth, User, mint_entra_token
from containerregistry.emulator.tls import generate_self_signed, server_ssl_context
from containerregistry.transport import AiohttpTransport, Urllib3Transport
from tests.support.adapter import ClientKind

#: The secret the emulator trusts Entra ID tokens signed with (HS256 wants 32+ bytes).
ENTRA_SECRET = "acr-client-tests-entra-secret-0123456789abcdef"
ADMIN = User("admin", "admin-password-0123", frozenset({"admin"}))
READER = User("reader", "reader-password-0123", frozenset({"pull", "metadata_read"}))

AccessToken = namedtuple("AccessToken", "token expires_on")


class EntraCredential:
    """A stand-in for azure-identity's credentials: `get_token(*scopes)` returns tokens the emulator trusts.

    The token's audience is the one of the requested scope (`<audience>/.default`) unless `audience`
    forces another (to test a wrong audience). `scopes` records every call.
    """

    def __init__(self, secret: str = ENTRA_SECRET, *, audience: str | None = None) -> None:
        self._secret = secret
        self._audience = audience
        self.scopes: list[tuple[str, ...]] = []

    def _token(self, scopes: tuple[str, ...]) -> AccessToken:
        self.scopes.append(scopes)
        audience = self._audience or scopes[0].removesuffix("/.default")
        return AccessToken(mint_entra_token(self._secret, audience=audience), int(time.time()) + 3600)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._token(scopes)


class AsyncEntraCredential(EntraCredential):
    """The async variant (like `azure.identity.aio` credentials)."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        await asyncio.sleep(0)
        return self._token(scopes)


@dataclass
class Recorded:
    method: str
    url: httpx.URL
    body: bytes
    authorized: bool
    status: int = 0


@dataclass
class RequestLog:
    """Every request a counting transport sent, in order."""

    requests: list[Recorded] = field(default_factory=list)

    def count(
        self, *, path_contains: str = "", method: str | None = None, challenged: bool | None = None
    ) -> int:
        """Requests whose path contains `path_contains`; `challenged=False` skips those answered 401."""
        return sum(
            1
            for r in self.requests
            if path_contains in r.url.path
            and (method is None or r.method == method)
            and (challenged is None or (r.status == 401) == challenged)
        )

    def clear(self) -> None:
        self.requests.clear()


class CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, log: RequestLog) -> None:
        self._inner, self._log = inner, log

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read() if isinstance(request.stream, httpx.ByteStream) else b""
        record = Recorded(request.method, request.url, body, "Authorization" in request.headers)
        self._log.requests.append(record)
        response = self._inner.handle_request(request)
        record.status = response.status_code
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncCountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, log: RequestLog) -> None:
        self._inner, self._log = inner, log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read() if isinstance(request.stream, httpx.ByteStream) else b""
        record = Recorded(request.method, request.url, body, "Authorization" in request.headers)
        self._log.requests.append(record)
        response = await self._inner.handle_async_request(request)
        record.status = response.status_code
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return generate_self_signed(["127.0.0.1"], tmp_path_factory.mktemp("acr-tls"))


def _start(tls_files: tuple[Path, Path, Path], *, anonymous_pull: bool, cloud: str = "public") -> Any:
    cert, key, ca = tls_files
    auth = EmulatorAuth(
        AuthConfig(
            users={ADMIN.username: ADMIN, READER.username: READER},
            entra_secret=ENTRA_SECRET,
            anonymous_pull=anonymous_pull,
            cloud=cloud,
        )
    )
    return run_emulator(auth=auth, ssl_context=server_ssl_context(cert, key), ca_cert=ca)


@pytest.fixture(scope="session")
def acr(tls_files: tuple[Path, Path, Path]) -> Iterator[RunningEmulator]:
    """The emulator over TLS with token auth (every request needs a token), trusting `EntraCredential`."""
    with _start(tls_files, anonymous_pull=False) as registry:
        yield registry


@pytest.fixture(scope="session")
def acr_anonymous(tls_files: tuple[Path, Path, Path]) -> Iterator[RunningEmulator]:
    """The same, but allowing anonymous pull (reads without credentials)."""
    with _start(tls_files, anonymous_pull=True) as registry:
        yield registry


@pytest.fixture(scope="session")
def acr_china(tls_files: tuple[Path, Path, Path]) -> Iterator[RunningEmulator]:
    """The same as `acr`, as a registry in Azure China (it accepts that cloud's Entra ID audience)."""
    with _start(tls_files, anonymous_pull=False, cloud="china") as registry:
        yield registry


ENTRA = object()  # make_client's default credential: a fresh test Entra ID credential of the flavour


@pytest.fixture
def make_client(flavour: str, client_kind: ClientKind, acr: RunningEmulator) -> Iterator[Callable[..., Any]]:
    """`make_client(credential=ENTRA, *, registry=acr, log=None, **kwargs)`: a client of the flavour.

    With `log`, requests go through a counting transport over the default fast transport.
    """
    made: list[Any] = []

    def make(
        credential: Any = ENTRA,
        *,
        registry: RunningEmulator = acr,
        log: RequestLog | None = None,
        **kwargs: Any,
    ) -> Any:
        if credential is ENTRA:
            credential = EntraCredential() if flavour == "sync" else AsyncEntraCredential()
        kwargs.setdefault("verify", str(registry.ca_cert))
        if flavour == "sync":
            if log is not None:
                kwargs["transport"] = CountingTransport(Urllib3Transport(verify=kwargs["verify"]), log)
            client: Any = ContainerRegistryClient(registry.endpoint, credential, **kwargs)
        else:
            if log is not None:
                kwargs["transport"] = AsyncCountingTransport(AiohttpTransport(verify=kwargs["verify"]), log)
            client = client_kind.adapt(aio.ContainerRegistryClient(registry.endpoint, credential, **kwargs))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name unique to the test (the emulator is shared by the session)."""
    base = request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")[:40].strip("-")
    return f"acr/{base}-{uuid.uuid4().hex[:8]}"


class Seeder:
    """Pushes small, distinct images with the sync content client (Entra ID auth)."""

    def __init__(self, registry: RunningEmulator) -> None:
        self._registry = registry
        self._clients: dict[str, ContainerRegistryContentClient] = {}

    def client(self, repository: str) -> ContainerRegistryContentClient:
        if repository not in self._clients:
            self._clients[repository] = ContainerRegistryContentClient(
                self._registry.endpoint, repository, EntraCredential(), verify=str(self._registry.ca_cert)
            )
        return self._clients[repository]

    def push(self, repository: str, *tags: str, architecture: str = "amd64", os: str = "linux") -> str:
        """Push one new image (a unique config) under `tags` (or by digest only); return its digest."""
        client = self.client(repository)
        config = json.dumps(
            {"architecture": architecture, "os": os, "nonce": uuid.uuid4().hex}, separators=(",", ":")
        ).encode()
        uploaded = client.upload_blob(config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": uploaded.digest,
                "size": uploaded.size,
            },
            "layers": [],
        }
        digest = client.set_manifest(manifest, tag=tags[0] if tags else None).digest
        for tag in tags[1:]:
            client.set_manifest(manifest, tag=tag)
        return digest

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


@pytest.fixture
def seed(acr: RunningEmulator) -> Iterator[Seeder]:
    seeder = Seeder(acr)
    yield seeder
    seeder.close()
