"""A small ACR look-alike for the Entra ID tests: ``/oauth2/exchange``, ``/oauth2/token`` and a challenging registry.

aiohttp in a background thread (its own event loop) on 127.0.0.1, so both sync and async clients can
use it. Tokens are HS256 JWTs signed with a per-server secret; "Entra ID" tokens come from
`FakeEntraCredential` / `FakeAsyncEntraCredential`, signed with the secret the server trusts.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jwt
from aiohttp import web

from tests.support.hostile import serve_app

__all__ = ["AcrFake", "FakeAsyncEntraCredential", "FakeEntraCredential", "run_acr_fake"]

ENTRA_SECRET = "entra-test-signing-secret-0123456789abcdef"
DEFAULT_AUDIENCE = "https://containerregistry.azure.net"


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class FakeEntraCredential:
    """Sync stand-in for an azure-identity credential: ``get_token(*scopes) -> AccessToken``."""

    def __init__(self, tenant: str = "tenant-1", *, secret: str = ENTRA_SECRET) -> None:
        self.tenant = tenant
        self.secret = secret
        self.calls: list[tuple[str, ...]] = []

    def _mint(self, scopes: tuple[str, ...]) -> AccessToken:
        self.calls.append(scopes)
        audience = scopes[0].removesuffix("/.default")
        exp = int(time.time()) + 3600
        claims = {"aud": audience, "tid": self.tenant, "oid": "object-1", "exp": exp}
        return AccessToken(jwt.encode(claims, self.secret, algorithm="HS256"), exp)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self._mint(scopes)


class FakeAsyncEntraCredential(FakeEntraCredential):
    """Async stand-in (``async def get_token``), like ``azure.identity.aio`` credentials."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        await asyncio.sleep(0)
        return self._mint(scopes)


@dataclass
class AcrFake:
    endpoint: str = ""
    host: str = ""
    audience: str = DEFAULT_AUDIENCE
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    refresh_lifetime: int = 3 * 3600
    access_lifetime: int = 3600
    anonymous_pull: bool = False
    # actions each subject may get; "*" = everything
    allowed: dict[str, set[str]] = field(default_factory=lambda: {"object-1": {"*"}, "<anonymous>": {"pull"}})
    counts: Counter[str] = field(default_factory=Counter)
    exchanged_tenants: list[str] = field(default_factory=list)
    token_scopes: list[tuple[str, ...]] = field(default_factory=list)

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.json_response(
            {"errors": [{"code": code, "message": message}]}, status=status, headers=headers
        )

    async def exchange(self, request: web.Request) -> web.Response:
        self.counts["exchange"] += 1
        form = await request.post()
        if form.get("grant_type") != "access_token" or form.get("service") != self.host:
            return self._error(
                400, "BAD_REQUEST", "grant_type must be access_token and service this registry"
            )
        try:
            claims = jwt.decode(
                str(form.get("access_token", "")), ENTRA_SECRET, algorithms=["HS256"], audience=self.audience
            )
        except jwt.InvalidAudienceError:
            return self._error(401, "UNAUTHORIZED", f"the token's audience is not {self.audience}")
        except jwt.PyJWTError:
            return self._error(401, "UNAUTHORIZED", "the access token is not valid")
        self.exchanged_tenants.append(str(form.get("tenant", "")))
        refresh = jwt.encode(
            {"sub": claims["oid"], "exp": int(time.time()) + self.refresh_lifetime, "typ": "refresh"},
            self.secret,
            algorithm="HS256",
        )
        return web.json_response({"refresh_token": refresh})

    async def token(self, request: web.Request) -> web.Response:
        self.counts["token"] += 1
        form = await request.post()
        scopes = tuple(str(s) for s in form.getall("scope", []))
        self.token_scopes.append(scopes)
        grant = form.get("grant_type")
        if grant == "refresh_token":
            try:
                claims = jwt.decode(str(form.get("refresh_token", "")), self.secret, algorithms=["HS256"])
            except jwt.PyJWTError:
                return self._error(401, "UNAUTHORIZED", "the refresh token is not valid")
            subject = str(claims["sub"])
        elif grant == "password" and not form.get("username"):
            if not self.anonymous_pull:
                return self._error(401, "UNAUTHORIZED", "anonymous pull is disabled")
            subject = "<anonymous>"
        else:
            return self._error(400, "BAD_REQUEST", "unsupported grant")
        allowed = self.allowed.get(subject, set())
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = [a for a in actions.split(",") if "*" in allowed or a in allowed]
            access.append({"type": kind, "name": name, "actions": granted})
        token = jwt.encode(
            {"sub": subject, "exp": int(time.time()) + self.access_lifetime, "access": access},
            self.secret,
            algorithm="HS256",
        )
        return web.json_response({"access_token": token})

    async def token_get(self, request: web.Request) -> web.Response:
        self.counts["token_get"] += 1
        return self._error(401, "UNAUTHORIZED", "basic auth is not enabled")

    def _challenge(self, scope: str) -> dict[str, str]:
        return {
            "WWW-Authenticate": f'Bearer realm="{self.endpoint}/oauth2/token",service="{self.host}",scope="{scope}"'
        }

    async def registry(self, request: web.Request) -> web.Response:
        self.counts["registry"] += 1
        path = request.path
        if path == "/v2/":
            needed = None
        elif path.startswith("/acr/v1/"):
            needed = (
                "repository",
                path.split("/")[3],
                "metadata_write" if request.method == "PATCH" else "metadata_read",
            )
        else:
            needed = (
                "repository",
                path.split("/")[2],
                "push" if request.method in ("PUT", "POST", "PATCH") else "pull",
            )
        header = request.headers.get("Authorization", "")
        claims: dict[str, Any] | None = None
        if header.startswith("Bearer "):
            try:
                claims = jwt.decode(header[7:], self.secret, algorithms=["HS256"])
            except jwt.PyJWTError:
                claims = None
        if needed is None:
            if claims is None:
                return web.Response(
                    status=401,
                    headers={
                        "WWW-Authenticate": f'Bearer realm="{self.endpoint}/oauth2/token",service="{self.host}"'
                    },
                )
            return web.json_response({})
        scope = f"{needed[0]}:{needed[1]}:{needed[2]}"
        ok = claims is not None and any(
            a.get("type") == needed[0] and a.get("name") == needed[1] and needed[2] in a.get("actions", [])
            for a in claims.get("access", [])
        )
        if not ok:
            return self._error(401, "UNAUTHORIZED", "authentication required", self._challenge(scope))
        return web.json_response({"ok": True, "path": path})


@contextmanager
def run_acr_fake(**settings: Any) -> Iterator[AcrFake]:
    """Run an `AcrFake` on a free 127.0.0.1 port in a thread with its own event loop."""
    fake = AcrFake(**settings)

    def make_app() -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth2/exchange", fake.exchange)
        app.router.add_post("/oauth2/token", fake.token)
        app.router.add_get("/oauth2/token", fake.token_get)
        app.router.add_route("*", "/{tail:(v2|acr/v1)/.*}", fake.registry)
        return app

    with serve_app(make_app) as url:
        fake.endpoint = url
        fake.host = url.removeprefix("http://")
        yield fake
