"""Concurrency primitives of the async API; `containerregistry._sync._shim` has the same names for threads.

Hand-written (scripts/unasync.py skips it): generated code calls these names and gets the right twin.
"""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import contextlib
import os
import queue
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ..protocol.digest import Hasher

__all__ = [
    "Background",
    "Channel",
    "FileSink",
    "Lock",
    "PipelinedHasher",
    "Semaphore",
    "blocking",
    "blocking_open",
    "read_ahead",
    "run_bounded",
    "speaks_tls",
    "try_acquire",
]

#: A mutual-exclusion lock: `asyncio.Lock` here, `threading.Lock` in the sync twin (`async with` / `with`).
Lock = asyncio.Lock
#: A counting semaphore: `asyncio.Semaphore` here, `threading.Semaphore` in the sync twin.
Semaphore = asyncio.Semaphore

T = TypeVar("T")


async def speaks_tls(host: str, port: int, timeout: float) -> bool | None:
    """Whether `host:port` completes a TLS handshake: True, False (it answered, not with TLS), None (no
    connection). Certificates are not checked (this only tells the scheme), so no CA store is loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except (ssl.SSLError, asyncio.TimeoutError, ConnectionResetError, asyncio.IncompleteReadError):
        return False
    except OSError:
        return None
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):
        pass
    return True


async def run_bounded(
    funcs: Sequence[Callable[[], Awaitable[T]]],
    limit: int,
    *,
    on_stop: Callable[[], None] | None = None,
) -> list[T]:
    """Run `funcs` concurrently, at most `limit` at a time; results in order.

    When one fails, the others are cancelled and awaited before the first failure is raised, so no
    transfer is still running when this returns. Cancelling the caller cancels them all the same way.
    `on_stop` is called before the others are cancelled (the sync twin needs it to stop its threads).
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
        if pending and on_stop is not None:
            on_stop()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    # Every failure is retrieved, the first raised: a second one left unretrieved would be logged
    # ("Task exception was never retrieved") whenever the garbage collector gets to its task.
    failures = [task.exception() for task in tasks if not task.cancelled()]
    for failure in failures:
        if failure is not None:
            raise failure
    return [task.result() for task in tasks]


class PipelinedHasher:
    """The async twin of `containerregistry._sync._shim.PipelinedHasher`: here it hashes inline.

    Handing chunks to a worker thread measured slower under asyncio on 2 cores (1 GiB verified
    download from Distribution: ~830 MB/s with the hand-off, in batches of 1 or 8 MiB, against
    ~1,020 MB/s inline): the loop's receive path and the registry already keep both cores busy, and
    each hand-off costs a loop wake-up. The sync client, whose receive path is lighter, gains from it.
    """

    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher

    async def update(self, chunk: bytes) -> None:
        self.hasher.update(chunk)

    async def flush(self) -> Hasher:
        return self.hasher


class _Workers(concurrent.futures.Executor):
    """The threads `blocking` runs calls on: started without waiting for them, kept while busy.

    The loop's default executor starts each of its threads with `threading.Thread.start`, which waits on
    the calling thread (the event loop) until the new thread runs: milliseconds on a loaded machine, for
    each of the first calls of every `asyncio.run`. Here a thread is started with `_thread` when a call
    is queued and no thread waits for one; a thread idle for `idle_timeout` seconds ends. At most `limit`
    threads run; further calls wait in the queue, as with the default executor.
    """

    def __init__(self, limit: int, idle_timeout: float) -> None:
        self._limit = limit
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...]]
        ]
        self._queue = queue.SimpleQueue()
        self._threads = 0
        self._waiting = 0  # threads waiting in `_queue.get`

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        if kwargs:
            raise TypeError("blocking calls take positional arguments only")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            self._queue.put((future, fn, args))
            if self._queue.qsize() > self._waiting and self._threads < self._limit:
                self._threads += 1
                _thread.start_new_thread(self._work, ())
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._waiting += 1
            try:
                future, fn, args = self._queue.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    self._waiting -= 1
                    if self._queue.empty():  # (a call queued after this check starts a thread)
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._waiting -= 1
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, fn, args

    def _forget_threads(self) -> None:  # in a forked child, which has none of the parent's threads
        self._lock = threading.Lock()
        self._queue = queue.SimpleQueue()
        self._threads = self._waiting = 0


_WORKERS = _Workers(limit=32, idle_timeout=30.0)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WORKERS._forget_threads)


async def blocking(func: Callable[..., T], *args: Any) -> T:
    """Run a blocking call (file I/O, fsync) on a worker thread; the sync twin calls it in place.

    A cancelled caller still waits for the call to end (a thread cannot be stopped), so nothing it does
    (a rename, an fsync) happens behind the back of the code that handles the cancellation.
    """
    future = asyncio.get_running_loop().run_in_executor(_WORKERS, func, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await _settle(future)
        raise


async def _settle(future: asyncio.Future[Any]) -> None:
    """Wait, through further cancellations, until a worker thread's call has ended (whatever its outcome)."""
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            continue
        except BaseException:
            break


async def blocking_open(func: Callable[..., T], *args: Any, close: Callable[[T], object]) -> T:
    """`blocking(func, *args)` for a call that creates something the caller must close or remove (a file).

    A caller cancelled while `func` runs on its thread never receives what it created: that is handed to
    `close` (on a worker thread too) before the cancellation is raised, so nothing is left behind.
    """
    future = asyncio.get_running_loop().run_in_executor(_WORKERS, func, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await _settle(future)
        if not future.cancelled() and future.exception() is None:
            await blocking(close, future.result())
        raise


class FileSink:
    """Received bytes written at their offsets and hashed in order, off the event loop.

    `await write(offset, chunks, nbytes)` queues a batch for `BlobFileWriter`'s threads and returns at
    once, unless its backlog is full: then it waits (on the loop, not blocking it) for room.
    """

    def __init__(self, fd: int, hasher: Hasher, *, base: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._room = asyncio.Event()
        # Imported here: the file writer (ctypes, its thread pool) loads only for a download to a file.
        from .._blob_file import BlobFileWriter

        self._writer = BlobFileWriter(fd, hasher, base=base, on_room=self._wake)

    def _wake(self) -> None:  # from the writer's threads
        try:
            self._loop.call_soon_threadsafe(self._room.set)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    async def write(self, offset: int, chunks: list[bytes], nbytes: int) -> None:
        while not self._writer.try_put(offset, chunks, nbytes):
            self._room.clear()
            if self._writer.try_put(offset, chunks, nbytes):
                return
            await self._room.wait()

    async def finish(self, total: int) -> Hasher:
        """Wait until `[0, total)` is written and hashed; the hasher then covers exactly those bytes."""
        return await blocking(self._writer.finish, total)

    async def abort(self) -> None:
        await blocking(self._writer.abort)


_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def read_ahead(chunks: AsyncIterator[bytes], depth: int) -> AsyncIterator[bytes]:
    """Yield `chunks` while a task keeps reading up to `depth` chunks ahead of the consumer.

    A relay (read from one connection, write to another) would otherwise alternate between the two,
    each idle while the other moves a chunk. Closing this generator cancels the reader and closes
    `chunks`; an error of `chunks` is raised here, at its place in the stream.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(depth)

    async def produce() -> None:
        try:
            async for chunk in chunks:
                await queue.put(chunk)
            await queue.put(_END)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, raised there
            await queue.put(_Failed(exc))
        finally:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()

    task = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Channel:
    """An unbounded FIFO from producers to one consumer: `put` never waits, `await get()` does.

    Bounded by its user (`_ranged_reader` puts at most one range into each).
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, item: Any) -> None:
        self._queue.put_nowait(item)

    async def get(self) -> Any:
        return await self._queue.get()


class Background:
    """Functions running beside the caller: tasks here, daemon threads in the sync twin.

    `stop()` cancels them and waits for them to end. The sync twin cannot cancel a thread: its callers
    set a flag the functions check at every chunk before calling `stop()`, which then waits up to
    `grace` seconds for them.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, func: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.ensure_future(func()))

    async def stop(self, grace: float = 5.0) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def try_acquire(semaphore: asyncio.Semaphore) -> bool:
    """Take a slot of `semaphore` if one is free now (never waits, never jumps ahead of waiters)."""
    if semaphore.locked():
        return False
    await semaphore.acquire()  # free: returns at once
    return True
