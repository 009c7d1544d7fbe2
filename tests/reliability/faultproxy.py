"""A loopback HTTP/1.1 fault proxy for reliability tests: cuts, stalls and canned error answers.

It sits between a client and a registry on 127.0.0.1 and runs its own asyncio loop in a thread, so
sync and async clients can use it alike. It reads the client's request heads (to know where each
request starts and how long its body is) and forwards everything else untouched. At the start of each
request it decides, with a seeded RNG and probability `FaultConfig.probability`, on one fault:

- ``cut_up``: abort both connections after a random number of the request's bytes went upstream;
- ``cut_down``: abort after a random number of response bytes went to the client;
- ``stall``: stop forwarding (both ways) at a random byte offset for `stall_seconds`, then abort
  (pick it longer than the client's read timeout);
- ``status``: do not forward the request; read and drop its body, answer 429/500/502/503 with an OCI
  error body (with or without a small ``Retry-After``) and close the connection.

A byte-offset fault that the response or request never reaches is not injected (and not counted).
`plan` forces faults on the next requests of a given method, for deterministic tests. Counters
(`faults` by kind, bytes each way, requests, ranged GETs) are only written by the proxy's loop.
Everything is bounded: heads are capped at 64 KiB, stalls end, the loop stops with the context.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["FaultConfig", "FaultProxy", "PlannedFault", "run_fault_proxy"]

_PUMP = 256 * 1024
_MAX_HEAD = 64 * 1024
_MAX_DRAIN = 256 * 1024 * 1024
_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_CODES = {429: "TOOMANYREQUESTS", 500: "UNKNOWN", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}
KINDS = ("cut_up", "cut_down", "stall", "status")


@dataclass
class FaultConfig:
    """What the proxy injects.

    Attributes:
        probability: chance that a request gets a fault.
        kinds: fault kinds to choose from (uniformly).
        max_offset: byte offsets of cuts and stalls in the response are log-uniform in [1, max_offset];
            offsets in a request are uniform over its head and body.
        stall_seconds: how long a stall holds the connection before aborting it.
        statuses: statuses a ``status`` fault answers with.
        retry_after: values of ``Retry-After`` to pick from (None: no header).
        throttle_bps: forward at most this many bytes per second per direction and connection.
        request_delay: hold every request head this long before forwarding it (latency).
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
    seed: int = 0


@dataclass
class PlannedFault:
    """A fault forced on the next request whose method is `method` (None: any request)."""

    kind: str
    offset: int = 0
    method: str | None = None
    status: int = 503
    retry_after: str | None = None


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
    pending: _Pending | None = None
    aborted: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def abort(self) -> None:
        if self.aborted:
            return  # already ended (a canned answer closes gracefully; keep its bytes)
        self.aborted = True
        for writer in (self.client_writer, self.upstream_writer):
            writer.transport.abort()
        self.done.set()


@dataclass
class FaultProxy:
    upstream_port: int
    config: FaultConfig
    plan: list[PlannedFault] = field(default_factory=list)
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

    def _decide(self, conn: _Conn, method: str, head_len: int, body_len: int | None) -> PlannedFault | None:
        for i, planned in enumerate(self.plan):
            if planned.method is None or planned.method == method:
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
        while data and not conn.aborted:
            pending = conn.pending
            moved = conn.up if direction == "up" else conn.down
            if (
                pending is not None
                and pending.kind.endswith(direction)
                and moved + len(data) >= pending.threshold
            ):
                head = data[: max(0, pending.threshold - moved)]
                await self._write(conn, writer, head, direction)
                conn.pending = None
                if pending.kind.startswith("stall"):
                    self.faults["stall"] += 1
                    await asyncio.sleep(self.config.stall_seconds)
                else:
                    self.faults[pending.kind] += 1
                conn.abort()
                return
            await self._write(conn, writer, data, direction)
            return

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
            method, body_len, chunked, ranged = _parse_head(head)
            self.requests += 1
            self.methods[method] += 1
            if ranged:
                self.ranged_gets += 1
            if self.config.request_delay:
                await asyncio.sleep(self.config.request_delay)
            fault = self._decide(conn, method, len(head), body_len)
            if fault is not None and fault.kind == "status":
                await self._answer(conn, reader, buffer, body_len, chunked, fault)
                return
            conn.pending = None
            if fault is not None:
                if fault.kind in ("cut_up", "stall_up"):
                    conn.pending = _Pending(fault.kind, conn.up + fault.offset)
                else:
                    conn.pending = _Pending(fault.kind, conn.down + fault.offset)
            await self._forward(conn, conn.upstream_writer, head, "up")
            if chunked:
                # No framing we track: forward the rest of the connection as it comes.
                if buffer:
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
        code = _CODES[fault.status]
        body = f'{{"errors":[{{"code":"{code}","message":"injected by the fault proxy"}}]}}'.encode()
        retry_after = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after is not None else ""
        head = (
            f"HTTP/1.1 {fault.status} {_REASONS[fault.status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{retry_after}Connection: close\r\n\r\n"
        ).encode()
        self.faults[f"status_{fault.status}{'_retry_after' if fault.retry_after is not None else ''}"] += 1
        conn.client_writer.write(head + body)
        with contextlib.suppress(OSError, RuntimeError, ConnectionError):
            await conn.client_writer.drain()
        conn.aborted = True
        conn.upstream_writer.transport.abort()
        conn.client_writer.close()
        conn.done.set()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        conn = _Conn(client_writer, upstream_writer)

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


def _parse_head(head: bytes) -> tuple[str, int | None, bool, bool]:
    """Method, Content-Length, whether the body is chunked, whether it asks a Range."""
    lines = head.decode("latin-1").split("\r\n")
    method = lines[0].split(" ", 1)[0].upper()
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
    return method, length, chunked, ranged


@contextlib.contextmanager
def run_fault_proxy(
    upstream_port: int, config: FaultConfig | None = None, plan: list[PlannedFault] | None = None
) -> Iterator[FaultProxy]:
    """Start a proxy to 127.0.0.1:`upstream_port`; stop it (and every connection) on exit."""
    proxy = FaultProxy(upstream_port=upstream_port, config=config or FaultConfig(), plan=list(plan or []))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.base_events.Server] = []

    async def start() -> None:
        server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
        proxy.port = server.sockets[0].getsockname()[1]
        servers.append(server)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="reliability-fault-proxy", daemon=True)
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

        asyncio.run_coroutine_threadsafe(stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
