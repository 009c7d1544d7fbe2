"""The token cache: what the auth flow remembers per registry, with an injectable clock.

Per registry origin (``scheme://host[:port]``, a `RegistryState`) it keeps the last challenge, the
scopes held so far, access tokens per scope set and the newest one, and a refresh token (from a
token server, or from the ACR Entra ID exchange, with its deadline). Sans-I/O.

Every deadline is a reading of the cache's `clock` (``time.monotonic`` unless given): an access token
is used until ``clock() >= expires_at``, where ``expires_at`` is its lifetime minus a margin (a quarter
of it, at most 30 s) for clock skew and the time a request spends in flight. Tests pass a fake clock
to expire tokens without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..protocol.challenge import Challenge, merge_scopes, scopes_cover
from ._tokens import token_lifetime

__all__ = ["RegistryState", "Token", "TokenCache", "origin"]


@dataclass
class Token:
    """An access token for a set of scopes."""

    value: str = field(repr=False)
    scopes: tuple[str, ...]
    expires_at: float  # a reading of the cache's clock, margin already taken off


@dataclass
class RegistryState:
    """What the flow knows about one registry origin."""

    key: str  # "https://host:port"
    host: str
    challenge: Challenge | None = None
    held_scopes: tuple[str, ...] = ()
    tokens: dict[tuple[str, ...], Token] = field(default_factory=dict)
    last_token: Token | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: float | None = None
    refresh_from_exchange: bool = False
    pinged: bool = False
    # Set once a request succeeded without any Authorization: such a registry needs no warm-up.
    open_access: bool = False


def origin(url: httpx.URL) -> str:
    """The cache key of a registry: ``scheme://host`` plus ``:port`` when the URL names one."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


class TokenCache:
    """Registry states by origin, and the token decisions that need a clock.

    Args:
        clock: seconds on a clock that never goes back (default ``time.monotonic``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.registries: dict[str, RegistryState] = {}

    def state_for(self, url: httpx.URL) -> RegistryState:
        """The state of the registry `url` belongs to, created empty on first use."""
        key = origin(url)
        state = self.registries.get(key)
        if state is None:
            host = url.host if url.port is None else f"{url.host}:{url.port}"
            state = self.registries[key] = RegistryState(key=key, host=host)
        return state

    def valid(self, token: Token) -> bool:
        """True while `token` may still be sent."""
        return self.clock() < token.expires_at

    def cached(self, state: RegistryState, hinted: tuple[str, ...]) -> Token | None:
        """A valid token covering `hinted` (the exact scope set first, else the newest that covers it).

        Without hinted scopes, the newest token if it is still valid.
        """
        if not hinted:
            last = state.last_token
            return last if last is not None and self.valid(last) else None
        exact = state.tokens.get(merge_scopes((), hinted))
        if exact is not None and self.valid(exact):
            return exact
        for token in reversed(list(state.tokens.values())):
            if self.valid(token) and scopes_cover(token.scopes, hinted):
                return token
        return None

    def store(self, state: RegistryState, body: dict[str, Any], scopes: tuple[str, ...]) -> Token:
        """Keep the token of a (checked) token answer for `scopes`, and its refresh token if any."""
        value = body.get("token") or body.get("access_token")
        assert isinstance(value, str)  # checked by parse_token_body
        lifetime = token_lifetime(body, value)
        # Leave a margin for clock skew and the time the request spends in flight.
        margin = min(30.0, max(lifetime, 0.0) / 4)
        token = Token(value=value, scopes=scopes, expires_at=self.clock() + lifetime - margin)
        refresh = body.get("refresh_token")
        if isinstance(refresh, str) and refresh and not state.refresh_from_exchange:
            state.refresh_token = refresh
        state.tokens[scopes] = token
        state.last_token = token
        state.held_scopes = merge_scopes(state.held_scopes, scopes)
        return token

    @staticmethod
    def forget(state: RegistryState, token: Token) -> None:
        """Drop `token` (the registry refused it: revoked or expired early)."""
        for key, cached in list(state.tokens.items()):
            if cached is token:
                del state.tokens[key]
        if state.last_token is token:
            state.last_token = None

    @staticmethod
    def forget_all(state: RegistryState) -> None:
        """Drop every access token of `state` (the registry named another realm)."""
        state.tokens.clear()
        state.last_token = None

    def exchange_refresh(self, state: RegistryState) -> str | None:
        """The ACR refresh token from an Entra ID exchange, while it is not due for renewal."""
        if (
            state.refresh_token
            and state.refresh_from_exchange
            and (state.refresh_expires_at is None or self.clock() < state.refresh_expires_at)
        ):
            return state.refresh_token
        return None

    def keep_exchange_refresh(self, state: RegistryState, refresh: str, renew_in: float) -> None:
        """Keep an exchanged ACR refresh token, to be exchanged again `renew_in` seconds from now."""
        state.refresh_token = refresh
        state.refresh_from_exchange = True
        state.refresh_expires_at = self.clock() + renew_in

    @staticmethod
    def drop_exchange_refresh(state: RegistryState) -> None:
        """Forget an exchanged refresh token the registry refused."""
        state.refresh_token = None
        state.refresh_from_exchange = False

    def refresh_token(self, url: httpx.URL) -> str | None:
        """The refresh token held for the registry of `url`, unless it is past its deadline."""
        state = self.registries.get(origin(url))
        if state is None or not state.refresh_token:
            return None
        if state.refresh_expires_at is not None and self.clock() >= state.refresh_expires_at:
            return None
        return state.refresh_token
