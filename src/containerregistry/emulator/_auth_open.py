"""`OpenAuth`: the emulator's open mode. Every request is allowed; the token service is still served.

Light on purpose: importing it loads no PyJWT and no cryptography (those load on the first token request).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from ._auth_config import AuthConfig
from ._auth_grants import ALL_ROLES, Identity, Need
from ._auth_http import unauthorized
from ._auth_tokens import REFRESH, TokenService

__all__ = ["OpenAuth"]


class OpenAuth(TokenService):
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

    def _user_identity(self, username: str, password: str, service: str) -> Identity | None:
        return Identity(username or "anonymous", "open", ALL_ROLES)

    def _refresh_identity(self, token: str, service: str) -> Identity | None:
        claims = self._decode(token, service, REFRESH)
        return None if claims is None else Identity(str(claims["sub"]), "open", ALL_ROLES)

    def _anonymous(self) -> Identity:
        return Identity("anonymous", "open", ALL_ROLES)

    def _check_entra_token(self, token: str) -> str:
        import jwt

        try:
            claims = jwt.decode(token, options={"verify_signature": False}, algorithms=None)
        except jwt.PyJWTError:
            raise unauthorized("the Entra ID token is not a well-formed JWT") from None
        subject = claims.get("oid") or claims.get("sub")
        return subject[:200] if isinstance(subject, str) and subject else "entra-identity"
