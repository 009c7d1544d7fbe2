"""Small HTTP servers written in the tests, on loopback: aiohttp in a background thread.

`serve(handler)` answers every method and path with one handler (a hostile registry, a storage host, a
credential helper's registry...); `serve_app(make_app)` serves a whole `aiohttp.web.Application` (the
ACR fake, the emulator's app under test). Both yield ``http://HOST:PORT`` (127.0.0.1 by default) and
stop the server, its connections and its loop when the context exits. `Recorder` keeps what a handler saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["Handler", "Recorder", "serve", "serve_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorder:
    """What a server saw: (method, path, headers) per request."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def add(self, request: web.Request) -> None:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))


@contextlib.contextmanager
def serve(handler: Handler, *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `handler` for every path and method; yields `http://HOST:PORT`."""

    def make_app() -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        return app

    with serve_app(make_app, host=host) as url:
        yield url


@contextlib.contextmanager
def serve_app(make_app: Callable[[], web.Application], *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the application `make_app()` builds (called on the server's loop); yields `http://HOST:PORT`."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, int] = {}
    errors: list[BaseException] = []

    async def start() -> web.AppRunner:
        runner = web.AppRunner(make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, 0)
        await site.start()
        address = runner.addresses[0]
        state["port"] = int(address[1])
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            runner = loop.run_until_complete(start())
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    thread = threading.Thread(target=run, name="test-server", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise TimeoutError("test server did not start")
    if errors:
        raise RuntimeError("test server did not start") from errors[0]
    try:
        yield f"http://{host}:{state['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
