"""Settings of the emulator's auth: `AuthConfig`, the Entra ID audiences of each cloud, `AuthStats` and the
persisted signing key (`load_or_create_signing_key`). Light: no PyJWT, no aiohttp.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._files import write_atomic
from ._auth_grants import ALL_ROLES, User

__all__ = [
    "ACR_AUDIENCE",
    "ARM_AUDIENCES",
    "ARM_AUDIENCE_BY_CLOUD",
    "CLOUDS",
    "DEFAULT_ENTRA_AUDIENCES",
    "AuthConfig",
    "AuthStats",
    "entra_audiences_for",
    "load_or_create_signing_key",
]

ACR_AUDIENCE = "https://containerregistry.azure.net"
# Azure Resource Manager audience of each cloud (`ContainerRegistryAudience` in protocol/acr.py).
ARM_AUDIENCE_BY_CLOUD: Mapping[str, str] = {
    "public": "https://management.azure.com",
    "china": "https://management.chinacloudapi.cn",
    "usgov": "https://management.usgovcloudapi.net",
}
CLOUDS: tuple[str, ...] = tuple(ARM_AUDIENCE_BY_CLOUD)
ARM_AUDIENCES: tuple[str, ...] = tuple(ARM_AUDIENCE_BY_CLOUD.values())


def entra_audiences_for(cloud: str) -> tuple[str, ...]:
    """The `aud` values a registry in `cloud` accepts at `/oauth2/exchange`: ACR's own audience and
    that cloud's Azure Resource Manager audience (a public-cloud registry refuses China's, and so on).

    Raises:
        ValueError: an unknown cloud.
    """
    if cloud not in ARM_AUDIENCE_BY_CLOUD:
        raise ValueError(f"unknown cloud {cloud[:40]!r}: one of {', '.join(CLOUDS)}")
    return (ACR_AUDIENCE, ARM_AUDIENCE_BY_CLOUD[cloud])


DEFAULT_ENTRA_AUDIENCES: tuple[str, ...] = entra_audiences_for("public")


@dataclass
class AuthConfig:
    """Settings of `EmulatorAuth`.

    Attributes:
        users: users by name.
        anonymous_pull: let requests without credentials pull, read metadata and list the catalog.
        token_ttl: lifetime of access tokens, seconds.
        refresh_token_ttl: lifetime of refresh tokens, seconds (ACR: about 3 hours).
        entra_secret: the HS256 secret trusted Entra ID tokens are signed with (see `mint_entra_token`).
        trust_any_entra_token: accept any well-formed, unexpired Entra ID JWT with a known audience,
            without checking its signature (development only).
        cloud: the Azure cloud the registry is in (`public`, `china`, `usgov`): which Azure Resource
            Manager audience its `/oauth2/exchange` accepts (see `entra_audiences_for`).
        entra_audiences: accepted `aud` values of Entra ID tokens (a trailing '/' is ignored); None = those
            of `cloud`.
        entra_roles: roles an identity exchanged from Entra ID gets.
        signing_key: key the emulator signs its tokens with; random per process when None.
        login_server: `host:port` of the registry (the tokens' audience and the challenges' service);
            when empty, the Host of each request is used.
    """

    users: dict[str, User] = field(default_factory=dict)
    anonymous_pull: bool = False
    token_ttl: int = 300
    refresh_token_ttl: int = 3 * 3600
    entra_secret: str | None = field(default=None, repr=False)
    trust_any_entra_token: bool = False
    cloud: str = "public"
    entra_audiences: tuple[str, ...] | None = None
    entra_roles: frozenset[str] = ALL_ROLES
    signing_key: bytes | None = field(default=None, repr=False)
    login_server: str = ""

    def __post_init__(self) -> None:
        entra_audiences_for(self.cloud)  # refuse an unknown cloud early

    def accepted_entra_audiences(self) -> tuple[str, ...]:
        """The `aud` values `/oauth2/exchange` accepts (`entra_audiences`, else those of `cloud`)."""
        if self.entra_audiences is not None:
            return tuple(self.entra_audiences)
        return entra_audiences_for(self.cloud)


@dataclass
class AuthStats:
    """Counters tests use to see how many token round trips a client made.

    Attributes:
        token_requests: requests to `/oauth2/token` (GET and POST, including refused ones).
        exchanges: requests to `/oauth2/exchange` (including refused ones).
        challenges: 401 answers given by `authorize`.
        by_grant_type: token requests by kind: `basic` (GET with Basic), `anonymous`, `password`,
            `refresh_token`, `access_token` (exchange).
    """

    token_requests: int = 0
    exchanges: int = 0
    challenges: int = 0
    by_grant_type: collections.Counter[str] = field(default_factory=collections.Counter)

    def reset(self) -> None:
        """Set every counter back to zero."""
        self.token_requests = self.exchanges = self.challenges = 0
        self.by_grant_type.clear()


def load_or_create_signing_key(path: Path) -> bytes:
    """Read the token signing key at `path`, creating it (mode 0600) if missing.

    A persisted key keeps issued tokens valid across emulator restarts.
    """
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    write_atomic(path, key, mode=0o600)
    return key
