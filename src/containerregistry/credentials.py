"""Credentials for registry clients (re-exported from `containerregistry.auth`).

``None`` means anonymous; an Entra ID credential is any object with ``get_token(*scopes)``
(azure-identity's, sync or async), exchanged for an ACR refresh token by the client.
"""

from __future__ import annotations

from .auth import BasicCredential, DockerConfigCredential, RefreshTokenCredential, RegistryTokenCredential

__all__ = ["BasicCredential", "DockerConfigCredential", "RefreshTokenCredential", "RegistryTokenCredential"]
