"""Concurrency primitives of the async API; `containerregistry._sync._shim` has the same names for threads.

Hand-written (scripts/unasync.py skips it): generated code calls these names and gets the right twin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..protocol.digest import Hasher

__all__ = ["PipelinedHasher", "run_bounded"]

T = TypeVar("T")

#: Large chunks are hashed on a worker thread while the next one is received (hashlib releases the
#: GIL), so verifying a download costs little more than receiving it when a core is free.
_BACKGROUND_MIN = 256 * 1024
_HASH_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="containerregistry-hash")


async def run_bounded(funcs: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run `funcs` concurrently, at most `limit` at a time; results in order.

    When one fails, the others are cancelled and awaited before the first failure is raised, so no
    transfer is still running when this returns. Cancelling the caller cancels them all the same way.
    """
    if limit < 1:
        raise ValueError("concurrency must be at least 1")
    if not funcs:
        return []
    semaphore = asyncio.Semaphore(limit)

    async def one(func: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await func()

    tasks = [asyncio.ensure_future(one(func)) for func in funcs]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


class PipelinedHasher:
    """Feeds a `Hasher` one chunk behind the caller: chunk N is hashed while N+1 is being received."""

    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher
        self._pending: asyncio.Future[None] | None = None

    async def update(self, chunk: bytes) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        if len(chunk) < _BACKGROUND_MIN:
            self.hasher.update(chunk)
        else:
            self._pending = asyncio.get_running_loop().run_in_executor(_HASH_POOL, self.hasher.update, chunk)

    async def flush(self) -> Hasher:
        """Wait for the chunk in flight; the hasher then covers every byte given."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        return self.hasher
