"""The token cache's deadlines, read on an injected clock (pure: no sockets, no waiting)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from containerregistry.auth._cache import TokenCache
from tests.support.clock import FakeClock

READ = ("repository:app:pull",)
WRITE = ("repository:app:pull,push",)


def _cache() -> tuple[TokenCache, FakeClock]:
    clock = FakeClock()
    return TokenCache(clock), clock


@pytest.mark.parametrize(
    ("expires_in", "usable_for"),
    [
        (300, 270.0),  # the margin is at most 30 s
        (60, 45.0),  # else a quarter of the lifetime
        (4, 3.0),
        (None, 45.0),  # no expires_in and no JWT: the token spec's 60 s
    ],
)
def test_a_token_is_used_until_its_lifetime_minus_the_margin(
    expires_in: int | None, usable_for: float
) -> None:
    cache, clock = _cache()
    state = cache.state_for(httpx.URL("https://registry.example"))
    body: dict[str, object] = {"token": "opaque"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    token = cache.store(state, body, READ)
    clock.advance(usable_for - 0.01)
    assert cache.cached(state, READ) is token
    assert cache.cached(state, ()) is token  # no hinted scopes: the newest valid token
    clock.advance(0.01)
    assert cache.cached(state, READ) is None
    assert cache.cached(state, ()) is None


def test_a_jwt_without_expires_in_lives_until_its_exp() -> None:
    cache, clock = _cache()
    state = cache.state_for(httpx.URL("https://registry.example"))
    value = jwt.encode({"exp": int(time.time()) + 120}, "k" * 32, algorithm="HS256")
    cache.store(state, {"token": value}, READ)
    clock.advance(85)  # about 120 s minus a 30 s margin, minus the second exp is rounded to
    assert cache.cached(state, READ) is not None
    clock.advance(6)
    assert cache.cached(state, READ) is None


def test_a_wider_token_covers_a_narrower_request() -> None:
    cache, clock = _cache()
    state = cache.state_for(httpx.URL("https://registry.example:5000"))
    wide = cache.store(state, {"token": "w", "expires_in": 60}, WRITE)
    assert cache.cached(state, READ) is wide
    assert cache.cached(state, ("repository:other:pull",)) is None
    clock.advance(45)
    assert cache.cached(state, READ) is None


def test_an_exchanged_refresh_token_is_renewed_on_its_deadline() -> None:
    cache, clock = _cache()
    url = httpx.URL("https://myreg.azurecr.io")
    state = cache.state_for(url)
    cache.keep_exchange_refresh(state, "refresh-secret", 600)
    clock.advance(599.9)
    assert cache.exchange_refresh(state) == "refresh-secret"
    assert cache.refresh_token(url) == "refresh-secret"
    clock.advance(0.1)
    assert cache.exchange_refresh(state) is None
    assert cache.refresh_token(url) is None
