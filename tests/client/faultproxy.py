"""A loopback TCP proxy that cuts connections at chosen byte offsets.

It sits between a client and a real registry. Each new connection takes the next planned fault,
`("down", n)` (cut after forwarding n bytes from the registry to the client) or `("up", n)` (after n
bytes from the client to the registry); when the plan is used up, connections pass through untouched.
Runs its own event loop in a thread, so sync and async tests can use it alike. Loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["FaultProxy", "run_fault_proxy"]

_PUMP = 256 * 1024


@dataclass
class FaultProxy:
    upstream_port: int
    plan: list[tuple[str, int]]
    port: int = 0
    connections: int = 0
    faults_injected: int = 0
    bytes_down: int = 0
    bytes_up: int = 0
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        fault = self.plan.pop(0) if self.plan else None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_writer.close()
            return
        cut = asyncio.Event()

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
            moved = 0
            limit = fault[1] if fault and fault[0] == direction else None
            try:
                while not cut.is_set():
                    want = _PUMP if limit is None else max(1, min(_PUMP, limit - moved))
                    data = await reader.read(want)
                    if not data:
                        break
                    writer.write(data)
                    await writer.drain()
                    moved += len(data)
                    if direction == "down":
                        self.bytes_down += len(data)
                    else:
                        self.bytes_up += len(data)
                    if limit is not None and moved >= limit:
                        self.faults_injected += 1
                        cut.set()
                        break
            except (ConnectionError, OSError):
                pass
            finally:
                if cut.is_set():
                    for w in (client_writer, upstream_writer):
                        w.transport.abort()
                else:
                    with contextlib.suppress(OSError, RuntimeError):
                        writer.write_eof()

        await asyncio.gather(
            pump(client_reader, upstream_writer, "up"),
            pump(upstream_reader, client_writer, "down"),
        )
        for w in (client_writer, upstream_writer):
            w.close()


@contextlib.contextmanager
def run_fault_proxy(upstream_port: int, plan: list[tuple[str, int]]) -> Iterator[FaultProxy]:
    """Start a proxy to 127.0.0.1:`upstream_port` with the given fault plan; stop it on exit."""
    proxy = FaultProxy(upstream_port=upstream_port, plan=list(plan))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    server_box: list[asyncio.base_events.Server] = []

    async def start() -> None:
        server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
        proxy.port = server.sockets[0].getsockname()[1]
        server_box.append(server)

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
            server_box[0].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
