"""What a client accepts as a credential, as types: the Entra ID token protocols and the two unions.

An Entra ID credential is anything with azure-identity's shape, `get_token(*scopes)` returning an
`AccessToken` (anything with a `.token` string) or the token itself. Sync clients take the sync shape
(`TokenCredential`); async clients take both, awaiting `AsyncTokenCredential.get_token`. azure-identity's
credentials (`azure.identity.DefaultAzureCredential`, `azure.identity.aio.DefaultAzureCredential`, ...)
and azure-core's `TokenCredential` / `AsyncTokenCredential` protocols satisfy these structurally;
nothing of azure is imported. The keyword arguments azure-core declares (`claims`, `tenant_id`,
`enable_cae`) are never passed, so a credential need not accept them.

`Credential` is what a sync client (and `RegistryAuth` driven by `httpx.Client`) accepts, besides None
for anonymous access; `AsyncCredential` is what an async client accepts. `tests/auth/typing_credentials.py`
checks with mypy that azure-identity's credentials and ours fit, and that other objects do not.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

from ._credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)

__all__ = ["AccessTokenLike", "AsyncCredential", "AsyncTokenCredential", "Credential", "TokenCredential"]


class AccessTokenLike(Protocol):
    """What `get_token` returns: azure-core's `AccessToken` (a named tuple) or anything with `.token`."""

    @property
    def token(self) -> str: ...


class TokenCredential(Protocol):
    """A sync Entra ID credential: `get_token(*scopes)`, as azure-identity's credentials."""

    def get_token(self, *scopes: str) -> AccessTokenLike | str: ...


class AsyncTokenCredential(Protocol):
    """An async Entra ID credential: `async def get_token(*scopes)`, as `azure.identity.aio`'s."""

    async def get_token(self, *scopes: str) -> AccessTokenLike | str: ...


#: A sync client's credential (None, for anonymous access, is accepted beside it).
Credential: TypeAlias = (
    BasicCredential
    | RefreshTokenCredential
    | RegistryTokenCredential
    | DockerConfigCredential
    | TokenCredential
)

#: An async client's credential: a sync one, or an async Entra ID credential.
AsyncCredential: TypeAlias = Credential | AsyncTokenCredential
