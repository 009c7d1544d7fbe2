"""The ACR Entra ID exchange: an Entra ID access token -> an ACR refresh token -> ACR access tokens.

Owns which credentials count as Entra ID credentials (any object with ``get_token(*scopes)`` that is
not one of the library's own credentials), getting their token (sync, or awaited), and the two
generator steps of the exchange:

- `EntraExchange.refresh_token`: reuse the exchanged refresh token until 5 minutes before it expires,
  else ask the driver for an Entra ID token (`EntraTokenNeeded`) and ``POST`` it to the registry's
  own ``/oauth2/exchange`` (never a realm elsewhere), one exchange per registry at a time (the flows
  that wait for it, fetching tokens for other scopes, use its refresh token);
- `EntraExchange.access_token`: the refresh token grant at the ACR realm, exchanging again once when
  a cached refresh token is refused.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Generator
from typing import Any, TypeGuard

import httpx

from ..exceptions import ClientAuthenticationError, RegistryError
from ._cache import RegistryState, TokenCache
from ._credential_types import AsyncTokenCredential, TokenCredential
from ._credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)
from ._hosts import require_secure_transport
from ._tokens import (
    AuthStats,
    EntraTokenNeeded,
    Hold,
    Release,
    Step,
    jwt_claims,
    known_secrets,
    parse_token_body,
    server_message,
    token_post,
)

logger = logging.getLogger("containerregistry.auth")

__all__ = ["EntraExchange", "entra_token_async", "entra_token_sync", "is_entra"]

_ACR_REFRESH_MARGIN = 300.0  # exchange again 5 minutes before the ACR refresh token expires
_ACR_REFRESH_DEFAULT = 3600.0  # when the refresh token is not a readable JWT (ACR's last about 3 h)


def is_entra(credential: object | None) -> TypeGuard[TokenCredential | AsyncTokenCredential]:
    """True for an Entra ID credential: has ``get_token`` and is none of the library's credentials."""
    return (
        credential is not None
        and not isinstance(
            credential,
            BasicCredential | RefreshTokenCredential | RegistryTokenCredential | DockerConfigCredential,
        )
        and callable(getattr(credential, "get_token", None))
    )


def _token_string(result: object) -> str:
    token = getattr(result, "token", result)
    if not isinstance(token, str) or not token:
        raise TypeError("get_token() must return an AccessToken (with .token) or a token string")
    return token


def entra_token_sync(credential: object, step: EntraTokenNeeded) -> str:
    """The Entra ID token `step` asks for, from a sync credential."""
    get_token = getattr(credential, "get_token")  # noqa: B009 - checked by is_entra
    if inspect.iscoroutinefunction(get_token):
        raise TypeError("an async Entra ID credential needs an async client (httpx.AsyncClient / .aio)")
    try:
        result = get_token(*step.scopes)
    except Exception as exc:
        raise entra_failure(credential, exc) from exc
    return _token_string(result)


async def entra_token_async(credential: object, step: EntraTokenNeeded) -> str:
    """The Entra ID token `step` asks for, from a sync or async credential."""
    get_token = getattr(credential, "get_token")  # noqa: B009 - checked by is_entra
    try:
        result = get_token(*step.scopes)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        raise entra_failure(credential, exc) from exc
    return _token_string(result)


def entra_failure(credential: object, exc: Exception) -> Exception:
    """An Entra ID credential's failure (azure-identity / azure-core raise their own types, with
    messages of many lines listing each credential tried) as this library's `ClientAuthenticationError`,
    one line; the original stays chained as `__cause__`. Our own errors, and TypeError, pass unchanged."""
    if isinstance(exc, (RegistryError, TypeError)):
        return exc
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    logger.debug("Entra ID credential %s failed: %s", type(credential).__name__, exc)
    return ClientAuthenticationError(
        f"no Entra ID token from {type(credential).__name__}: {first} (sign in with `az login`, or set"
        " the AZURE_* variables of a service principal or managed identity)",
        status_code=401,
    )


class EntraExchange:
    """The exchange steps of one `RegistryAuth`: its audience, transport policy, counters and cache."""

    def __init__(self, audience: str, insecure: bool, stats: AuthStats, cache: TokenCache) -> None:
        self.audience = audience
        self._insecure = insecure
        self._stats = stats
        self._cache = cache

    def refresh_token(
        self, state: RegistryState, credential: object | None, service: str
    ) -> Generator[Step, Any, str]:
        """An ACR refresh token for `state`'s registry: the cached one, or a new exchange."""
        cached = self._cache.exchange_refresh(state)
        if cached:
            return cached
        # One exchange per registry at a time: flows fetching tokens for other scopes wait for it.
        key = f"exchange {state.key}"
        yield Hold(key)
        cached = self._cache.exchange_refresh(state)
        if cached:
            yield Release(key)
            return cached
        scope = f"{self.audience}/.default"
        self._stats.entra_tokens += 1
        entra_token: str = yield EntraTokenNeeded((scope,))
        # Always the registry's own origin (as the Azure SDK does), whatever a realm says.
        exchange_url = f"{state.key}/oauth2/exchange"
        require_secure_transport(httpx.URL(exchange_url), credential, state.host, self._insecure)
        tenant = jwt_claims(entra_token).get("tid")
        form = {
            "grant_type": "access_token",
            "service": service,
            "tenant": tenant if isinstance(tenant, str) else "",
            "access_token": entra_token,
        }
        self._stats.exchanges += 1
        response = yield from token_post(self._stats, state.host, exchange_url, form, (), False)
        if response.status_code != 200:
            secrets = [*known_secrets(credential, state.refresh_token), entra_token]
            message, errors = server_message(response, secrets)
            raise ClientAuthenticationError(
                f"registry {state.host}: exchanging the Entra ID token (audience {self.audience}, "
                f"scope {scope}) for an ACR refresh token at {exchange_url} failed with HTTP "
                f"{response.status_code}: {message}",
                status_code=response.status_code,
                errors=errors,
                method="POST",
                url=exchange_url,
            )
        body = parse_token_body(
            state.host,
            exchange_url,
            (),
            response,
            "Entra ID exchange",
            known_secrets(credential, state.refresh_token, entra_token),
            key="refresh_token",
        )
        refresh = str(body["refresh_token"])
        exp = jwt_claims(refresh).get("exp")
        lifetime = float(exp) - time.time() if isinstance(exp, (int, float)) else _ACR_REFRESH_DEFAULT
        self._cache.keep_exchange_refresh(state, refresh, lifetime - _ACR_REFRESH_MARGIN)
        yield Release(key)
        return refresh

    def access_token(
        self,
        state: RegistryState,
        credential: object | None,
        realm_url: httpx.URL,
        service: str,
        scopes: tuple[str, ...],
    ) -> Generator[Step, Any, dict[str, Any]]:
        """The (checked) ACR token answer for `scopes`, through the refresh token grant."""
        realm = str(realm_url)
        require_secure_transport(realm_url, credential, state.host, self._insecure)
        for attempt in range(2):
            had_cached = bool(state.refresh_token and state.refresh_from_exchange)
            refresh = yield from self.refresh_token(state, credential, service)
            form = {"grant_type": "refresh_token", "service": service, "refresh_token": refresh}
            response = yield from token_post(self._stats, state.host, realm, form, scopes, True)
            if response.status_code == 401 and had_cached and attempt == 0:
                # The cached refresh token was revoked or expired early: exchange again, once.
                self._cache.drop_exchange_refresh(state)
                continue
            return parse_token_body(
                state.host,
                realm,
                scopes,
                response,
                "ACR access token request",
                known_secrets(credential, state.refresh_token, refresh),
            )
        raise AssertionError("unreachable")  # pragma: no cover
