"""Registry authentication: credentials and the challenge flow as an ``httpx.Auth``."""

from __future__ import annotations

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
    "AuthStats",
    "BasicCredential",
    "DockerConfigCredential",
    "RefreshTokenCredential",
    "RegistryAuth",
    "RegistryTokenCredential",
]
