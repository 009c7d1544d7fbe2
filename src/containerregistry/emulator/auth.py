"""The emulator's auth layer, public names: Bearer challenges, the token service and Entra ID exchange.

Two implementations share one surface (`authorize(request, resource_type, resource_name, actions)` and
`add_routes(app)`), so the emulator's handlers never care which mode is on:

* `OpenAuth` lets every request through. It still serves `/oauth2/token` and `/oauth2/exchange`, handing
  out well-formed JWTs (granting whatever was asked), because some clients (ACR SDKs, credential helpers)
  fetch tokens before they have seen any challenge and would fail against a registry without a token service.
* `EmulatorAuth` enforces ACR-style token auth:

  - A request needs `Authorization: Bearer <access token>` whose `access` claim covers the resource and
    every action; otherwise it gets `401` with
    `WWW-Authenticate: Bearer realm="<scheme>://<host>/oauth2/token",service="<login server>",scope="..."`
    naming exactly the scope it needs (a token that is valid but too narrow gets the same answer, so the
    client asks for a wider token, as ACR does).
  - An admin user may instead send `Basic` credentials directly.
  - With `anonymous_pull`, requests that only need `pull`/`metadata_read` on a repository, or the catalog,
    pass without credentials (ACR's anonymous token has `registry:catalog:*` too). `GET /v2/` (resource_type `""`) always needs a token or admin Basic, even with anonymous
    pull, because clients such as go-containerregistry treat a `200` there as "this registry has no auth"
    and would then never authenticate a push.
  - The token service grants `requested scopes ∩ what the identity's roles allow`. An identity whose roles
    can never grant an action gets a token without it, so the request is challenged again; clients give up
    after one refresh, which surfaces as a 401, not a 403 (the same as ACR).

Tokens are HS256 JWTs signed with `AuthConfig.signing_key` (random per process unless given, see
`load_or_create_signing_key` to keep tokens valid across restarts). Access tokens carry
`grant_type="access_token"` and refresh tokens `grant_type="refresh_token"`; neither is accepted in place
of the other.

This module is the public facade; the parts live in:

* `_auth_scopes`: the scope grammar (`Scope`, `parse_scopes`);
* `_auth_grants`: users and roles -> granted actions (`User`, identities, `grant`);
* `_auth_config`: `AuthConfig`, the clouds' Entra ID audiences, `AuthStats`, the persisted signing key;
* `_auth_http`: the token service's HTTP helpers (bounded forms, header parsing, error bodies);
* `_auth_tokens`: minting and checking tokens, the `/oauth2/*` routes, the Entra ID exchange;
* `_auth_open`: `OpenAuth`; `_auth_enforce`: `EmulatorAuth`.

Importing it loads no PyJWT or cryptography: PyJWT loads when `EmulatorAuth` is built, or at the first
token minted or read.
"""

from __future__ import annotations

from ._auth_config import (
    ACR_AUDIENCE,
    ARM_AUDIENCE_BY_CLOUD,
    ARM_AUDIENCES,
    CLOUDS,
    DEFAULT_ENTRA_AUDIENCES,
    AuthConfig,
    AuthStats,
    entra_audiences_for,
    load_or_create_signing_key,
)
from ._auth_enforce import EmulatorAuth
from ._auth_grants import ALL_ROLES, User
from ._auth_open import OpenAuth
from ._auth_scopes import REPOSITORY_ACTIONS, Scope, ScopeError, parse_scopes
from ._auth_tokens import REFRESH_TOKEN_USERNAME, mint_entra_token

__all__ = [
    "ACR_AUDIENCE",
    "ALL_ROLES",
    "ARM_AUDIENCES",
    "ARM_AUDIENCE_BY_CLOUD",
    "CLOUDS",
    "DEFAULT_ENTRA_AUDIENCES",
    "REFRESH_TOKEN_USERNAME",
    "REPOSITORY_ACTIONS",
    "AuthConfig",
    "AuthStats",
    "EmulatorAuth",
    "OpenAuth",
    "Scope",
    "ScopeError",
    "User",
    "entra_audiences_for",
    "load_or_create_signing_key",
    "mint_entra_token",
    "parse_scopes",
]
