"""The one loopback HTTP/1.1 fault proxy of the test suite: cuts, stalls, throttling and canned answers.

It sits between a client and a real registry on 127.0.0.1 and runs its own asyncio loop in a thread,
so sync and async clients (and `creg` subprocesses) can use it alike. It reads the client's request
heads (to know where each request starts, what it asks for and how long its body is) and forwards
everything else untouched. Faults:

- ``cut_up``: abort both connections after a number of the request's bytes went upstream;
- ``cut_down``: abort after a number of response bytes went to the client;
- ``stall_up`` / ``stall_down``: stop forwarding at a byte offset for `FaultConfig.stall_seconds`, then
  abort (pick it longer than the client's read timeout);
- ``status``: do not forward the request; read and drop its body, answer a status (an OCI error body
  by default, with or without a ``Retry-After``) and close the connection.

Where faults come from:

- `plan` (per request): each `PlannedFault` hits the next requests that match its method and path
  pattern (`times` of them, None: every one); its byte offset counts from the start of that request
  (up) or of its response (down). A byte-offset fault the request or response never reaches is dropped
  when the next request on the connection starts (and not counted).
- `connection_plan` (per connection): each new connection takes the next fault (a cut or stall whose
  offset counts from the connection's first byte in that direction, across all its requests); once
  used up, connections pass through.
- `FaultConfig.probability`: random faults at the start of each request, from a seeded RNG.

Counters (`faults` by kind, bytes each way, connections, requests by method, ranged GETs) are only
written by the proxy's loop. Everything is bounded: connections (`max_connections`), heads (64 KiB),
drained bodies (256 MiB) and stalls, and the loop (with every connection) stops when the context exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["KINDS", "FaultConfig", "FaultProxy", "PlannedFault", "run_fault_proxy"]

_PUMP = 256 * 1024
_MAX_HEAD = 64 * 1024
_MAX_DRAIN = 256 * 1024 * 1024
_STOP_TIMEOUT = 15.0
_CODES = {400: "UNKNOWN", 404: "NOT_FOUND", 429: "TOOMANYREQUESTS", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}
KINDS = ("cut_up", "cut_down", "stall", "status")  # what random faults choose from by default


@dataclass
class FaultConfig:
    """What the proxy does to every connection, and which random faults it injects.

    Attributes:
        probability: chance that a request gets a random fault.
        kinds: random fault kinds to choose from (uniformly); ``stall`` picks a direction at random.
        max_offset: byte offsets of random cuts and stalls in a response are log-uniform in
            [1, max_offset]; offsets in a request are uniform over its head and body.
        stall_seconds: how long a stall holds the connection before aborting it.
        statuses: statuses a random ``status`` fault answers with.
        retry_after: values of ``Retry-After`` a random ``status`` fault picks from (None: no header).
        throttle_bps: forward at most this many bytes per second per direction and connection.
        request_delay: hold every request head this long before forwarding it (latency).
        max_connections: connections beyond this many are refused (aborted at once): a bound, not a fault.
        seed: RNG seed (printed by the tests so a run can be replayed).
    """

    probability: float = 0.0
    kinds: tuple[str, ...] = KINDS
    max_offset: int = 4 * 1024 * 1024
    stall_seconds: float = 3.0
    statuses: tuple[int, ...] = (429, 500, 502, 503)
    retry_after: tuple[str | None, ...] = (None, "0", "1")
    throttle_bps: int | None = None
    request_delay: float = 0.0
    max_connections: int = 10_000
    seed: int = 0


@dataclass
class PlannedFault:
    """A fault forced on chosen requests (in `plan`) or on a new connection (in `connection_plan`).

    Attributes:
        kind: ``cut_up``, ``cut_down``, ``stall_up``, ``stall_down`` or ``status``.
        offset: bytes forwarded in the fault's direction before a cut or stall fires.
        method: only requests with this method (None: any).
        path: a regular expression searched in the request target (None: any).
        times: how many matching requests it hits (None: every one); ignored in `connection_plan`.
        status, retry_after: a ``status`` fault's answer and its ``Retry-After`` (None: no header).
        body, content_type: a ``status`` fault's body (None: an OCI error body naming the proxy).
    """

    kind: str
    offset: int = 0
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    status: int = 503
    retry_after: str | None = None
    body: bytes | None = None
    content_type: str = "application/json"

    def matches(self, method: str, target: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or re.search(self.path, target) is not None
        )


@dataclass
class _Pending:
    kind: str  # cut_up, cut_down, stall_up, stall_down
    threshold: int  # absolute byte count of the connection, in the fault's direction


@dataclass
class _Conn:
    client_writer: asyncio.StreamWriter
    upstream_writer: asyncio.StreamWriter
    up: int = 0
    down: int = 0
    pending: _Pending | None = None  # the current request's fault
    connection_fault: _Pending | None = None  # the connection's own fault (survives requests)
    aborted: bool = False

    def abort(self) -> None:
        if self.aborted:
            return  # already ended (a canned answer closes gracefully; keep its bytes)
        self.aborted = True
        for writer in (self.client_writer, self.upstream_writer):
            writer.transport.abort()

    def next_fault(self, direction: str) -> _Pending | None:
        """The nearest pending cut or stall in `direction`."""
        found = [
            p for p in (self.pending, self.connection_fault) if p is not None and p.kind.endswith(direction)
        ]
        return min(found, key=lambda p: p.threshold) if found else None


@dataclass
class FaultProxy:
    """A running proxy to 127.0.0.1:`upstream_port` (see the module docstring); counters are live."""

    upstream_port: int
    config: FaultConfig
    plan: list[PlannedFault] = field(default_factory=list)
    connection_plan: list[PlannedFault] = field(default_factory=list)
    port: int = 0
    connections: int = 0
    requests: int = 0
    ranged_gets: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    # -- decisions --------------------------------------------------------------------------------

    def _decide(self, method: str, target: str, head_len: int, body_len: int | None) -> PlannedFault | None:
        for i, planned in enumerate(self.plan):
            if planned.matches(method, target):
                if planned.times is not None:
                    planned.times -= 1
                    if planned.times <= 0:
                        del self.plan[i]
                return planned
        cfg = self.config
        if cfg.probability <= 0 or self._rng.random() >= cfg.probability:
            return None
        kind = self._rng.choice(cfg.kinds)
        if kind == "status":
            return PlannedFault(
                "status",
                status=self._rng.choice(cfg.statuses),
                retry_after=self._rng.choice(cfg.retry_after),
            )
        if kind == "cut_up" or (kind == "stall" and self._rng.random() < 0.5):
            offset = self._rng.randint(1, max(1, head_len + (body_len or 0)))
            return PlannedFault(kind if kind == "cut_up" else "stall_up", offset=offset)
        offset = int(2 ** self._rng.uniform(0, max(1.0, cfg.max_offset.bit_length())))
        return PlannedFault(kind if kind == "cut_down" else "stall_down", offset=offset)

    # -- pumps ------------------------------------------------------------------------------------

    async def _forward(self, conn: _Conn, writer: asyncio.StreamWriter, data: bytes, direction: str) -> None:
        """Write `data` in `direction`, firing a pending cut or stall at its byte offset."""
        if not data or conn.aborted:
            return
        pending = conn.next_fault(direction)
        moved = conn.up if direction == "up" else conn.down
        if pending is None or moved + len(data) < pending.threshold:
            await self._write(conn, writer, data, direction)
            return
        await self._write(conn, writer, data[: max(0, pending.threshold - moved)], direction)
        if pending.kind.startswith("stall"):
            self.faults["stall"] += 1
            await asyncio.sleep(self.config.stall_seconds)
        else:
            self.faults[pending.kind] += 1
        conn.pending = conn.connection_fault = None
        conn.abort()

    async def _write(self, conn: _Conn, writer: asyncio.StreamWriter, data: bytes, direction: str) -> None:
        if not data:
            return
        bps = self.config.throttle_bps
        step = len(data) if bps is None else max(1, min(len(data), bps // 20))
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            writer.write(piece)
            await writer.drain()
            if direction == "up":
                conn.up += len(piece)
                self.bytes_up += len(piece)
            else:
                conn.down += len(piece)
                self.bytes_down += len(piece)
            if bps is not None:
                await asyncio.sleep(len(piece) / bps)

    async def _pump_down(self, conn: _Conn, reader: asyncio.StreamReader) -> None:
        while not conn.aborted:
            data = await reader.read(_PUMP)
            if not data:
                with contextlib.suppress(OSError, RuntimeError):
                    conn.client_writer.write_eof()
                return
            await self._forward(conn, conn.client_writer, data, "down")

    async def _pump_up(self, conn: _Conn, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while not conn.aborted:
            # A request head: read until its blank line (bounded).
            while b"\r\n\r\n" not in buffer:
                data = await reader.read(_PUMP)
                if not data:
                    with contextlib.suppress(OSError, RuntimeError):
                        conn.upstream_writer.write_eof()
                    return
                buffer += data
                if len(buffer) > _MAX_HEAD and b"\r\n\r\n" not in buffer[:_MAX_HEAD]:
                    conn.abort()
                    return
            end = buffer.index(b"\r\n\r\n") + 4
            head, buffer = buffer[:end], buffer[end:]
            method, target, body_len, chunked, ranged = _parse_head(head)
            self.requests += 1
            self.methods[method] += 1
            if ranged:
                self.ranged_gets += 1
            if self.config.request_delay:
                await asyncio.sleep(self.config.request_delay)
            fault = self._decide(method, target, len(head), body_len)
            if fault is not None and fault.kind == "status":
                await self._answer(conn, reader, buffer, body_len, chunked, fault)
                return
            conn.pending = None
            if fault is not None:
                base = conn.up if fault.kind.endswith("_up") else conn.down
                conn.pending = _Pending(fault.kind, base + fault.offset)
            await self._forward(conn, conn.upstream_writer, head, "up")
            if chunked:
                # No framing we track: forward the rest of the connection as it comes.
                await self._forward(conn, conn.upstream_writer, buffer, "up")
                while not conn.aborted:
                    data = await reader.read(_PUMP)
                    if not data:
                        return
                    await self._forward(conn, conn.upstream_writer, data, "up")
                return
            remaining = body_len or 0
            while remaining and not conn.aborted:
                if not buffer:
                    buffer = await reader.read(min(_PUMP, remaining))
                    if not buffer:
                        return
                piece, buffer = buffer[:remaining], buffer[remaining:]
                remaining -= len(piece)
                await self._forward(conn, conn.upstream_writer, piece, "up")

    async def _answer(
        self,
        conn: _Conn,
        reader: asyncio.StreamReader,
        buffer: bytes,
        body_len: int | None,
        chunked: bool,
        fault: PlannedFault,
    ) -> None:
        """Refuse the request ourselves: drop its body, send the status, close."""
        if chunked or (body_len or 0) > _MAX_DRAIN:
            self.faults["cut_up"] += 1
            conn.abort()
            return
        remaining = (body_len or 0) - len(buffer)
        while remaining > 0:
            data = await reader.read(min(_PUMP, remaining))
            if not data:
                conn.abort()
                return
            remaining -= len(data)
        body = fault.body
        if body is None:
            code = _CODES.get(fault.status, "UNKNOWN")
            body = f'{{"errors":[{{"code":"{code}","message":"injected by the fault proxy"}}]}}'.encode()
        retry_after = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after is not None else ""
        head = (
            f"HTTP/1.1 {fault.status} {http.HTTPStatus(fault.status).phrase}\r\n"
            f"Content-Type: {fault.content_type}\r\nContent-Length: {len(body)}\r\n{retry_after}"
            "Connection: close\r\n\r\n"
        ).encode()
        self.faults[f"status_{fault.status}{'_retry_after' if fault.retry_after is not None else ''}"] += 1
        conn.client_writer.write(head + body)
        with contextlib.suppress(OSError, RuntimeError, ConnectionError):
            await conn.client_writer.drain()
        conn.aborted = True
        conn.upstream_writer.transport.abort()
        conn.client_writer.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.connections > self.config.max_connections:
            client_writer.transport.abort()
            return
        planned = self.connection_plan.pop(0) if self.connection_plan else None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        conn = _Conn(client_writer, upstream_writer)
        if planned is not None:
            conn.connection_fault = _Pending(planned.kind, planned.offset)

        async def guarded(coro: object) -> None:
            try:
                await coro  # type: ignore[misc]
            except (ConnectionError, OSError):
                conn.abort()

        up = asyncio.ensure_future(guarded(self._pump_up(conn, client_reader)))
        down = asyncio.ensure_future(guarded(self._pump_down(conn, upstream_reader)))
        try:
            await asyncio.wait({up, down}, return_when=asyncio.ALL_COMPLETED)
        except asyncio.CancelledError:
            pass  # the proxy is stopping: end quietly (asyncio logs a handler task's cancellation)
        finally:
            for task in (up, down):
                task.cancel()
            for writer in (client_writer, upstream_writer):
                writer.close()


def _parse_head(head: bytes) -> tuple[str, str, int | None, bool, bool]:
    """Method, target, Content-Length, whether the body is chunked, whether it asks a Range."""
    lines = head.decode("latin-1").split("\r\n")
    request_line = lines[0].split(" ")
    method = request_line[0].upper()
    target = request_line[1] if len(request_line) > 1 else ""
    length: int | None = None
    chunked = ranged = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length" and value.isdigit():
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "range" and value.lower().startswith("bytes="):
            ranged = True
    return method, target, length, chunked, ranged


@contextlib.contextmanager
def run_fault_proxy(
    upstream_port: int,
    config: FaultConfig | None = None,
    plan: list[PlannedFault] | None = None,
    *,
    connection_plan: list[PlannedFault] | None = None,
) -> Iterator[FaultProxy]:
    """Start a proxy on 127.0.0.1 to 127.0.0.1:`upstream_port`; stop it (and every connection) on exit.

    `plan` and `connection_plan` are copied: the caller's lists are not consumed.
    """
    proxy = FaultProxy(
        upstream_port=upstream_port,
        config=config or FaultConfig(),
        plan=[PlannedFault(**vars(p)) for p in plan or []],
        connection_plan=list(connection_plan or []),
    )
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.Server] = []

    async def start() -> None:
        server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
        proxy.port = server.sockets[0].getsockname()[1]
        servers.append(server)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("fault proxy did not start")
    try:
        yield proxy
    finally:

        async def stop() -> None:
            servers[0].close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(_STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
