"""`EmulatorAuth`: ACR-style token auth. Checks each request's Bearer token (or an admin's Basic
credentials, or anonymous pull) against what it needs, and answers a miss with one Bearer challenge
naming every scope needed (`insufficient_scope` when a valid token is too narrow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ..protocol.scopes import Scope
from ._auth_config import AuthConfig
from ._auth_grants import Need, anonymous_allows, covers
from ._auth_http import bearer_token, error_body, parse_basic, quote_safe
from ._auth_tokens import ACCESS, REFRESH_TOKEN_USERNAME, TokenService, load_jwt

__all__ = ["EmulatorAuth"]


class EmulatorAuth(TokenService):
    """ACR-style token auth for the emulator (see the module docstring).

    Args:
        config: users, token lifetimes, Entra ID settings and the login server.

    Attributes:
        stats: counters of token requests, exchanges and challenges (`AuthStats`).
    """

    def __init__(self, config: AuthConfig) -> None:
        super().__init__(config)
        load_jwt()  # now, not on the event loop at the first token request

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
            token = bearer_token(header)
            if token is not None:
                claims = self._decode(token, service, ACCESS)
                if claims is not None:
                    if all(covers(claims.get("access"), *need) for need in needs):
                        return
                    # A valid token that is too narrow (RFC 6750 section 3.1).
                    insufficient = True
            else:
                basic = parse_basic(header)
                if basic is not None and basic[0] != REFRESH_TOKEN_USERNAME:
                    identity = self._user_identity(basic[0], basic[1], service)
                    if identity is not None and "admin" in identity.roles and identity.repositories is None:
                        return
        elif self.config.anonymous_pull and needs and all(anonymous_allows(*need) for need in needs):
            return
        self.stats.challenges += 1
        raise self._challenge(request, service, needs, "insufficient_scope" if insufficient else None)

    def _challenge(
        self, request: web.Request, service: str, needs: Sequence[Need], error: str | None
    ) -> web.HTTPException:
        realm = f"{request.scheme}://{quote_safe(request.host)}/oauth2/token"
        challenge = f'Bearer realm="{realm}",service="{quote_safe(service)}"'
        detail: Any = None
        scoped = [need for need in needs if need[0]]
        if scoped:
            scope = " ".join(str(Scope(rtype, name, tuple(actions))) for rtype, name, actions in scoped)
            challenge += f',scope="{quote_safe(scope)}"'
            detail = [
                {"Type": rtype, "Name": name, "Action": a} for rtype, name, actions in scoped for a in actions
            ]
            message = "authentication required, visit https://aka.ms/acr/authorization for more information."
        else:
            message = "authentication required"
        if error is not None:
            challenge += f',error="{error}"'
        return web.HTTPUnauthorized(
            text=error_body("UNAUTHORIZED", message, detail),
            content_type="application/json",
            headers={"WWW-Authenticate": challenge},
        )
