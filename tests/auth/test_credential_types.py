"""The credential types: what a client's `credential=` accepts, checked by mypy (`./dev checks`).

The functions below are type-checked, and the `# type: ignore[arg-type]` lines are the cases mypy must
refuse: mypy runs with `warn_unused_ignores`, so if `credential` were `Any` again (or a union that took
anything with a `get_token`), those ignores would go unused and `./dev checks` would fail. The azure-identity
checks read azure's own annotations (it ships `py.typed`) and never construct a credential. The tests run
the same calls with the library's credentials and with azure-identity-shaped stand-ins.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import containerregistry.auth as auth_pkg
import containerregistry.credentials as credentials
from containerregistry import ContainerRegistryClient, ContainerRegistryContentClient, aio
from containerregistry.auth import RegistryAuth
from containerregistry.auth._entra import is_entra
from containerregistry.credentials import (
    AccessTokenLike,
    AsyncCredential,
    AsyncTokenCredential,
    BasicCredential,
    Credential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
    TokenCredential,
)
from tests.auth.acr_fake import FakeAsyncEntraCredential, FakeEntraCredential

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.credentials import TokenCredential as AzureTokenCredential
    from azure.core.credentials_async import AsyncTokenCredential as AzureAsyncTokenCredential
    from azure.identity import (
        AzureCliCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )
    from azure.identity.aio import DefaultAzureCredential as AioDefaultAzureCredential

ENDPOINT = "https://registry.example"


def _ours() -> list[Credential]:
    return [
        BasicCredential("user", "password"),
        RefreshTokenCredential("refresh"),
        RegistryTokenCredential("token"),
        DockerConfigCredential("/nonexistent/config.json"),
    ]


# -- checked by mypy ---------------------------------------------------------------------------------


def typed_azure_identity(
    default: DefaultAzureCredential,
    secret: ClientSecretCredential,
    managed: ManagedIdentityCredential,
    cli: AzureCliCredential,
    aio_default: AioDefaultAzureCredential,
    core_sync: AzureTokenCredential,
    core_async: AzureAsyncTokenCredential,
) -> None:
    """azure-identity's credentials and azure-core's protocols fit; an async one only an async client."""
    sync_ones: list[Credential] = [default, secret, managed, cli, core_sync]
    async_ones: list[AsyncCredential] = [default, aio_default, core_sync, core_async]
    token: AccessTokenLike = default.get_token("https://containerregistry.azure.net/.default")
    assert sync_ones and async_ones and token
    ContainerRegistryClient(ENDPOINT, default)
    ContainerRegistryContentClient(ENDPOINT, "app", credential=secret)
    aio.ContainerRegistryClient(ENDPOINT, aio_default)
    aio.ContainerRegistryClient(ENDPOINT, managed)  # a sync credential works in an async client
    aio.ContainerRegistryContentClient(ENDPOINT, "app", credential=core_async)
    RegistryAuth(aio_default)  # the auth flow serves both kinds of client
    # An async credential in a sync client fails at its first token (TypeError): mypy says so first.
    ContainerRegistryClient(ENDPOINT, aio_default)  # type: ignore[arg-type]
    ContainerRegistryContentClient(ENDPOINT, "app", credential=core_async)  # type: ignore[arg-type]


class _NotACredential:
    def get_token(self) -> int:
        return 0


def typed_refusals(access_token: AccessToken) -> None:
    """What is not a credential is refused before anything runs."""
    ContainerRegistryClient(ENDPOINT, "user:password")  # type: ignore[arg-type]
    ContainerRegistryClient(ENDPOINT, access_token)  # type: ignore[arg-type]
    aio.ContainerRegistryClient(ENDPOINT, _NotACredential())  # type: ignore[arg-type]
    ContainerRegistryContentClient(ENDPOINT, "app", credential=("user", "password"))  # type: ignore[arg-type]


def typed_protocols(sync: FakeEntraCredential, asynchronous: FakeAsyncEntraCredential) -> None:
    """A plain class with azure-identity's `get_token` shape is a credential; nothing to subclass."""
    shape: TokenCredential = sync
    async_shape: AsyncTokenCredential = asynchronous
    wrong: TokenCredential = asynchronous  # type: ignore[assignment]
    assert shape and async_shape and wrong


# -- run ----------------------------------------------------------------------------------------------


def test_the_library_credentials_make_clients_of_both_kinds() -> None:
    for credential in [*_ours(), FakeEntraCredential(), None]:
        with (
            ContainerRegistryClient(ENDPOINT, credential),
            ContainerRegistryContentClient(ENDPOINT, "app", credential=credential),
        ):
            pass

    async def make_async() -> None:
        async_ones: list[AsyncCredential | None] = [
            *_ours(),
            FakeEntraCredential(),
            FakeAsyncEntraCredential(),
        ]
        for credential in [*async_ones, None]:
            async with (
                aio.ContainerRegistryClient(ENDPOINT, credential),
                aio.ContainerRegistryContentClient(ENDPOINT, "app", credential=credential),
            ):
                pass

    asyncio.run(make_async())


def test_entra_credentials_are_told_apart_from_ours() -> None:
    assert is_entra(FakeEntraCredential()) and is_entra(FakeAsyncEntraCredential())
    assert not any(is_entra(credential) for credential in _ours())
    assert not is_entra(None)


def test_the_types_are_exported_where_the_credentials_are() -> None:
    names = {"AccessTokenLike", "AsyncCredential", "AsyncTokenCredential", "Credential", "TokenCredential"}
    assert names <= set(credentials.__all__) and names <= set(auth_pkg.__all__)
    for name in names:
        assert getattr(credentials, name) is getattr(auth_pkg, name)
