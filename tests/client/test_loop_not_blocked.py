"""The async client's event loop keeps running while a download waits on the disk or a slow file.

Against CNCF Distribution (a process of its own), a ticker task on the client's loop records how late
its wake-ups are while `download_blob_to` writes into a file object whose writes stall (a pipe to a slow
reader), while creating its partial file takes long (a busy file system), and while many `blocking` calls
(fsync, rename: what a download ends with) run at once; a download cancelled while its file is being
created leaves no file behind.
"""

from __future__ import annotations

import asyncio
import io
import random
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.aio import ContainerRegistryContentClient as AsyncContentClient
from containerregistry.aio._shim import blocking
from tests.support.loop import slow_partial_opens, worst_lag

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


def test_creating_the_partial_file_does_not_stall_the_loop(
    distribution: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """A file system that takes its time to create a file (a busy journal) keeps the loop running."""
    data = random.Random(15).randbytes(1 << 20)
    with ContainerRegistryContentClient(distribution.endpoint, "t/loop-slow-open") as client:
        digest = client.upload_blob(data).digest
    target = tmp_path / "blob.bin"

    async def main() -> tuple[float, int]:
        async with AsyncContentClient(distribution.endpoint, "t/loop-slow-open") as client:
            openers = slow_partial_opens(monkeypatch, STALL)
            worst = await worst_lag(client.download_blob_to(digest, target))
            assert openers, "the download created no partial file"
            assert threading.get_ident() not in openers, "the partial file was created on the event loop"
            return worst, len(openers)

    worst, _ = asyncio.run(main())
    assert target.read_bytes() == data
    assert worst < STALL / 2, f"the loop stalled {worst:.3f} s while the partial file was created"


def test_a_download_cancelled_while_its_file_is_created_leaves_nothing(
    distribution: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    data = random.Random(16).randbytes(1 << 20)
    with ContainerRegistryContentClient(distribution.endpoint, "t/loop-cancel-open") as client:
        digest = client.upload_blob(data).digest
    target = tmp_path / "blob.bin"

    async def main() -> None:
        async with AsyncContentClient(distribution.endpoint, "t/loop-cancel-open") as client:
            openers = slow_partial_opens(monkeypatch, 0.3)
            task = asyncio.ensure_future(client.download_blob_to(digest, target))
            for _ in range(200):  # until the open is under way on its thread (at most 2 s)
                if openers:
                    break
                await asyncio.sleep(0.01)
            assert openers, "the download never started creating its file"
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a cancelled download left a file behind"
