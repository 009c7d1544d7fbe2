#!/usr/bin/env python3
"""A userspace shaping TCP proxy on 127.0.0.1 that makes loopback look like a WAN link (used by wan.py).

    python benchmarks/wan_proxy.py --upstream 127.0.0.1:5000 --rtt-ms 20 \\
        --down-rate 25e6 --aggregate-rate 200e6 [--up-rate 25e6]

Prints one JSON line `{"port": N}` on stdout once it listens, then forwards until SIGTERM/SIGINT.
Plain TCP: TLS passes through it end to end.

What it models, per accepted connection:
- Delay: every chunk read from either side is released to the other side at arrival + RTT/2 (after
  the bandwidth wait below), so a request/response round trip costs one RTT more than on loopback.
  Opening the upstream connection waits one RTT first (the TCP handshake a real link costs before the
  client can send anything).
- Bandwidth: a token bucket per connection on downloads (server -> client, `--down-rate`), and one
  aggregate bucket per direction shared by all connections (`--aggregate-rate`: the user's link is full
  duplex, so downloads and uploads each get the aggregate). Uploads (client -> server) are capped per
  connection only with `--up-rate`. Rates are bytes per second (10^6 = 1 MB/s); 0 means no cap.
  The buckets hand out reservations in arrival order (a virtual clock per bucket) with a burst of
  5 ms worth of bytes, so connections sharing the aggregate get it in turn.
- Backpressure: a direction that got ahead of its rate stops reading its source until the buckets catch
  up, and stops reading while more than MAX_QUEUED bytes are in flight or while the other side's socket
  buffer is full, so a fast sender is held back by TCP flow control rather than buffered here.

Built on asyncio protocols (no stream copies): the ceiling, measured by wan.py, is what this process
forwards with no delay and no caps.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import sys

CHUNK = 256 * 1024  # what one read returns at most (asyncio's selector read size)
PIECE = 64 * 1024  # shaped data is reserved and released in pieces of at most this size
MAX_QUEUED = 16 * 1024 * 1024  # per direction and connection: above any rate x delay used here
HOLD = 0.002  # pause reading when the buckets are this far behind what was read
BURST_SECONDS = 0.005


class Bucket:
    """A token bucket as a virtual clock: `reserve(n)` says when n more bytes have passed through."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(PIECE / rate, BURST_SECONDS)
        self.clock = 0.0

    def reserve(self, size: int, now: float) -> float:
        start = max(self.clock, now - self.burst)  # idle time earns at most `burst` of credit
        self.clock = start + size / self.rate
        return self.clock


class Direction:
    """One direction of one connection: what `source` sends is written to `target` when its time comes."""

    def __init__(self, connection: Connection, buckets: list[Bucket]) -> None:
        self.connection = connection
        self.loop = connection.loop
        self.delay = connection.shaper.delay
        self.buckets = buckets
        self.source: asyncio.Transport | None = None
        self.target: asyncio.Transport | None = None
        self.queue: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self.queued = 0
        self.timer: asyncio.TimerHandle | None = None
        self.hold_until = 0.0
        self.reading = True
        self.blocked = False  # the target's write buffer is full
        self.ended = False  # EOF queued
        self.done = False  # EOF delivered, or the target is gone

    def feed(self, data: bytes) -> None:
        if self.ended:
            return
        now = self.loop.time()
        due = now
        if not self.buckets:
            self.queue.append((now + self.delay, data))
        else:
            for start in range(0, len(data), PIECE):
                piece = data[start : start + PIECE] if len(data) > PIECE else data
                for bucket in self.buckets:
                    due = max(due, bucket.reserve(len(piece), now))
                self.queue.append((due + self.delay, piece))
        self.queued += len(data)
        if due - now > HOLD:
            self.hold_until = due
            self.loop.call_at(due, self.regulate)
        self.regulate()
        self.schedule()

    def feed_eof(self) -> None:
        if not self.ended:
            self.ended = True
            self.queue.append((self.loop.time() + self.delay, None))
            self.schedule()

    def schedule(self) -> None:
        if self.timer is None and self.queue and not self.blocked and self.target is not None:
            self.timer = self.loop.call_at(self.queue[0][0], self.flush)

    def flush(self) -> None:
        self.timer = None
        target = self.target
        if target is None or self.done:
            return
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now and not self.blocked:
            _, data = self.queue.popleft()
            if data is None:
                self.done = True
                if target.can_write_eof() and not target.is_closing():
                    target.write_eof()
                self.connection.check_done()
                return
            self.queued -= len(data)
            target.write(data)  # may call block() at once
        self.regulate()
        self.schedule()

    def regulate(self) -> None:
        """Pause or resume reading the source: behind the rate, too much queued, or the target full."""
        source = self.source
        if source is None or source.is_closing():
            return
        hold = self.blocked or self.queued > MAX_QUEUED or self.loop.time() < self.hold_until
        if hold and self.reading:
            self.reading = False
            source.pause_reading()
        elif not hold and not self.reading:
            self.reading = True
            source.resume_reading()

    def block(self) -> None:
        self.blocked = True
        self.regulate()

    def unblock(self) -> None:
        self.blocked = False
        self.regulate()
        self.schedule()

    def drop(self) -> None:
        """The target is gone: nothing more to deliver."""
        self.done = True
        self.queue.clear()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class Side(asyncio.Protocol):
    """One socket of a connection. `outgoing`: the direction its data feeds; `incoming`: the one writing to it."""

    def __init__(self, connection: Connection, outgoing: Direction, incoming: Direction) -> None:
        self.connection = connection
        self.outgoing, self.incoming = outgoing, incoming
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=4 * CHUNK)
        self.outgoing.source = transport
        self.incoming.target = transport
        self.connection.made(self)

    def data_received(self, data: bytes) -> None:
        self.outgoing.feed(data)

    def eof_received(self) -> bool:
        self.outgoing.feed_eof()
        return True  # keep the other direction open (half close)

    def pause_writing(self) -> None:
        self.incoming.block()

    def resume_writing(self) -> None:
        self.incoming.unblock()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.lost(self, exc)


class Connection:
    def __init__(self, shaper: Shaper) -> None:
        self.shaper = shaper
        self.loop = asyncio.get_running_loop()
        per_down = [Bucket(shaper.down_rate)] if shaper.down_rate else []
        per_up = [Bucket(shaper.up_rate)] if shaper.up_rate else []
        self.up = Direction(self, per_up + shaper.aggregate_up)
        self.down = Direction(self, per_down + shaper.aggregate_down)
        self.client = Side(self, self.up, self.down)
        self.server = Side(self, self.down, self.up)
        self.closed = False

    def made(self, side: Side) -> None:
        if side is self.client:
            assert side.transport is not None
            side.transport.pause_reading()  # until the upstream connection is open
            self.up.reading = False
            self.loop.call_later(self.shaper.rtt, lambda: asyncio.ensure_future(self.open_upstream()))
        else:
            self.up.reading = True
            assert self.client.transport is not None
            if not self.client.transport.is_closing():
                self.client.transport.resume_reading()
            self.up.regulate()
            self.up.schedule()

    async def open_upstream(self) -> None:
        try:
            await self.loop.create_connection(
                lambda: self.server, self.shaper.upstream_host, self.shaper.upstream_port
            )
        except OSError:
            self.close(abort=True)

    def lost(self, side: Side, exc: Exception | None) -> None:
        if exc is not None:
            self.close(abort=True)
            return
        side.outgoing.feed_eof()  # whatever it sent still goes through, then EOF
        side.incoming.drop()
        side.outgoing.source = None
        self.check_done()

    def check_done(self) -> None:
        if self.up.done and self.down.done:
            self.close(abort=False)

    def close(self, *, abort: bool) -> None:
        if self.closed:
            return
        self.closed = True
        for direction in (self.up, self.down):
            direction.drop()
        for side in (self.client, self.server):
            if side.transport is not None and not side.transport.is_closing():
                if abort:
                    side.transport.abort()
                else:
                    side.transport.close()


class Shaper:
    def __init__(self, args: argparse.Namespace) -> None:
        self.upstream_host, _, port = args.upstream.rpartition(":")
        self.upstream_port = int(port)
        self.delay = args.rtt_ms / 2000.0
        self.rtt = args.rtt_ms / 1000.0
        self.down_rate = float(args.down_rate)
        self.up_rate = float(args.up_rate)
        self.aggregate_down = [Bucket(float(args.aggregate_rate))] if args.aggregate_rate else []
        self.aggregate_up = [Bucket(float(args.aggregate_rate))] if args.aggregate_rate else []

    def accept(self) -> Side:
        return Connection(self).client


async def serve(args: argparse.Namespace) -> None:
    shaper = Shaper(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(shaper.accept, "127.0.0.1", args.port, backlog=512)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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
