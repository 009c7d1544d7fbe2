"""A raw-socket HTTP/1.1 test server with misbehaving endpoints, run in a background thread.

Raw sockets (not a framework) so a test can send exactly the bytes it needs: duplicate headers,
a body cut short, a reset, silence. Every wait is bounded so a broken test cannot hang.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

__all__ = ["EdgeServer", "Received"]

_IO_TIMEOUT = 10.0


@dataclass
class Received:
    """What the server saw of one request."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body_length: int = 0
    body_sha256: str = ""
    chunked: bool = False

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class _Request:
    received: Received
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    body_read: bool = False


Handler = Callable[[_Request], Awaitable[bool]]


def _response(status: int, reason: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class EdgeServer:
    """Loopback HTTP server; `url` is `http(s)://127.0.0.1:PORT`. Use as a context manager."""

    ssl_context: ssl.SSLContext | None = None
    requests: list[Received] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    url: str = ""

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def __enter__(self) -> EdgeServer:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=_IO_TIMEOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=_IO_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_IO_TIMEOUT)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        # Connections a test left open (a cut body, a client that went away) must not hold us up.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(100):  # bounded keep-alive
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _IO_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = [tuple(line.split(": ", 1)) for line in lines[1:] if line]
                received = Received(method, target, headers)  # type: ignore[arg-type]
                self.requests.append(received)
                path = target.split("?", 1)[0]
                if "://" in path:  # absolute form: we are being used as a proxy
                    path = "/proxied"
                self.hits[path] += 1
                request = _Request(received, reader, writer)
                # Route on the first segment; the rest makes per-test state (flaky counters) unique.
                handler = _ROUTES.get("/" + path.split("/")[1], _not_found)
                keep_alive = await handler(request)
                if not request.body_read:
                    await _read_body(request)
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            return
        finally:
            writer.close()


async def _read_body(request: _Request) -> None:
    received, reader = request.received, request.reader
    request.body_read = True
    digest = hashlib.sha256()
    length = received.header("Content-Length")
    if (received.header("Transfer-Encoding") or "").lower() == "chunked":
        received.chunked = True
        while True:
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), _IO_TIMEOUT)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                await asyncio.wait_for(reader.readuntil(b"\r\n"), _IO_TIMEOUT)
                break
            chunk = await asyncio.wait_for(reader.readexactly(size + 2), _IO_TIMEOUT)
            digest.update(chunk[:-2])
            received.body_length += size
    elif length is not None:
        remaining = int(length)
        while remaining:
            chunk = await asyncio.wait_for(reader.read(min(remaining, 1 << 20)), _IO_TIMEOUT)
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            digest.update(chunk)
            remaining -= len(chunk)
        received.body_length = int(length)
    received.body_sha256 = digest.hexdigest()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _not_found(req: _Request) -> bool:
    req.writer.write(_response(404, "Not Found", [("Content-Length", "0")]))
    return True


async def _multi(req: _Request) -> bool:
    headers = [
        ("Content-Length", "5"),
        ("WWW-Authenticate", 'Bearer realm="https://auth.example/token",service="reg"'),
        ("WWW-Authenticate", 'Basic realm="reg"'),
        ("X-Case-Kept", "yes"),
    ]
    req.writer.write(_response(200, "Very Fine", headers, b"hello"))
    return True


async def _echo(req: _Request) -> bool:
    await _read_body(req)
    r = req.received
    body = json.dumps(
        {
            "method": r.method,
            "target": r.target,
            "length": r.body_length,
            "sha256": r.body_sha256,
            "chunked": r.chunked,
            "content_length": r.header("Content-Length"),
            "transfer_encoding": r.header("Transfer-Encoding"),
        }
    ).encode()
    req.writer.write(
        _response(200, "OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)
    )
    return True


async def _cut(req: _Request) -> bool:
    req.writer.write(_response(200, "OK", [("Content-Length", "1000000")], b"x" * 1000))
    await req.writer.drain()
    return False


async def _reset_mid_body(req: _Request) -> bool:
    await _read_body(req)
    req.writer.write(_response(200, "OK", [("Content-Length", "1000000")], b"x" * 1000))
    await req.writer.drain()
    await asyncio.sleep(0.05)
    _reset(req.writer)
    return False


async def _slow_body(req: _Request) -> bool:
    req.writer.write(_response(200, "OK", [("Content-Length", "10")], b"12345"))
    await req.writer.drain()
    await asyncio.sleep(3)
    req.writer.write(b"67890")
    return True


async def _slow_headers(req: _Request) -> bool:
    await _read_body(req)
    await asyncio.sleep(3)
    req.writer.write(_response(200, "OK", [("Content-Length", "0")]))
    return True


async def _flaky(req: _Request) -> bool:
    """503 with Retry-After for the first two requests of a given path, then 200."""
    if req.received.header("X-Fail-Count") is not None:
        failures = int(req.received.header("X-Fail-Count") or "0")
    else:
        failures = 2
    path = req.received.target.split("?", 1)[0]
    retry_after = req.received.header("X-Retry-After") or "0"
    await _read_body(req)
    if _flaky_counts[path] < failures:
        _flaky_counts[path] += 1
        body = b'{"errors":[{"code":"UNAVAILABLE"}]}'
        req.writer.write(
            _response(
                503,
                "Service Unavailable",
                [("Retry-After", retry_after), ("Content-Length", str(len(body)))],
                body,
            )
        )
    else:
        req.writer.write(_response(200, "OK", [("Content-Length", "2")], b"ok"))
    return True


async def _drop_first(req: _Request) -> bool:
    """Close the connection without answering on the first request, answer afterwards."""
    await _read_body(req)
    path = req.received.target.split("?", 1)[0]
    if _flaky_counts[path] < int(req.received.header("X-Drops") or "0"):
        _flaky_counts[path] += 1
        _reset(req.writer)
        return False
    req.writer.write(_response(200, "OK", [("Content-Length", "2")], b"ok"))
    return True


async def _redirect(req: _Request) -> bool:
    req.writer.write(_response(307, "Temporary Redirect", [("Location", "/multi"), ("Content-Length", "0")]))
    return True


async def _head(req: _Request) -> bool:
    req.writer.write(
        _response(200, "OK", [("Content-Length", "12345"), ("Docker-Content-Digest", "sha256:abc")])
    )
    return True


async def _no_content(req: _Request) -> bool:
    req.writer.write(_response(204, "No Content", [("X-Extra", "1")]))
    return True


async def _not_modified(req: _Request) -> bool:
    req.writer.write(_response(304, "Not Modified", [("ETag", '"x"')]))
    return True


async def _gzip(req: _Request) -> bool:
    body = gzip.compress(b"plain text " * 100)
    req.writer.write(
        _response(200, "OK", [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))], body)
    )
    return True


async def _upload_cut(req: _Request) -> bool:
    """Read 64 KiB of a large upload, then reset the connection."""
    await asyncio.wait_for(req.reader.readexactly(64 * 1024), _IO_TIMEOUT)
    req.body_read = True
    _reset(req.writer)
    return False


async def _stall_upload(req: _Request) -> bool:
    """Never read the request body and never answer (until the test is long over)."""
    req.body_read = True
    await asyncio.sleep(8)
    return False


async def _hangup(req: _Request) -> bool:
    """Read the request, then close cleanly (FIN) without answering."""
    await _read_body(req)
    return False


async def _proxied(req: _Request) -> bool:
    body = f"proxied {req.received.target}".encode()
    req.writer.write(_response(200, "OK", [("Content-Length", str(len(body)))], body))
    return True


_flaky_counts: Counter[str] = Counter()

_ROUTES: dict[str, Handler] = {
    "/multi": _multi,
    "/echo": _echo,
    "/cut": _cut,
    "/reset": _reset_mid_body,
    "/slow-body": _slow_body,
    "/slow-headers": _slow_headers,
    "/drop": _drop_first,
    "/redirect": _redirect,
    "/head": _head,
    "/no-content": _no_content,
    "/not-modified": _not_modified,
    "/gzip": _gzip,
    "/upload-cut": _upload_cut,
    "/proxied": _proxied,
    "/hangup": _hangup,
    "/stall-upload": _stall_upload,
    "/flaky": _flaky,
}
