"""An async httpx transport backed by an aiohttp `ClientSession`.

httpx's own async transport reads in 64 KiB pieces through anyio; aiohttp's C parser with large
reads is about six times faster on large blobs (see DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable
from typing import Any

import aiohttp
import httpx
from yarl import URL

from ._policy import scrub
from ._proxy import ProxyResolver
from ._tls import CertTypes, LazySSLContext, VerifyTypes

__all__ = ["AiohttpTransport"]

#: The session's `read_bufsize` (aiohttp's flow-control low-water mark; it pauses reading the socket
#: at twice this much unread, so a connection holds at most that plus one socket read: ~1.5 MiB). Bodies
#: are handed out as aiohttp received them (`StreamReader.readchunk`: each buffer the parser produced, at
#: most what one socket read returned), never joined: joining them into 1 MiB pieces (`iter_chunked`)
#: copied every byte once more on the event loop. At 1 MiB (3 MiB per connection) a download on 8
#: connections grew the process by 65 MiB; at 256 KiB by 47 MiB, as fast (benchmarks/transfer.py).
READ_CHUNK_SIZE = 1 << 18

#: Bytes one socket read may return on a plain-TCP connection. asyncio's selector transport reads at
#: most 256 KiB at a time (its `max_size`); when more is waiting, one larger read replaces several, and
#: with it several parser calls and chunks handed out: the event loop's CPU time per GiB downloaded to a
#: file on 8 connections from Distribution fell from 0.72 to 0.46 s (medians of 5; benchmarks/loop_lag.py
#: prints it as `loop cpu`). A read still returns only what has arrived.
SOCKET_READ_SIZE = 1 << 20

#: Headers aiohttp would otherwise add on its own; httpx already decided what to send.
_SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})

_ConnectionTimeoutError: type[BaseException] | None = getattr(aiohttp, "ConnectionTimeoutError", None)


class _BodyTracker:
    """Async twin of the urllib3 transport's tracker: how far sending got, and the caller's own errors."""

    __slots__ = ("_source", "error", "finished", "started", "writing_since")

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._source = source
        self.started = False
        self.finished = False
        self.error: BaseException | None = None
        #: When the chunk aiohttp is writing now was handed over (None: not writing).
        self.writing_since: float | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        loop = asyncio.get_running_loop()
        try:
            async for chunk in self._source:
                if chunk:
                    self.writing_since = loop.time()
                    yield chunk
                    # aiohttp asks for the next chunk once this one is written (and drained).
                    self.writing_since = None
        except Exception as exc:
            self.error = exc
            raise
        finally:
            self.writing_since = None
        self.finished = True


async def _with_write_timeout(
    send: Awaitable[aiohttp.ClientResponse], tracker: _BodyTracker, write_timeout: float
) -> aiohttp.ClientResponse:
    """Await `send`, failing with `TimeoutError` when one body chunk takes over `write_timeout` to go out.

    aiohttp has no write timeout, and it suspends its read timeout while a body is being sent, so
    a peer that stops reading would stall an upload forever.
    """
    task = asyncio.ensure_future(send)
    loop = asyncio.get_running_loop()
    try:
        while True:
            since = tracker.writing_since
            wait = write_timeout if since is None else since + write_timeout - loop.time()
            if wait <= 0:
                raise asyncio.TimeoutError(
                    f"sending one chunk of the request body took over {write_timeout} s"
                )
            done, _ = await asyncio.wait({task}, timeout=wait)
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def _map_error(
    exc: BaseException, request: httpx.Request, body: _BodyTracker | None, *, responded: bool
) -> httpx.TransportError:
    """Translate an aiohttp/asyncio exception to the matching httpx exception."""
    message = scrub(str(exc)) or exc.__class__.__name__
    sending = body is not None and body.started and not body.finished and not responded
    if isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        return httpx.ProxyError(message, request=request)
    if _ConnectionTimeoutError is not None and isinstance(exc, _ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ServerFingerprintMismatch, ssl.SSLError)):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        if sending:
            return httpx.WriteTimeout(message, request=request)
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    if sending:
        return httpx.WriteError(message, request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        # The peer hung up before a complete response (headers or body): a framing violation,
        # the same class httpx's own transport reports.
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        # Malformed status line or headers.
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


_AIOHTTP_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class _AiohttpResponseStream(httpx.AsyncByteStream):
    """The response body, in the buffers aiohttp received it in (no copy), never decoded."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request
        self._complete = False
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                # One received buffer as it is (a piece of it at an HTTP chunk's end). An empty piece
                # is the end of an HTTP chunk or of the body (aiohttp's empty body reader says
                # (b"", True) once it has said (b"", False), so `at_eof` decides).
                chunk, end_of_http_chunk = await content.readchunk()
                if chunk:
                    yield chunk
                elif not end_of_http_chunk or content.at_eof():
                    break
        except _AIOHTTP_ERRORS as exc:
            raise _map_error(exc, self._request, None, responded=True) from exc
        self._complete = True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._complete:
            self._response.release()
        else:
            # Unread bytes would poison the connection for its next user: drop the connection.
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` that sends requests with aiohttp.

    One `aiohttp.ClientSession` is created lazily in the running event loop. A session belongs to
    its loop, so when the transport is used from another loop (e.g. one loop per test), a new
    session is created there and the old one is closed if its loop is gone.

    Request bodies are streamed as they are produced (with the request's `Content-Length` when it
    has one, chunked otherwise); response bodies are handed out in the buffers aiohttp received
    (without joining them) and never decompressed
    here (httpx's `Response.iter_bytes()` still decodes a `Content-Encoding`; `iter_raw()` gives the
    exact bytes). Redirects are never followed and nothing is retried; wrap it in
    `AsyncRetryTransport` for that (aiohttp's own resend-once-on-disconnect is switched off, so
    a pooled connection the server closed surfaces as `httpx.RemoteProtocolError`, which the
    retry transport retries). Cookies are ignored; `~/.netrc` is never read.

    aiohttp has no write timeout; for streamed bodies this transport enforces httpx's `write`
    timeout per chunk itself. Bytes bodies are handed to aiohttp whole and only covered by the
    read timeout.

    Args:
        verify: `True` to verify TLS against the system and certifi CAs, `False` to skip
            verification, or the path of a CA bundle to trust instead.
        cert: client certificate: a PEM path with cert and key, or `(cert_path, key_path)`.
        trust_env: use proxies from `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`, honouring `NO_PROXY`.
        pool_maxsize: maximum number of simultaneous connections.
    """

    def __init__(
        self,
        *,
        verify: VerifyTypes = True,
        cert: CertTypes = None,
        trust_env: bool = True,
        pool_maxsize: int = 32,
    ) -> None:
        self._tls = LazySSLContext(verify, cert)
        self._pool_maxsize = pool_maxsize
        self._proxies = ProxyResolver(trust_env=trust_env)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._keeper: AsyncGenerator[None, None] | None = None

    async def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        if session is not None and self._loop is not None and self._keeper is not None:
            _abandon(session, self._loop, self._keeper)
        connector = aiohttp.TCPConnector(limit=self._pool_maxsize)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            read_bufsize=READ_CHUNK_SIZE,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        if hasattr(session, "_retry_connection"):
            # aiohttp silently resends an idempotent request once when the server disconnects;
            # retries belong to RetryTransport (policy, backoff, counters, per-request opt-out).
            session._retry_connection = False
        # The loop finalizes unfinished async generators when it shuts down (`asyncio.run` and
        # pytest-asyncio both do), which gives the session a graceful close inside its own loop
        # even when the caller never closes the client.
        keeper = _close_at_loop_shutdown(session, loop)
        await keeper.__anext__()
        self._session, self._loop, self._keeper = session, loop, keeper
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and return the response with its body still on the wire."""
        session = await self._get_session()

        headers: list[tuple[str, str]] = []
        for key, value in request.headers.multi_items():
            # aiohttp frames a streamed body itself; a Transfer-Encoding header from httpx would
            # make it refuse the request.
            if key.lower() != "transfer-encoding":
                headers.append((key, value))

        tracker: _BodyTracker | None = None
        data: Any
        stream = request.stream
        if isinstance(stream, httpx.ByteStream):
            # read(), not .content: httpx builds a redirected request around the original's stream
            # without reading it, and .content of such a request raises RequestNotRead.
            data = request.read() or None
        else:
            tracker = _BodyTracker(stream)  # type: ignore[arg-type]
            data = tracker.__aiter__()

        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        connect = timeout.get("connect")
        pool = timeout.get("pool")
        client_timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's `connect` covers waiting for a pooled connection plus connecting.
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=timeout.get("read"),
        )
        url = request.url
        # Userinfo never goes on the wire: httpx has made it an Authorization header (the urllib3 and
        # httpcore transports send only the target too), and aiohttp refuses a URL with userinfo next to
        # an Authorization header (a ValueError, not an httpx error).
        target = url.copy_with(userinfo=b"") if url.userinfo else url
        write_timeout = timeout.get("write")
        try:
            send = session.request(
                request.method,
                URL(str(target), encoded=True),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=client_timeout,
                proxy=self._proxies.proxy_for(url.scheme, url.host),
                # The context is only built for https; for plain http aiohttp ignores `ssl`.
                ssl=self._tls.get() if url.scheme == "https" else True,
            )
            if tracker is not None and write_timeout is not None:
                response = await _with_write_timeout(send, tracker, write_timeout)
            else:
                response = await send
        except _AIOHTTP_ERRORS as exc:
            if tracker is not None and tracker.error is not None:
                raise tracker.error from None
            raise _map_error(exc, request, tracker, responded=False) from exc

        _widen_reads(response)
        version = response.version
        http_version = f"HTTP/{version.major}.{version.minor}".encode() if version else b"HTTP/1.1"
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_AiohttpResponseStream(response, request),
            extensions={
                "http_version": http_version,
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def aclose(self) -> None:
        """Close the session and its connections."""
        session, loop, keeper = self._session, self._loop, self._keeper
        self._session = self._loop = self._keeper = None
        if session is None or loop is None or keeper is None:
            return
        if loop is asyncio.get_running_loop():
            await keeper.aclose()
        else:
            _abandon(session, loop, keeper)


def _widen_reads(response: aiohttp.ClientResponse) -> None:
    """Let the connection's socket reads return up to `SOCKET_READ_SIZE` bytes.

    Only asyncio's own plain-TCP transport has the `max_size` it reads with; a TLS transport, uvloop's
    or any other is left as it is.
    """
    connection = response.connection
    transport = connection.transport if connection is not None else None
    size = getattr(transport, "max_size", None)
    if isinstance(size, int) and size < SOCKET_READ_SIZE:
        transport.max_size = SOCKET_READ_SIZE  # type: ignore[union-attr]


async def _close_at_loop_shutdown(
    session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop
) -> AsyncGenerator[None, None]:
    """Suspends until finalized, then closes `session` if that happens inside `loop`."""
    try:
        yield
    finally:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # Finalized by hand from elsewhere (see `_abandon`): nothing of `loop` can be awaited.
        if running is loop and not session.closed:
            await session.close()


def _abandon(
    session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop, keeper: AsyncGenerator[None, None]
) -> None:
    """Dispose of a session that belongs to another event loop than the running one."""
    if session.closed:
        return
    if loop.is_running() and not loop.is_closed():
        # Alive in another thread: close it there.
        asyncio.run_coroutine_threadsafe(keeper.aclose(), loop)
        return
    # The loop is stopped or closed without having finalized async generators. Finish the keeper
    # by hand (its finalizer would otherwise try to schedule on that loop) and mark session and
    # connector closed; the sockets are reclaimed when their transports are collected.
    step = keeper.aclose().__await__()
    with contextlib.suppress(StopIteration, RuntimeError):
        step.send(None)
    connector = session.connector
    session.detach()
    if connector is not None:
        with contextlib.suppress(Exception):
            connector._close()
