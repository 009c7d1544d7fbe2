"""The emulator's auth layer: Bearer challenges, the token service and Entra ID exchange.

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
"""

from __future__ import annotations

import base64
import binascii
import collections
import fnmatch
import hmac
import json
import math
import os
import secrets
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web

from containerregistry.exceptions import InvalidReferenceError
from containerregistry.protocol.reference import validate_repository

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

REPOSITORY_ACTIONS: tuple[str, ...] = ("pull", "push", "delete", "metadata_read", "metadata_write")
ALL_ROLES: frozenset[str] = frozenset({*REPOSITORY_ACTIONS, "admin"})

# ACR's convention: `docker login -u 00000000-... -p <refresh token>` logs in with a refresh token.
REFRESH_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"

_ISSUER = "containerregistry-emulator"
_ALGORITHM = "HS256"
_ACCESS = "access_token"
_REFRESH = "refresh_token"
# Forms and query strings of the token service are tiny; anything bigger is a mistake or an attack.
_MAX_FORM_BYTES = 64 * 1024
_MAX_FIELDS = 200
_MAX_SCOPES = 50
_MAX_TOKEN_CHARS = 16 * 1024

# What a request needs: (resource type, resource name, actions), as `authorize` takes them.
Need = tuple[str, str, tuple[str, ...]]


# --------------------------------------------------------------------------------------------------
# Configuration


@dataclass
class User:
    """An emulator user.

    Attributes:
        username: the login name.
        password: the password (never shown in `repr`).
        roles: a subset of `ALL_ROLES`; `admin` grants everything, other roles grant exactly the action
            of the same name.
        repositories: when not None, the roles apply only to repositories matching one of these names or
            `fnmatch` patterns (`app/*`; `*` also matches `/`). Restricted users cannot list the catalog.
        password_hash: instead of `password` (then ""), a bcrypt or `$pbkdf2-sha256$` hash of it (see
            `containerregistry.emulator.users`); never shown in `repr`.
    """

    username: str
    password: str = field(repr=False)
    roles: frozenset[str] = frozenset()
    repositories: frozenset[str] | None = None
    password_hash: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.roles = frozenset(self.roles)
        unknown = self.roles - ALL_ROLES
        if unknown:
            raise ValueError(
                f"user {self.username!r}: unknown role(s) {sorted(unknown)}; known roles: {sorted(ALL_ROLES)}"
            )
        if self.repositories is not None:
            self.repositories = frozenset(self.repositories)


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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return key


# --------------------------------------------------------------------------------------------------
# Scopes


class ScopeError(ValueError):
    """A malformed or unsupported scope string."""


@dataclass(frozen=True)
class Scope:
    """One `type:name:actions` scope.

    Attributes:
        type: `repository` or `registry`.
        name: repository name, or `catalog`.
        actions: requested actions, in the order given, without duplicates.
    """

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse and validate one scope string.

        The name may itself contain ':' (`host:port/app`), so the type ends at the first ':' and the
        actions start after the last one.

        Raises:
            ScopeError: the string is malformed, or names an unknown type, action or invalid repository.
        """
        shown = text if len(text) <= 100 else text[:97] + "..."
        rtype, sep, rest = text.partition(":")
        name, sep2, action_text = rest.rpartition(":")
        if not sep or not sep2 or not rtype or not name or not action_text:
            raise ScopeError(f"malformed scope {shown!r}: expected 'type:name:action[,action]'")
        actions = tuple(dict.fromkeys(a for a in action_text.split(",")))
        if "" in actions:
            raise ScopeError(f"malformed scope {shown!r}: empty action")
        if rtype == "repository":
            try:
                validate_repository(name)
            except InvalidReferenceError as exc:
                raise ScopeError(f"invalid scope {shown!r}: {exc}") from None
            if "*" in actions:
                actions = REPOSITORY_ACTIONS
            unknown = [a for a in actions if a not in REPOSITORY_ACTIONS]
            if unknown:
                raise ScopeError(
                    f"invalid scope {shown!r}: unknown action(s) {unknown}; known: {list(REPOSITORY_ACTIONS)}"
                )
        elif rtype == "registry":
            if name != "catalog" or actions != ("*",):
                raise ScopeError(f"invalid scope {shown!r}: the only registry scope is 'registry:catalog:*'")
        else:
            raise ScopeError(f"invalid scope {shown!r}: unknown resource type {rtype!r}")
        return cls(rtype, name, actions)

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse `scope` parameters: each may hold several space-separated scopes.

    Scopes for the same resource are merged (actions unioned, first-seen order kept).

    Raises:
        ScopeError: any scope is malformed, or there are too many.
    """
    merged: dict[tuple[str, str], list[str]] = {}
    count = 0
    for value in values:
        for text in value.split():
            count += 1
            if count > _MAX_SCOPES:
                raise ScopeError(f"too many scopes (the limit is {_MAX_SCOPES})")
            scope = Scope.parse(text)
            actions = merged.setdefault((scope.type, scope.name), [])
            actions.extend(a for a in scope.actions if a not in actions)
    return [Scope(t, n, tuple(a)) for (t, n), a in merged.items()]


# --------------------------------------------------------------------------------------------------
# Identities and grants


@dataclass(frozen=True)
class _Identity:
    subject: str
    kind: str  # "user", "entra", "anonymous", "open"
    roles: frozenset[str]
    repositories: frozenset[str] | None = None

    def allows_repository(self, name: str) -> bool:
        if self.repositories is None:
            return True
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.repositories)


def _grant(identity: _Identity, scope: Scope, *, anonymous_pull: bool) -> tuple[str, ...]:
    """The actions of `scope` that `identity` may have (ACR-style: exactly the roles' actions)."""
    if identity.kind == "open":
        return scope.actions
    if "admin" in identity.roles:
        if scope.type == "registry":
            return scope.actions if identity.repositories is None else ()
        return scope.actions if identity.allows_repository(scope.name) else ()
    if identity.kind == "anonymous":
        if anonymous_pull and scope.type == "repository":
            return tuple(a for a in scope.actions if a in ("pull", "metadata_read"))
        if anonymous_pull and scope.type == "registry":
            return scope.actions  # ACR's anonymous token lists the catalog too
        return ()
    if scope.type == "registry":
        # Listing the catalog reveals every repository name: only unrestricted readers may.
        if identity.repositories is None and identity.roles & {"pull", "metadata_read"}:
            return scope.actions
        return ()
    if not identity.allows_repository(scope.name):
        return ()
    return tuple(a for a in scope.actions if a in identity.roles)


# --------------------------------------------------------------------------------------------------
# HTTP helpers


def _error_body(code: str, message: str, detail: Any = None) -> str:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]})


def _json_error(
    exc_class: type[web.HTTPException], code: str, message: str, **kwargs: Any
) -> web.HTTPException:
    return exc_class(text=_error_body(code, message), content_type="application/json", **kwargs)


def _bad_request(message: str, code: str = "INVALID_REQUEST") -> web.HTTPException:
    return _json_error(web.HTTPBadRequest, code, message)


def _unauthorized(message: str) -> web.HTTPException:
    return _json_error(web.HTTPUnauthorized, "UNAUTHORIZED", message)


def _quote_safe(value: str) -> str:
    # Host headers come from the client: keep them from breaking out of the quoted challenge parameters.
    return "".join(ch for ch in value if ch.isprintable() and ch not in '"\\')


def _parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


def _bearer_token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = value.strip()
    return token or None


def _json_response(payload: Mapping[str, Any]) -> web.Response:
    return web.json_response(dict(payload), headers={"Cache-Control": "no-store"})


async def _read_form(request: web.Request) -> dict[str, list[str]]:
    """Read an urlencoded POST body, bounded in size, into `{name: [values]}`."""
    if request.content_length is not None and request.content_length > _MAX_FORM_BYTES:
        raise _json_error(
            web.HTTPRequestEntityTooLarge,
            "SIZE_INVALID",
            f"form body too large (limit {_MAX_FORM_BYTES} bytes)",
            max_size=_MAX_FORM_BYTES,
            actual_size=request.content_length,
        )
    ctype = request.content_type
    if ctype not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        raise _bad_request(
            f"unsupported Content-Type {ctype[:100]!r}: send application/x-www-form-urlencoded"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_MAX_FORM_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_FORM_BYTES:
            raise _json_error(
                web.HTTPRequestEntityTooLarge,
                "SIZE_INVALID",
                f"form body too large (limit {_MAX_FORM_BYTES} bytes)",
                max_size=_MAX_FORM_BYTES,
                actual_size=size,
            )
    try:
        text = b"".join(chunks).decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=_MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise _bad_request("malformed form body: expected UTF-8 application/x-www-form-urlencoded") from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


def _query(request: web.Request) -> dict[str, list[str]]:
    if len(request.query_string) > _MAX_FORM_BYTES:
        raise _bad_request(f"query string too long (limit {_MAX_FORM_BYTES} bytes)")
    form: dict[str, list[str]] = {}
    for key, value in request.query.items():
        form.setdefault(key, []).append(value)
    return form


def _first(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _scopes_from(form: Mapping[str, list[str]]) -> list[Scope]:
    try:
        return parse_scopes(form.get("scope", []))
    except ScopeError as exc:
        raise _bad_request(str(exc), "SCOPE_INVALID") from None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _never_500(handler: Handler) -> Handler:
    """Turn anything unexpected from bad input into a 400 with an OCI body, never a traceback."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (ValueError, TypeError, KeyError, UnicodeError) as exc:
            raise _bad_request(f"malformed request ({type(exc).__name__})") from None

    return wrapped


def mint_entra_token(
    secret: str,
    *,
    audience: str = ACR_AUDIENCE,
    subject: str = "test-user",
    ttl: int = 3600,
    tenant: str = "72f988bf-86f1-41af-91ab-2d7cd011db47",
    claims: Mapping[str, Any] | None = None,
) -> str:
    """Mint an Entra ID-like access token the emulator trusts when configured with the same `secret`.

    Args:
        secret: the emulator's `AuthConfig.entra_secret`.
        audience: the `aud` claim.
        subject: the `sub` and `oid` claims (the emulator names the identity after it).
        ttl: seconds until `exp`; negative for an already expired token.
        tenant: the `tid` claim.
        claims: extra claims to add or override.

    Returns:
        The HS256-signed JWT.
    """
    now = int(time.time())
    payload: dict[str, Any] = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "sub": subject,
        "oid": subject,
        "tid": tenant,
    }
    payload.update(claims or {})
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


# --------------------------------------------------------------------------------------------------
# The token service and request checks


class _TokenService:
    """Everything both auth modes share: minting tokens and serving /oauth2/*."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self._key = config.signing_key or secrets.token_bytes(32)
        self.stats = AuthStats()

    # -- tokens --------------------------------------------------------------------------------

    def _service(self, request: web.Request) -> str:
        return self.config.login_server or _quote_safe(request.host)

    def _mint(self, identity: _Identity, service: str, grant_type: str, ttl: int, access: list[Scope]) -> str:
        now = time.time()
        payload: dict[str, Any] = {
            "iss": _ISSUER,
            "sub": identity.subject,
            "aud": service,
            "iat": int(now),
            "nbf": int(now),
            # Round up so the token lives at least `ttl` seconds (PyJWT truncates `exp` to an int).
            "exp": math.ceil(now) + ttl,
            "jti": uuid.uuid4().hex,
            "grant_type": grant_type,
            "idp": identity.kind,
            "access": [{"type": s.type, "name": s.name, "actions": list(s.actions)} for s in access],
        }
        if grant_type == _REFRESH and identity.kind == "entra":
            # Entra identities are not in the user table: carry their grants inside the refresh token.
            payload["roles"] = sorted(identity.roles)
        return jwt.encode(payload, self._key, algorithm=_ALGORITHM)

    def _decode(self, token: str, service: str, grant_type: str) -> dict[str, Any] | None:
        if len(token) > _MAX_TOKEN_CHARS:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=service,
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "nbf", "aud", "iss", "sub", "grant_type"]},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("grant_type") != grant_type:
            return None
        return claims

    def issue_access(self, identity: _Identity, service: str, scopes: list[Scope]) -> tuple[str, list[Scope]]:
        granted: list[Scope] = []
        for scope in scopes:
            actions = _grant(identity, scope, anonymous_pull=self.config.anonymous_pull)
            if actions:
                granted.append(Scope(scope.type, scope.name, actions))
        return self._mint(identity, service, _ACCESS, self.config.token_ttl, granted), granted

    def issue_refresh(self, identity: _Identity, service: str) -> str:
        return self._mint(identity, service, _REFRESH, self.config.refresh_token_ttl, [])

    # -- identities ----------------------------------------------------------------------------

    def _user_identity(self, username: str, password: str, service: str) -> _Identity | None:
        """Check a username/password pair; the ACR refresh-token username accepts a refresh token."""
        if username == REFRESH_TOKEN_USERNAME:
            return self._refresh_identity(password, service)
        user = self.config.users.get(username)
        if user is not None and user.password_hash:
            from ._passwords import check_password

            if not check_password(password, user.password_hash):
                return None
            return _Identity(user.username, "user", user.roles, user.repositories)
        # compare_digest on both branches so a wrong user name costs the same as a wrong password.
        expected = user.password if user is not None else secrets.token_hex(16)
        if not hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")) or user is None:
            return None
        return _Identity(user.username, "user", user.roles, user.repositories)

    def _refresh_identity(self, token: str, service: str) -> _Identity | None:
        claims = self._decode(token, service, _REFRESH)
        if claims is None:
            return None
        kind = claims.get("idp")
        subject = str(claims["sub"])
        if kind == "user":
            user = self.config.users.get(subject)
            if user is None:
                return None
            return _Identity(user.username, "user", user.roles, user.repositories)
        if kind == "entra":
            roles = claims.get("roles")
            if not isinstance(roles, list):
                return None
            return _Identity(subject, "entra", frozenset(str(r) for r in roles) & ALL_ROLES)
        if kind == "open":
            return _Identity(subject, "open", ALL_ROLES)
        return None

    def _anonymous(self) -> _Identity:
        return _Identity("", "anonymous", frozenset())

    # -- routes --------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Add `GET`/`POST /oauth2/token` and `POST /oauth2/exchange` to `app`."""
        app.router.add_get("/oauth2/token", _never_500(self._get_token), allow_head=False)
        app.router.add_post("/oauth2/token", _never_500(self._post_token))
        app.router.add_post("/oauth2/exchange", _never_500(self._post_exchange))

    def _token_reply(self, token: str, *, docker_style: bool, refresh_token: str | None) -> web.Response:
        payload: dict[str, Any] = {"access_token": token}
        if docker_style:
            payload["token"] = token
        payload["expires_in"] = self.config.token_ttl
        payload["issued_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if refresh_token is not None:
            payload["refresh_token"] = refresh_token
        return _json_response(payload)

    async def _get_token(self, request: web.Request) -> web.StreamResponse:
        self.stats.token_requests += 1
        form = _query(request)
        scopes = _scopes_from(form)
        service = self._service(request)
        header = request.headers.get("Authorization", "")
        if header:
            basic = _parse_basic(header)
            if basic is None:
                raise _unauthorized("the token endpoint takes Basic credentials")
            self.stats.by_grant_type["basic"] += 1
            identity = self._login(basic[0], basic[1], service)
        else:
            self.stats.by_grant_type["anonymous"] += 1
            identity = self._anonymous()
        token, _ = self.issue_access(identity, service, scopes)
        offline = _first(form, "offline_token").lower() == "true"
        refresh = self.issue_refresh(identity, service) if offline and identity.kind != "anonymous" else None
        return self._token_reply(token, docker_style=True, refresh_token=refresh)

    def _login(self, username: str, password: str, service: str) -> _Identity:
        identity = self._user_identity(username, password, service)
        if identity is None:
            raise _unauthorized("invalid username or password")
        return identity

    async def _post_token(self, request: web.Request) -> web.StreamResponse:
        self.stats.token_requests += 1
        form = await _read_form(request)
        grant_type = _first(form, "grant_type")
        # The `service` field is not checked: tokens are always for this registry's login server.
        if grant_type == _REFRESH:
            self.stats.by_grant_type[_REFRESH] += 1
            scopes = _scopes_from(form)
            refresh_token = _first(form, "refresh_token")
            if not refresh_token:
                raise _bad_request("grant_type=refresh_token needs a refresh_token")
            identity = self._refresh_identity(refresh_token, self._service(request))
            if identity is None:
                raise _unauthorized("the refresh token is invalid, expired or for another registry")
            token, _ = self.issue_access(identity, self._service(request), scopes)
            return self._token_reply(token, docker_style=False, refresh_token=None)
        if grant_type == "password":
            scopes = _scopes_from(form)
            username = _first(form, "username")
            password = _first(form, "password")
            if not username and not password:
                # ACR's anonymous grant.
                self.stats.by_grant_type["anonymous"] += 1
                token, _ = self.issue_access(self._anonymous(), self._service(request), scopes)
                return self._token_reply(token, docker_style=False, refresh_token=None)
            self.stats.by_grant_type["password"] += 1
            if not username or not password:
                raise _bad_request("grant_type=password needs both username and password")
            identity = self._login(username, password, self._service(request))
            token, _ = self.issue_access(identity, self._service(request), scopes)
            offline = _first(form, "access_type") == "offline"
            refresh = self.issue_refresh(identity, self._service(request)) if offline else None
            return self._token_reply(token, docker_style=False, refresh_token=refresh)
        shown = grant_type[:40]
        raise _bad_request(
            f"unsupported grant_type {shown!r} for /oauth2/token: use 'refresh_token' or 'password'",
            "UNSUPPORTED",
        )

    async def _post_exchange(self, request: web.Request) -> web.StreamResponse:
        self.stats.exchanges += 1
        form = await _read_form(request)
        grant_type = _first(form, "grant_type")
        if grant_type != "access_token":
            self.stats.by_grant_type["exchange_invalid"] += 1
            raise _bad_request(
                f"unsupported grant_type {grant_type[:40]!r} for /oauth2/exchange: use 'access_token'",
                "UNSUPPORTED",
            )
        self.stats.by_grant_type["access_token"] += 1
        entra_token = _first(form, "access_token")
        if not entra_token:
            raise _bad_request("grant_type=access_token needs an access_token (an Entra ID token)")
        subject = self._check_entra_token(entra_token)
        identity = _Identity(subject, "entra", self._entra_roles())
        return _json_response({"refresh_token": self.issue_refresh(identity, self._service(request))})

    def _entra_roles(self) -> frozenset[str]:
        return frozenset(self.config.entra_roles)

    def _check_entra_token(self, token: str) -> str:
        """Validate an Entra ID token; return the identity's name or raise 401."""
        if len(token) > _MAX_TOKEN_CHARS:
            raise _unauthorized("the Entra ID token is too large")
        # The audience is checked below by hand, to accept a trailing '/' and name the expected values.
        try:
            if self.config.entra_secret is not None:
                claims = jwt.decode(
                    token,
                    self.config.entra_secret,
                    algorithms=[_ALGORITHM],
                    options={"require": ["exp", "aud"], "verify_aud": False},
                )
            elif self.config.trust_any_entra_token:
                claims = jwt.decode(
                    token,
                    options={
                        "require": ["exp", "aud"],
                        "verify_aud": False,
                        "verify_signature": False,
                        "verify_exp": True,
                        "verify_nbf": True,
                    },
                    algorithms=None,
                )
            else:
                raise _unauthorized("this emulator accepts no Entra ID tokens (no --entra-secret configured)")
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the Entra ID token has expired") from None
        except jwt.PyJWTError:
            raise _unauthorized("the Entra ID token is malformed or its signature is not trusted") from None
        audiences = claims.get("aud")
        given = (
            [audiences] if isinstance(audiences, str) else audiences if isinstance(audiences, list) else []
        )
        expected = self.config.accepted_entra_audiences()
        accepted = {a.rstrip("/") for a in expected}
        if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in given):
            raise _unauthorized(
                "the Entra ID token has the wrong audience; expected one of: " + ", ".join(expected)
            )
        for key in ("oid", "upn", "unique_name", "appid", "sub"):
            value = claims.get(key)
            if isinstance(value, str) and value:
                return value[:200]
        return "entra-identity"


class OpenAuth(_TokenService):
    """Auth for the open mode: every request is allowed.

    `add_routes` still serves the token endpoints (handing out signed JWTs that grant whatever is asked,
    without checking credentials), so clients that fetch tokens unprompted keep working.
    """

    def __init__(self, config: AuthConfig | None = None) -> None:
        super().__init__(config or AuthConfig())

    async def authorize(
        self, request: web.Request, resource_type: str, resource_name: str, actions: tuple[str, ...]
    ) -> None:
        """Allow everything."""

    async def authorize_all(self, request: web.Request, needs: Sequence[Need]) -> None:
        """Allow everything."""

    def _user_identity(self, username: str, password: str, service: str) -> _Identity | None:
        return _Identity(username or "anonymous", "open", ALL_ROLES)

    def _refresh_identity(self, token: str, service: str) -> _Identity | None:
        claims = self._decode(token, service, _REFRESH)
        return None if claims is None else _Identity(str(claims["sub"]), "open", ALL_ROLES)

    def _anonymous(self) -> _Identity:
        return _Identity("anonymous", "open", ALL_ROLES)

    def _check_entra_token(self, token: str) -> str:
        try:
            claims = jwt.decode(token, options={"verify_signature": False}, algorithms=None)
        except jwt.PyJWTError:
            raise _unauthorized("the Entra ID token is not a well-formed JWT") from None
        subject = claims.get("oid") or claims.get("sub")
        return subject[:200] if isinstance(subject, str) and subject else "entra-identity"


class EmulatorAuth(_TokenService):
    """ACR-style token auth for the emulator (see the module docstring).

    Args:
        config: users, token lifetimes, Entra ID settings and the login server.

    Attributes:
        stats: counters of token requests, exchanges and challenges (`AuthStats`).
    """

    def __init__(self, config: AuthConfig) -> None:
        super().__init__(config)

    async def authorize(
        self, request: web.Request, resource_type: str, resource_name: str, actions: tuple[str, ...]
    ) -> None:
        """Let the request through or raise `web.HTTPUnauthorized` with a Bearer challenge.

        Args:
            request: the incoming request (its Authorization header, scheme and Host are used).
            resource_type: `repository`, `registry` (name `catalog`, action `*`) or `""` for `GET /v2/`.
            resource_name: the repository name, or `catalog`.
            actions: every action the request needs, e.g. `("pull", "push")` for an upload.

        Raises:
            web.HTTPUnauthorized: no acceptable credentials, or a token that does not cover the need.
        """
        await self.authorize_all(request, [(resource_type, resource_name, tuple(actions))])

    async def authorize_all(self, request: web.Request, needs: Sequence[Need]) -> None:
        """Like `authorize`, for a request that needs several scopes (a cross-repository mount).

        When any is missing, ONE challenge names them all, space-separated in its `scope` (as
        Distribution does), so a client that answers one challenge per request gets a token for all.

        Raises:
            web.HTTPUnauthorized: see `authorize`.
        """
        service = self._service(request)
        header = request.headers.get("Authorization", "")
        insufficient = False
        if header:
            token = _bearer_token(header)
            if token is not None:
                claims = self._decode(token, service, _ACCESS)
                if claims is not None:
                    if all(_covers(claims.get("access"), *need) for need in needs):
                        return
                    # A valid token that is too narrow (RFC 6750 section 3.1).
                    insufficient = True
            else:
                basic = _parse_basic(header)
                if basic is not None and basic[0] != REFRESH_TOKEN_USERNAME:
                    identity = self._user_identity(basic[0], basic[1], service)
                    if identity is not None and "admin" in identity.roles and identity.repositories is None:
                        return
        elif self.config.anonymous_pull and needs and all(_anonymous_allows(*need) for need in needs):
            return
        self.stats.challenges += 1
        raise self._challenge(request, service, needs, "insufficient_scope" if insufficient else None)

    def _challenge(
        self, request: web.Request, service: str, needs: Sequence[Need], error: str | None
    ) -> web.HTTPException:
        realm = f"{request.scheme}://{_quote_safe(request.host)}/oauth2/token"
        challenge = f'Bearer realm="{realm}",service="{_quote_safe(service)}"'
        detail: Any = None
        scoped = [need for need in needs if need[0]]
        if scoped:
            scope = " ".join(f"{rtype}:{name}:{','.join(actions)}" for rtype, name, actions in scoped)
            challenge += f',scope="{_quote_safe(scope)}"'
            detail = [
                {"Type": rtype, "Name": name, "Action": a} for rtype, name, actions in scoped for a in actions
            ]
            message = "authentication required, visit https://aka.ms/acr/authorization for more information."
        else:
            message = "authentication required"
        if error is not None:
            challenge += f',error="{error}"'
        return web.HTTPUnauthorized(
            text=_error_body("UNAUTHORIZED", message, detail),
            content_type="application/json",
            headers={"WWW-Authenticate": challenge},
        )


def _anonymous_allows(resource_type: str, resource_name: str, actions: tuple[str, ...]) -> bool:
    """Whether `anonymous_pull` lets a request without credentials have this: pull and metadata_read on
    repositories, and listing the catalog (as ACR's anonymous token, which has `registry:catalog:*`)."""
    if resource_type == "registry":
        return resource_name == "catalog"
    return (
        resource_type == "repository"
        and bool(actions)
        and all(a in ("pull", "metadata_read") for a in actions)
    )


def _covers(access: Any, resource_type: str, resource_name: str, actions: tuple[str, ...]) -> bool:
    """Whether an access claim grants every needed action (`""` needs only a valid token)."""
    if not resource_type:
        return True
    if not isinstance(access, list):
        return False
    have: set[str] = set()
    for entry in access:
        if (
            isinstance(entry, dict)
            and entry.get("type") == resource_type
            and entry.get("name") == resource_name
            and isinstance(entry.get("actions"), list)
        ):
            have.update(a for a in entry["actions"] if isinstance(a, str))
    return "*" in have or all(a in have for a in actions)
