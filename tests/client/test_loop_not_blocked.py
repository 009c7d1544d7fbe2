"""The async client's event loop keeps running while a download waits on the disk or a slow file.

Against CNCF Distribution (a process of its own), a ticker task on the client's loop records how late
its wake-ups are while `download_blob_to` writes into a file object whose writes stall (a pipe to a slow
reader), and while many `blocking` calls (fsync, rename: what a download ends with) run at once.
"""

from __future__ import annotations

import asyncio
import io
import random
import threading
import time
from typing import Any, BinaryIO, cast

from containerregistry import ContainerRegistryContentClient
from containerregistry.aio import ContainerRegistryContentClient as AsyncContentClient
from containerregistry.aio._shim import blocking
from tests.support.loop import worst_lag

STALL = 0.5  # seconds one write of the slow file takes


class _SlowFile(io.RawIOBase):
    """A write-only file whose first write takes `STALL` seconds (no descriptor: written chunk by chunk)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writer_threads: set[int] = set()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        if not self.data:
            time.sleep(STALL)
        self.writer_threads.add(threading.get_ident())
        self.data += chunk
        return len(chunk)


def test_a_slow_file_object_does_not_stall_the_loop(distribution: Any) -> None:
    data = random.Random(14).randbytes(3 << 20)
    with ContainerRegistryContentClient(distribution.endpoint, "t/loop-slow-file") as client:
        digest = client.upload_blob(data).digest
    out = _SlowFile()

    async def main() -> float:
        async with AsyncContentClient(distribution.endpoint, "t/loop-slow-file") as client:
            return await worst_lag(client.download_blob_to(digest, cast(BinaryIO, out)))

    worst = asyncio.run(main())
    assert bytes(out.data) == data
    assert threading.get_ident() not in out.writer_threads
    assert worst < STALL / 2, f"the loop stalled {worst:.3f} s while the file was written"


def test_blocking_calls_run_at_once_and_keep_the_loop_running() -> None:
    """Many blocking calls (each a 0.2 s wait) finish in about one call's time, in order of their results."""

    async def main() -> tuple[list[int], float, float]:
        start = time.perf_counter()

        def call(i: int) -> int:
            time.sleep(0.2)
            return i

        calls = asyncio.gather(*(blocking(call, i) for i in range(16)))
        results: list[int] = []

        async def collect() -> None:
            results.extend(await calls)

        worst = await worst_lag(collect())
        return results, time.perf_counter() - start, worst

    for _ in range(2):  # the second run reuses the threads the first one started
        results, seconds, worst = asyncio.run(main())
        assert results == list(range(16))
        assert seconds < 1.5
        assert worst < 0.1


def test_a_failing_blocking_call_raises_its_error() -> None:
    def fail() -> None:
        raise OSError(28, "No space left on device")

    async def main() -> None:
        await blocking(fail)

    try:
        asyncio.run(main())
    except OSError as exc:
        assert exc.errno == 28
    else:
        raise AssertionError("the error was lost")
