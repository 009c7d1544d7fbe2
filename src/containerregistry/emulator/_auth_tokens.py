"""The emulator's token service: minting and checking its HS256 JWTs, identities from credentials and
refresh tokens, the Entra ID exchange, and the `/oauth2/token` and `/oauth2/exchange` routes.

`TokenService` is what both auth modes share (`OpenAuth` in `_auth_open`, `EmulatorAuth` in
`_auth_enforce`). PyJWT (and with it cryptography) is imported only where a token is minted or read, so
the open mode, which may never see a token request, does not load it; `EmulatorAuth` loads it up front
(`load_jwt`), so the event loop never blocks on that import.
"""

from __future__ import annotations

import hmac
import importlib
import math
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._auth_config import ACR_AUDIENCE, AuthConfig, AuthStats
from ._auth_grants import ALL_ROLES, Identity, grant
from ._auth_http import (
    bad_request,
    first,
    json_response,
    never_500,
    parse_basic,
    query_form,
    quote_safe,
    read_form,
    scopes_from,
    unauthorized,
)
from ._auth_scopes import Scope

__all__ = ["REFRESH_TOKEN_USERNAME", "TokenService", "load_jwt", "mint_entra_token"]

# ACR's convention: `docker login -u 00000000-... -p <refresh token>` logs in with a refresh token.
REFRESH_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"

ISSUER = "containerregistry-emulator"
ALGORITHM = "HS256"
ACCESS = "access_token"
REFRESH = "refresh_token"
MAX_TOKEN_CHARS = 16 * 1024


def load_jwt() -> None:
    """Import PyJWT now (it loads cryptography too), rather than on the first token request."""
    importlib.import_module("jwt")


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
    import jwt

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
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


class TokenService:
    """Everything both auth modes share: minting tokens and serving /oauth2/*."""

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self._key = config.signing_key or secrets.token_bytes(32)
        self.stats = AuthStats()

    # -- tokens --------------------------------------------------------------------------------

    def _service(self, request: web.Request) -> str:
        return self.config.login_server or quote_safe(request.host)

    def _mint(self, identity: Identity, service: str, grant_type: str, ttl: int, access: list[Scope]) -> str:
        import jwt

        now = time.time()
        payload: dict[str, Any] = {
            "iss": ISSUER,
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
        if grant_type == REFRESH and identity.kind == "entra":
            # Entra identities are not in the user table: carry their grants inside the refresh token.
            payload["roles"] = sorted(identity.roles)
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def _decode(self, token: str, service: str, grant_type: str) -> dict[str, Any] | None:
        import jwt

        if len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=service,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "nbf", "aud", "iss", "sub", "grant_type"]},
            )
        except jwt.PyJWTError:
            return None
        if claims.get("grant_type") != grant_type:
            return None
        return claims

    def issue_access(self, identity: Identity, service: str, scopes: list[Scope]) -> tuple[str, list[Scope]]:
        granted: list[Scope] = []
        for scope in scopes:
            actions = grant(identity, scope, anonymous_pull=self.config.anonymous_pull)
            if actions:
                granted.append(Scope(scope.type, scope.name, actions))
        return self._mint(identity, service, ACCESS, self.config.token_ttl, granted), granted

    def issue_refresh(self, identity: Identity, service: str) -> str:
        return self._mint(identity, service, REFRESH, self.config.refresh_token_ttl, [])

    # -- identities ----------------------------------------------------------------------------

    def _user_identity(self, username: str, password: str, service: str) -> Identity | None:
        """Check a username/password pair; the ACR refresh-token username accepts a refresh token."""
        if username == REFRESH_TOKEN_USERNAME:
            return self._refresh_identity(password, service)
        user = self.config.users.get(username)
        if user is not None and user.password_hash:
            from ._passwords import check_password

            if not check_password(password, user.password_hash):
                return None
            return Identity(user.username, "user", user.roles, user.repositories)
        # compare_digest on both branches so a wrong user name costs the same as a wrong password.
        expected = user.password if user is not None else secrets.token_hex(16)
        if not hmac.compare_digest(password.encode("utf-8"), expected.encode("utf-8")) or user is None:
            return None
        return Identity(user.username, "user", user.roles, user.repositories)

    def _refresh_identity(self, token: str, service: str) -> Identity | None:
        claims = self._decode(token, service, REFRESH)
        if claims is None:
            return None
        kind = claims.get("idp")
        subject = str(claims["sub"])
        if kind == "user":
            user = self.config.users.get(subject)
            if user is None:
                return None
            return Identity(user.username, "user", user.roles, user.repositories)
        if kind == "entra":
            roles = claims.get("roles")
            if not isinstance(roles, list):
                return None
            return Identity(subject, "entra", frozenset(str(r) for r in roles) & ALL_ROLES)
        if kind == "open":
            return Identity(subject, "open", ALL_ROLES)
        return None

    def _anonymous(self) -> Identity:
        return Identity("", "anonymous", frozenset())

    # -- routes --------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Add `GET`/`POST /oauth2/token` and `POST /oauth2/exchange` to `app`."""
        app.router.add_get("/oauth2/token", never_500(self._get_token), allow_head=False)
        app.router.add_post("/oauth2/token", never_500(self._post_token))
        app.router.add_post("/oauth2/exchange", never_500(self._post_exchange))

    def _token_reply(self, token: str, *, docker_style: bool, refresh_token: str | None) -> web.Response:
        payload: dict[str, Any] = {"access_token": token}
        if docker_style:
            payload["token"] = token
        payload["expires_in"] = self.config.token_ttl
        payload["issued_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if refresh_token is not None:
            payload["refresh_token"] = refresh_token
        return json_response(payload)

    async def _get_token(self, request: web.Request) -> web.StreamResponse:
        self.stats.token_requests += 1
        form = query_form(request)
        scopes = scopes_from(form)
        service = self._service(request)
        header = request.headers.get("Authorization", "")
        if header:
            basic = parse_basic(header)
            if basic is None:
                raise unauthorized("the token endpoint takes Basic credentials")
            self.stats.by_grant_type["basic"] += 1
            identity = self._login(basic[0], basic[1], service)
        else:
            self.stats.by_grant_type["anonymous"] += 1
            identity = self._anonymous()
        token, _ = self.issue_access(identity, service, scopes)
        offline = first(form, "offline_token").lower() == "true"
        refresh = self.issue_refresh(identity, service) if offline and identity.kind != "anonymous" else None
        return self._token_reply(token, docker_style=True, refresh_token=refresh)

    def _login(self, username: str, password: str, service: str) -> Identity:
        identity = self._user_identity(username, password, service)
        if identity is None:
            raise unauthorized("invalid username or password")
        return identity

    async def _post_token(self, request: web.Request) -> web.StreamResponse:
        self.stats.token_requests += 1
        form = await read_form(request)
        grant_type = first(form, "grant_type")
        # The `service` field is not checked: tokens are always for this registry's login server.
        if grant_type == REFRESH:
            self.stats.by_grant_type[REFRESH] += 1
            scopes = scopes_from(form)
            refresh_token = first(form, "refresh_token")
            if not refresh_token:
                raise bad_request("grant_type=refresh_token needs a refresh_token")
            identity = self._refresh_identity(refresh_token, self._service(request))
            if identity is None:
                raise unauthorized("the refresh token is invalid, expired or for another registry")
            token, _ = self.issue_access(identity, self._service(request), scopes)
            return self._token_reply(token, docker_style=False, refresh_token=None)
        if grant_type == "password":
            scopes = scopes_from(form)
            username = first(form, "username")
            password = first(form, "password")
            if not username and not password:
                # ACR's anonymous grant.
                self.stats.by_grant_type["anonymous"] += 1
                token, _ = self.issue_access(self._anonymous(), self._service(request), scopes)
                return self._token_reply(token, docker_style=False, refresh_token=None)
            self.stats.by_grant_type["password"] += 1
            if not username or not password:
                raise bad_request("grant_type=password needs both username and password")
            identity = self._login(username, password, self._service(request))
            token, _ = self.issue_access(identity, self._service(request), scopes)
            offline = first(form, "access_type") == "offline"
            refresh = self.issue_refresh(identity, self._service(request)) if offline else None
            return self._token_reply(token, docker_style=False, refresh_token=refresh)
        shown = grant_type[:40]
        raise bad_request(
            f"unsupported grant_type {shown!r} for /oauth2/token: use 'refresh_token' or 'password'",
            "UNSUPPORTED",
        )

    async def _post_exchange(self, request: web.Request) -> web.StreamResponse:
        self.stats.exchanges += 1
        form = await read_form(request)
        grant_type = first(form, "grant_type")
        if grant_type != "access_token":
            self.stats.by_grant_type["exchange_invalid"] += 1
            raise bad_request(
                f"unsupported grant_type {grant_type[:40]!r} for /oauth2/exchange: use 'access_token'",
                "UNSUPPORTED",
            )
        self.stats.by_grant_type["access_token"] += 1
        entra_token = first(form, "access_token")
        if not entra_token:
            raise bad_request("grant_type=access_token needs an access_token (an Entra ID token)")
        subject = self._check_entra_token(entra_token)
        identity = Identity(subject, "entra", self._entra_roles())
        return json_response({"refresh_token": self.issue_refresh(identity, self._service(request))})

    def _entra_roles(self) -> frozenset[str]:
        return frozenset(self.config.entra_roles)

    def _check_entra_token(self, token: str) -> str:
        """Validate an Entra ID token; return the identity's name or raise 401."""
        import jwt

        if len(token) > MAX_TOKEN_CHARS:
            raise unauthorized("the Entra ID token is too large")
        # The audience is checked below by hand, to accept a trailing '/' and name the expected values.
        try:
            if self.config.entra_secret is not None:
                claims = jwt.decode(
                    token,
                    self.config.entra_secret,
                    algorithms=[ALGORITHM],
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
                raise unauthorized("this emulator accepts no Entra ID tokens (no --entra-secret configured)")
        except jwt.ExpiredSignatureError:
            raise unauthorized("the Entra ID token has expired") from None
        except jwt.PyJWTError:
            raise unauthorized("the Entra ID token is malformed or its signature is not trusted") from None
        audiences = claims.get("aud")
        given = (
            [audiences] if isinstance(audiences, str) else audiences if isinstance(audiences, list) else []
        )
        expected = self.config.accepted_entra_audiences()
        accepted = {a.rstrip("/") for a in expected}
        if not any(isinstance(a, str) and a.rstrip("/") in accepted for a in given):
            raise unauthorized(
                "the Entra ID token has the wrong audience; expected one of: " + ", ".join(expected)
            )
        for key in ("oid", "upn", "unique_name", "appid", "sub"):
            value = claims.get(key)
            if isinstance(value, str) and value:
                return value[:200]
        return "entra-identity"
