#!/usr/bin/env python3
"""A userspace shaping TCP proxy on 127.0.0.1 that makes loopback look like a WAN link (used by wan.py).

    python benchmarks/wan_proxy.py --upstream 127.0.0.1:5000 --rtt-ms 20 \\
        --down-rate 25e6 --aggregate-rate 200e6 [--up-rate 25e6]

Prints one JSON line `{"port": N}` on stdout once it listens, then forwards until SIGTERM/SIGINT.
Plain TCP: TLS passes through it end to end.

What it models, per accepted connection:
- Delay: every chunk read from either side is released to the other side at arrival + RTT/2, so a
  request/response round trip costs one RTT more than on loopback. Opening the upstream connection
  waits one RTT first (the TCP handshake a real link costs before the client can send anything).
- Bandwidth: a token bucket per connection on downloads (server -> client, `--down-rate`), and one
  aggregate bucket per direction shared by all connections (`--aggregate-rate`: the user's link is full
  duplex, so downloads and uploads each get the aggregate). Uploads (client -> server) are capped per
  connection only with `--up-rate`. Rates are bytes per second (10^6 = 1 MB/s); 0 means no cap.
  The buckets hand out reservations in arrival order (a virtual clock per bucket) and allow a burst of
  5 ms worth of bytes, so several connections sharing the aggregate get it in turn.
- Backpressure: the shaping waits happen before a chunk is queued and each direction queues at most
  QUEUE_CHUNKS chunks, so a fast sender is held back through TCP flow control rather than buffered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys

CHUNK = 128 * 1024
QUEUE_CHUNKS = 128  # per direction and connection: 16 MiB, above any rate x delay used here
BURST_SECONDS = 0.005


class Bucket:
    """A token bucket as a virtual clock: `reserve(n)` says when n more bytes have passed through."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(CHUNK / rate, BURST_SECONDS) if rate else 0.0
        self.clock = 0.0

    def reserve(self, size: int, now: float) -> float:
        start = max(self.clock, now - self.burst)  # idle time earns at most `burst` of credit
        self.clock = start + size / self.rate
        return self.clock


class Shaper:
    def __init__(self, args: argparse.Namespace) -> None:
        self.upstream_host, _, port = args.upstream.rpartition(":")
        self.upstream_port = int(port)
        self.delay = args.rtt_ms / 2000.0
        self.rtt = args.rtt_ms / 1000.0
        self.down_rate = float(args.down_rate)
        self.up_rate = float(args.up_rate)
        self.aggregate_down = Bucket(float(args.aggregate_rate)) if args.aggregate_rate else None
        self.aggregate_up = Bucket(float(args.aggregate_rate)) if args.aggregate_rate else None

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        _nodelay(client_writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            if self.rtt:
                await asyncio.sleep(self.rtt)
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port, limit=4 * CHUNK
            )
            _nodelay(upstream_writer)
            down = [b for b in (Bucket(self.down_rate) if self.down_rate else None, self.aggregate_down) if b]
            up = [b for b in (Bucket(self.up_rate) if self.up_rate else None, self.aggregate_up) if b]
            tasks = [
                asyncio.ensure_future(self.pump(client_reader, upstream_writer, up)),
                asyncio.ensure_future(self.pump(upstream_reader, client_writer, down)),
            ]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a reset, or the proxy stopping: either way the connection ends here
        finally:
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await writer.wait_closed()

    async def pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, buckets: list[Bucket]
    ) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=QUEUE_CHUNKS)

        async def receive() -> None:
            while True:
                data = await reader.read(CHUNK)
                now = loop.time()
                due = now
                for bucket in buckets:
                    if data:
                        due = max(due, bucket.reserve(len(data), now))
                if due > now:
                    await asyncio.sleep(due - now)
                await queue.put((due + self.delay, data))
                if not data:
                    return

        async def send() -> None:
            while True:
                release, data = await queue.get()
                wait = release - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        receiving = asyncio.ensure_future(receive())
        try:
            await send()
            await receiving
        finally:
            receiving.cancel()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def serve(args: argparse.Namespace) -> None:
    shaper = Shaper(args)
    server = await asyncio.start_server(shaper.handle, "127.0.0.1", args.port, limit=4 * CHUNK, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = any free port)")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="added round-trip time")
    parser.add_argument("--down-rate", type=float, default=0.0, help="per-connection download cap, bytes/s")
    parser.add_argument("--up-rate", type=float, default=0.0, help="per-connection upload cap, bytes/s")
    parser.add_argument(
        "--aggregate-rate", type=float, default=0.0, help="cap over all connections, per direction"
    )
    args = parser.parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
