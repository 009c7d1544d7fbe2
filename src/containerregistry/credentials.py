"""Credentials for registry clients (re-exported from `containerregistry.auth`), and their types.

``None`` means anonymous; an Entra ID credential is any object with ``get_token(*scopes)``
(azure-identity's, sync or async), exchanged for an ACR refresh token by the client.

For annotations: `Credential` is what a sync client accepts (besides None), `AsyncCredential` what an
async client accepts; `TokenCredential` / `AsyncTokenCredential` are the Entra ID shapes (protocols, so
azure-identity's credentials fit without importing anything of ours), returning an `AccessTokenLike`.
"""

from __future__ import annotations

from .auth import (
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

__all__ = [
    "AccessTokenLike",
    "AsyncCredential",
    "AsyncTokenCredential",
    "BasicCredential",
    "Credential",
    "DockerConfigCredential",
    "RefreshTokenCredential",
    "RegistryTokenCredential",
    "TokenCredential",
]
