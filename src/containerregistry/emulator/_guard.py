"""Connection hygiene of the emulator's HTTP server: read timeouts, a connection cap, the open-file limit.

A slowloris client opens many connections and trickles request headers (or a body) so slowly that it
never finishes; each such connection holds a file descriptor. aiohttp alone has no header or body read
timeout and accepts connections until `accept()` fails with EMFILE, after which asyncio stops accepting
for a second at a time: legitimate clients then wait in the backlog until they time out.

`GuardedSite` (an aiohttp site) wraps every connection's protocol in `_GuardedProtocol`, and
`ConnectionGuard` enforces `ConnectionLimits`:

- header timeout: once the first byte of a request has arrived, its headers must be complete within
  `header_timeout` seconds, however slowly bytes keep trickling in;
- idle timeout: a connection waiting for a request without having sent a byte of it (a new or kept-alive
  connection) is closed after `idle_timeout` seconds;
- body timeout: while a request body is being received and the handler waits for it, the client must
  send something at least every `body_idle_timeout` seconds (uploads may be long, never silent);
- connection cap: above `max_connections`, the connection that has waited longest for its request
  (partial headers first, then idle keep-alive connections) is closed to make room; connections whose
  requests are being served are never evicted. The default cap stays below the open-file limit, which
  `raise_open_file_limit` raises to the hard limit at startup, so `accept()` keeps working.

Whether aiohttp's handler is waiting for a request is read from its `_waiter` future, the same signal
aiohttp's own keep-alive check uses; the request body state from `_current_request.content`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["ConnectionGuard", "ConnectionLimits", "GuardedSite", "raise_open_file_limit"]

_log = logging.getLogger("containerregistry.emulator")

#: File descriptors kept free for the data directory (SQLite, blob and upload files) and the listener.
_FD_RESERVE = 256
_MAX_DEFAULT_CONNECTIONS = 10_000


def raise_open_file_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit where allowed; returns the soft limit.

    Returns a large number on platforms without `resource` (Windows), where the cap is not fd-bound.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return _MAX_DEFAULT_CONNECTIONS + _FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


@dataclass(frozen=True)
class ConnectionLimits:
    """Read timeouts (seconds) and the connection cap; see the module docstring.

    `max_connections=None` derives the cap from the open-file limit (minus a reserve, at most 10,000).
    """

    header_timeout: float = 10.0
    idle_timeout: float = 60.0
    body_idle_timeout: float = 60.0
    max_connections: int | None = None
    sweep_interval: float = 1.0

    def resolved_max_connections(self) -> int:
        if self.max_connections is not None:
            return max(1, self.max_connections)
        return max(16, min(raise_open_file_limit() - _FD_RESERVE, _MAX_DEFAULT_CONNECTIONS))


class _GuardedProtocol(asyncio.Protocol):
    """Forwards every protocol callback to aiohttp's handler and records when bytes arrive."""

    def __init__(self, inner: Any, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        now = guard.now()
        self.waiting_since = now  # when the connection last became idle (best known)
        self.header_started: float | None = None  # first byte of a still incomplete request
        self.last_data = now

    # -- what aiohttp's handler is doing -------------------------------------------------------

    def waiting_for_request(self) -> bool:
        waiter = getattr(self.inner, "_waiter", None)
        return waiter is not None and not waiter.done()

    def starving_body(self) -> bool:
        """A request is being served whose body is incomplete and whose received bytes are all read."""
        request = getattr(self.inner, "_current_request", None)
        content = getattr(request, "content", None)
        if content is None or content.is_eof():
            return False
        buffered = getattr(content, "_size", 0)
        return not buffered

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.guard.add(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        now = self.guard.now()
        self.last_data = now
        if self.header_started is None and self.waiting_for_request():
            self.header_started = now
        self.inner.data_received(data)
        if self.header_started is not None and not self.waiting_for_request():
            # aiohttp parsed a whole request (it resolves its waiter synchronously).
            self.header_started = None

    def eof_received(self) -> bool | None:
        result: bool | None = self.inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.remove(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def close(self, reason: str) -> None:
        _log.debug("closing a connection: %s", reason)
        self.guard.closed[reason] = self.guard.closed.get(reason, 0) + 1
        if self.transport is not None:
            self.transport.abort()


class ConnectionGuard:
    """Tracks the server's connections and enforces `ConnectionLimits` (see the module docstring).

    Attributes:
        closed: how many connections were closed, by reason (`header timeout`, `idle timeout`,
            `body timeout`, `connection cap`).
    """

    def __init__(self, limits: ConnectionLimits | None = None) -> None:
        self.limits = limits or ConnectionLimits()
        self.max_connections = self.limits.resolved_max_connections()
        self.connections: set[_GuardedProtocol] = set()
        self.closed: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None

    def now(self) -> float:
        loop = self._loop or asyncio.get_running_loop()
        return loop.time()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._sweeper = self._loop.create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def wrap(self, inner: Any) -> _GuardedProtocol:
        return _GuardedProtocol(inner, self)

    def add(self, connection: _GuardedProtocol) -> None:
        if len(self.connections) >= self.max_connections:
            self._evict()
        self.connections.add(connection)

    def remove(self, connection: _GuardedProtocol) -> None:
        self.connections.discard(connection)

    def _evict(self) -> None:
        """Make room: close the connection that has waited longest for its request."""
        best: tuple[int, float] | None = None
        victim: _GuardedProtocol | None = None
        for connection in self.connections:
            if not connection.waiting_for_request():
                continue
            # Partial headers (rank 0) go before idle connections (rank 1); older first.
            if connection.header_started is not None:
                key = (0, connection.header_started)
            else:
                key = (1, max(connection.waiting_since, connection.last_data))
            if best is None or key < best:
                best, victim = key, connection
        if victim is not None:
            self.connections.discard(victim)
            victim.close("connection cap")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.limits.sweep_interval)
            try:
                self.sweep()
            except Exception:  # pragma: no cover - never let the sweeper die
                _log.exception("connection sweep failed")

    def sweep(self) -> None:
        """Close connections over their timeouts (called every `sweep_interval` seconds)."""
        now = self.now()
        limits = self.limits
        for connection in list(self.connections):
            if connection.waiting_for_request():
                if connection.header_started is not None:
                    if now - connection.header_started > limits.header_timeout:
                        connection.close("header timeout")
                elif now - max(connection.waiting_since, connection.last_data) > limits.idle_timeout:
                    connection.close("idle timeout")
            else:
                # Serving a request: the idle clock restarts when it ends.
                connection.waiting_since = now
                connection.header_started = None
                if connection.starving_body() and now - connection.last_data > limits.body_idle_timeout:
                    connection.close("body timeout")


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are watched by a `ConnectionGuard`."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        guard: ConnectionGuard,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self.guard = guard

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        guard = self.guard
        self._server = await loop.create_server(
            lambda: guard.wrap(server()),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=True,
        )
        guard.start()

    async def stop(self) -> None:
        await self.guard.stop()
        await super().stop()
