"""A tiny aiohttp app whose routes call `authorize` with fixed arguments, served on 127.0.0.1."""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web

from containerregistry.emulator.auth import REPOSITORY_ACTIONS, AuthConfig, EmulatorAuth, OpenAuth, User
from tests.support.hostile import serve_app

LONG_SECRET = "entra-test-secret-0123456789abcdef0123456789"
KEY = b"k" * 32


def make_config(**kwargs: object) -> AuthConfig:
    users = {role: User(role, f"pw-{role}", frozenset({role})) for role in (*REPOSITORY_ACTIONS, "admin")}
    users["scoped"] = User("scoped", "pw-scoped", frozenset({"pull", "push"}), frozenset({"team/*"}))
    users["scoped-admin"] = User("scoped-admin", "pw-scoped-admin", frozenset({"admin"}), frozenset({"app"}))
    settings: dict[str, object] = {"users": users, "signing_key": KEY, "entra_secret": LONG_SECRET, **kwargs}
    return AuthConfig(**settings)  # type: ignore[arg-type]


@dataclass
class Server:
    """A running test app."""

    auth: EmulatorAuth | OpenAuth
    config: AuthConfig
    endpoint: str
    client: httpx.AsyncClient

    @property
    def login_server(self) -> str:
        return self.config.login_server


def build_app(auth: EmulatorAuth | OpenAuth) -> web.Application:
    app = web.Application()

    async def ping(request: web.Request) -> web.Response:
        await auth.authorize(request, "", "", ())
        return web.json_response({})

    async def check(request: web.Request) -> web.Response:
        # /check/<type>/<actions>/<name...>: the name last, since repository names contain '/'.
        actions = tuple(request.match_info["actions"].split(","))
        await auth.authorize(request, request.match_info["type"], request.match_info["name"], actions)
        return web.json_response({"ok": True})

    app.router.add_get("/v2/", ping)
    app.router.add_get("/check/{type}/{actions}/{name:.+}", check)
    auth.add_routes(app)
    return app


@asynccontextmanager
async def serve(
    config: AuthConfig | None = None,
    *,
    open_mode: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    client_verify: ssl.SSLContext | bool = True,
) -> AsyncIterator[Server]:
    config = config if config is not None else AuthConfig()
    auth: EmulatorAuth | OpenAuth = OpenAuth(config) if open_mode else EmulatorAuth(config)
    runner = web.AppRunner(build_app(auth), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    try:
        port = runner.addresses[0][1]
        if not config.login_server:
            config.login_server = f"127.0.0.1:{port}"
        scheme = "https" if ssl_context is not None else "http"
        endpoint = f"{scheme}://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=endpoint, timeout=10.0, verify=client_verify) as client:
            yield Server(auth, config, endpoint, client)
    finally:
        await runner.cleanup()


ServeFactory = Callable[..., AbstractAsyncContextManager[Server]]


@pytest.fixture
def serve_factory() -> ServeFactory:
    return serve


def basic(username: str, password: str) -> dict[str, str]:
    value = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> dict[str, str]:
    """Parse `Bearer realm="..",service="..",scope=".."` (test helper, our values never contain quotes)."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "Bearer", header
    params = dict(_PARAM.findall(rest))
    # Everything must have been consumed by the parameters: no stray text.
    assert ",".join(f'{k}="{v}"' for k, v in params.items()) == rest, header
    return params


@dataclass
class ThreadServer:
    """A test app served from a background thread, for synchronous (Hypothesis) tests."""

    auth: EmulatorAuth | OpenAuth
    endpoint: str


@pytest.fixture
def thread_server() -> Iterator[ThreadServer]:
    config = make_config(anonymous_pull=True)
    auth = EmulatorAuth(config)
    with serve_app(lambda: build_app(auth)) as url:
        config.login_server = url.removeprefix("http://")
        yield ThreadServer(auth, url)
