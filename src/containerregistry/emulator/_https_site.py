"""The listener of the emulator's TLS port: TLS connections are served, plain http gets a 400.

`ssl=` on an asyncio server makes a plain-http request fail the handshake, and the client sees the
connection close without an answer. Go servers (and so Distribution) instead answer such a request with
`400 Bad Request` and "Client sent an HTTP request to an HTTPS server.", which tells the user what is
wrong. `HttpsOnlySite` does the same: it accepts connections itself, peeks at the first byte without
consuming it, hands TLS connections (a handshake record starts with 0x16) to aiohttp with the SSL
context, and answers anything else with that 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any

from aiohttp import web

from ._guard import ConnectionGuard

__all__ = ["PLAIN_HTTP_ANSWER", "HttpsOnlySite"]

PLAIN_HTTP_BODY = b"Client sent an HTTP request to an HTTPS server.\n"
PLAIN_HTTP_ANSWER = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(PLAIN_HTTP_BODY)).encode() + b"\r\n\r\n" + PLAIN_HTTP_BODY
)
_TLS_HANDSHAKE = 0x16
_FIRST_BYTE_TIMEOUT = 30.0  # seconds a new connection may stay silent
_PLAIN_REQUEST_LIMIT = 64 * 1024  # bytes of a plain-http request read before answering
_PLAIN_TIMEOUT = 5.0  # seconds to read a plain-http request head and to let the client read the answer
_HANDSHAKE_TIMEOUT = 60.0


class _Listener:
    """What aiohttp's runner expects of a site's server: `sockets`, `close()`, `wait_closed()`."""

    def __init__(self, sockets: list[socket.socket], tasks: list[asyncio.Task[None]]) -> None:
        self.sockets = sockets
        self._tasks = tasks
        self._connections: set[asyncio.Task[None]] = set()

    def track(self, task: asyncio.Task[None]) -> None:
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    def close(self) -> None:
        for task in (*self._tasks, *self._connections):
            task.cancel()
        for sock in self.sockets:
            sock.close()

    async def wait_closed(self) -> None:
        await asyncio.gather(*self._tasks, *self._connections, return_exceptions=True)


class HttpsOnlySite(web.BaseSite):
    """A TCP site serving TLS that answers plain http with a 400 (see the module docstring).

    Needs a loop with `add_reader` (every loop but Windows' proactor); `start_site` falls back to
    `web.TCPSite` elsewhere.
    """

    __slots__ = ("_guard", "_host", "_listener", "_port", "_reuse_address")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        *,
        ssl_context: ssl.SSLContext,
        backlog: int = 128,
        reuse_address: bool = True,
        guard: ConnectionGuard | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._guard = guard
        self._host = host
        self._port = port
        self._reuse_address = reuse_address
        self._listener: _Listener | None = None

    @property
    def name(self) -> str:
        host = self._host or "0.0.0.0"
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            self._host or None, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        sockets: list[socket.socket] = []
        seen: set[tuple[int, Any]] = set()
        try:
            for family, kind, proto, _, address in infos:
                if (family, address) in seen:
                    continue
                seen.add((family, address))
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                if self._reuse_address:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
                sock.listen(self._backlog)
                sock.setblocking(False)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        listener = _Listener(sockets, [])
        listener._tasks.extend(loop.create_task(self._accept(listener, sock)) for sock in sockets)
        self._listener = listener
        self._server = listener  # type: ignore[assignment]  # duck-typed: sockets/close/wait_closed
        if self._guard is not None:
            self._guard.start()

    async def stop(self) -> None:
        if self._guard is not None:
            await self._guard.stop()
        await super().stop()
        if self._listener is not None:
            await self._listener.wait_closed()

    async def _accept(self, listener: _Listener, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError:
                # EMFILE and friends: back off instead of spinning; a closed socket ends the loop.
                if sock.fileno() < 0:
                    return
                await asyncio.sleep(0.1)
                continue
            conn.setblocking(False)
            listener.track(loop.create_task(self._route(conn)))

    async def _route(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        handed_over = False
        try:
            first = await asyncio.wait_for(_peek(loop, conn), _FIRST_BYTE_TIMEOUT)
            if first and first[0] == _TLS_HANDSHAKE:
                server = self._runner.server
                assert server is not None
                guard = self._guard
                factory: Any = server if guard is None else (lambda: guard.wrap(server()))
                await loop.connect_accepted_socket(
                    factory, conn, ssl=self._ssl_context, ssl_handshake_timeout=_HANDSHAKE_TIMEOUT
                )
                handed_over = True
            elif first:
                await _answer_plain_http(loop, conn)
        except (OSError, ssl.SSLError, asyncio.TimeoutError):
            pass  # the client went away, never spoke, or failed the handshake: nothing to answer
        finally:
            if not handed_over:
                conn.close()


async def _peek(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> bytes:
    """The first bytes the client sent, left in the socket for whoever reads next (b"" = it closed)."""
    for _ in range(1000):  # each pass waits for readability; a closed or sending client ends it at once
        try:
            return conn.recv(8, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            pass
        readable: asyncio.Future[None] = loop.create_future()
        fd = conn.fileno()
        loop.add_reader(fd, _settle, readable)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
    return b""


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _answer_plain_http(loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
    """Read the request head (so closing does not reset the connection under the answer), answer 400."""

    async def read_head() -> None:
        received = b""
        while b"\r\n\r\n" not in received and len(received) < _PLAIN_REQUEST_LIMIT:
            chunk = await loop.sock_recv(conn, 65536)
            if not chunk:
                return
            received += chunk

    async def drain() -> None:
        for _ in range(64):  # until the client closes its side (it has read the answer)
            if not await loop.sock_recv(conn, 65536):
                return

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(read_head(), _PLAIN_TIMEOUT)
    await asyncio.wait_for(loop.sock_sendall(conn, PLAIN_HTTP_ANSWER), _PLAIN_TIMEOUT)
    conn.shutdown(socket.SHUT_WR)
    with contextlib.suppress(asyncio.TimeoutError, OSError):
        await asyncio.wait_for(drain(), _PLAIN_TIMEOUT)
