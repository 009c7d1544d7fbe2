"""Fixtures of the Azure SDK compatibility suite: each scenario runs with the real azure-containerregistry
1.2.0 and with ours, sync and aio, through the same test code (only the imports differ).

`sdk` is a `Calls` adapter over a client of the implementation (`impl`: "azure" or "ours") and flavour
("sync" or "aio") under test, connected over TLS to an emulator that checks the Entra ID exchange
(`entra_registry`), or anonymously to one with `anonymous_pull=True` (`anon_registry`). What ends up in
the registry is observed with our own content client (tests/interop/helpers.py), the same for both.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from containerregistry.emulator import run_emulator

from .helpers import USERS

AUDIENCE = "https://containerregistry.azure.net"
IMPLS = ("azure", "ours")
FLAVOURS = ("sync", "aio")


@dataclass
class Impl:
    """One implementation: its sync package and its aio package (the only thing a migration changes)."""

    name: str
    sync: ModuleType
    aio: ModuleType


def load(name: str) -> Impl:
    package = "azure.containerregistry" if name == "azure" else "containerregistry"
    return Impl(name, importlib.import_module(package), importlib.import_module(f"{package}.aio"))


class EntraCredential:
    """Stands in for azure-identity: tokens minted by the emulator (which trusts their signature)."""

    def __init__(self, registry: Any, audience: str | None = None) -> None:
        self._registry = registry
        self._audience = audience
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        audience = self._audience or scopes[0].removesuffix("/.default")
        token = self._registry.mint_entra_token(audience=audience, subject="compat-test")
        return AccessToken(token, int(time.time()) + 3600)


class AsyncEntraCredential(EntraCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return EntraCredential.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:
        pass


class Calls:
    """Runs a step on the sync or the aio client, so both flavours share one scenario body."""

    def __init__(self, impl: Impl, flavour: str, client: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.impl = impl
        self.flavour = flavour
        self.client = client
        self.loop = loop

    @property
    def models(self) -> ModuleType:
        """The package the models come from (`azure.containerregistry` or `containerregistry`)."""
        return self.impl.sync

    def run(self, value: Any) -> Any:
        if self.loop is not None and asyncio.iscoroutine(value):
            return self.loop.run_until_complete(value)
        return value

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.run(getattr(self.client, name)(*args, **kwargs))

    def items(self, name: str, *args: Any, **kwargs: Any) -> list[Any]:
        return self.collect(getattr(self.client, name)(*args, **kwargs))

    def collect(self, iterable: Any) -> list[Any]:
        if self.loop is None:
            return list(iterable)

        async def gather() -> list[Any]:
            return [item async for item in iterable]

        return self.loop.run_until_complete(gather())

    def pages(self, paged: Any, continuation_token: str | None = None) -> tuple[list[list[Any]], list[Any]]:
        """Every page of `paged.by_page(token)` as a list, and the continuation token after each page."""
        pages, tokens = [], []
        iterator = paged.by_page(continuation_token=continuation_token)
        if self.loop is None:
            for page in iterator:
                pages.append(list(page))
                tokens.append(iterator.continuation_token)
                assert len(pages) < 50
            return pages, tokens

        async def gather() -> None:
            async for page in iterator:
                pages.append([item async for item in page])
                tokens.append(iterator.continuation_token)
                assert len(pages) < 50

        self.loop.run_until_complete(gather())
        return pages, tokens

    def first_page(self, paged: Any) -> tuple[list[Any], Any]:
        """The first page of `paged.by_page()` and the continuation token after it."""
        iterator = paged.by_page()
        if self.loop is None:
            return list(next(iterator)), iterator.continuation_token

        async def first() -> list[Any]:
            page = await iterator.__anext__()
            return [item async for item in page]

        return self.loop.run_until_complete(first()), iterator.continuation_token

    def download(self, repository: str, digest: str) -> bytes:
        if self.loop is None:
            with self.client.download_blob(repository, digest) as stream:
                return b"".join(stream)

        async def gather() -> bytes:
            stream = await self.client.download_blob(repository, digest)
            async with stream:
                return b"".join([chunk async for chunk in stream])

        return self.loop.run_until_complete(gather())


@pytest.fixture(scope="module")
def entra_registry() -> Iterator[Any]:
    """TLS, token auth, and a per-run Entra ID secret (run_emulator's users= implies it)."""
    with run_emulator(users=USERS, tls=True) as registry:
        yield registry


@pytest.fixture(scope="module")
def anon_registry() -> Iterator[Any]:
    with run_emulator(users=USERS, anonymous_pull=True, tls=True) as registry:
        yield registry


@pytest.fixture(params=IMPLS)
def impl(request: pytest.FixtureRequest) -> Impl:
    return load(request.param)


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def tls_kwargs(registry: Any) -> dict[str, Any]:
    """The SDK's own keywords: the emulator's CA, the audience (the same for both implementations)."""
    return {"audience": AUDIENCE, "connection_verify": str(registry.ca_cert)}


def open_client(impl: Impl, flavour: str, registry: Any, credential: Any, **kwargs: Any) -> Calls:
    options = {**tls_kwargs(registry), **kwargs}
    if flavour == "sync":
        return Calls(
            impl, flavour, impl.sync.ContainerRegistryClient(registry.endpoint, credential, **options), None
        )
    loop = asyncio.new_event_loop()
    client = impl.aio.ContainerRegistryClient(registry.endpoint, credential, **options)
    return Calls(impl, flavour, client, loop)


def close_client(calls: Calls) -> None:
    if calls.loop is None:
        calls.client.close()
        return
    try:
        calls.loop.run_until_complete(calls.client.close())
    finally:
        calls.loop.close()


@pytest.fixture
def sdk(impl: Impl, flavour: str, entra_registry: Any) -> Iterator[Calls]:
    """A client of `impl`/`flavour` with an Entra ID credential, over TLS."""
    credential = (
        EntraCredential(entra_registry) if flavour == "sync" else AsyncEntraCredential(entra_registry)
    )
    calls = open_client(impl, flavour, entra_registry, credential)
    try:
        yield calls
    finally:
        close_client(calls)


@pytest.fixture
def anon_sdk(impl: Impl, flavour: str, anon_registry: Any) -> Iterator[Calls]:
    """A client of `impl`/`flavour` without a credential (anonymous pull)."""
    calls = open_client(impl, flavour, anon_registry, None)
    try:
        yield calls
    finally:
        close_client(calls)


@pytest.fixture
def repo(request: pytest.FixtureRequest, impl: Impl, flavour: str) -> str:
    """A repository name of its own for each scenario, implementation and flavour."""
    scenario = request.node.originalname.removeprefix("test_").replace("_", "-")
    return f"compat/{scenario}/{impl.name}-{flavour}"
