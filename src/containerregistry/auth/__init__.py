"""Registry authentication: credentials and the challenge flow as an ``httpx.Auth``."""

from __future__ import annotations

from ._credential_types import (
    AccessTokenLike,
    AsyncCredential,
    AsyncTokenCredential,
    Credential,
    TokenCredential,
)
from ._credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)
from ._flow import DEFAULT_AUDIENCE, SCOPE_EXTENSION, AuthStats, RegistryAuth

__all__ = [
    "DEFAULT_AUDIENCE",
    "SCOPE_EXTENSION",
    "AccessTokenLike",
    "AsyncCredential",
    "AsyncTokenCredential",
    "AuthStats",
    "BasicCredential",
    "Credential",
    "DockerConfigCredential",
    "RefreshTokenCredential",
    "RegistryAuth",
    "RegistryTokenCredential",
    "TokenCredential",
]
