"""Concurrency primitives of the sync API (threads); `containerregistry.aio._shim` has the same names.

Hand-written (scripts/unasync.py skips it): generated code calls these names and gets the right twin.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..protocol.digest import Hasher

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

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

#: A mutual-exclusion lock: `threading.Lock` here, `asyncio.Lock` in the async twin (`with` / `async with`).
Lock = threading.Lock
#: A counting semaphore: `threading.Semaphore` here, `asyncio.Semaphore` in the async twin.
Semaphore = threading.Semaphore

T = TypeVar("T")

#: Large chunks are hashed on a worker thread while the next one is received (hashlib releases the
#: GIL), so verifying a download costs little more than receiving it when a core is free.
_BATCH = 4 << 20  # bigger batches measured slightly faster but within noise, and cost RSS (2 batches held)
_HASH_POOL: ThreadPoolExecutor | None = None
_HASH_POOL_LOCK = threading.Lock()


def _hash_pool() -> ThreadPoolExecutor:
    """The shared hashing pool, made on first use: concurrent.futures loads only when a large blob is
    verified, not with every client (`creg tag ls`)."""
    global _HASH_POOL
    with _HASH_POOL_LOCK:
        if _HASH_POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _HASH_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="containerregistry-hash")
        return _HASH_POOL


def speaks_tls(host: str, port: int, timeout: float) -> bool | None:
    """Whether `host:port` completes a TLS handshake: True, False (it answered, not with TLS), None (no
    connection). Certificates are not checked (this only tells the scheme), so no CA store is loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None
    try:
        with context.wrap_socket(sock, server_hostname=host):
            return True
    except (ssl.SSLError, TimeoutError, ConnectionResetError):
        return False
    except OSError:
        return False
    finally:
        sock.close()


#: After Ctrl-C, how long the main thread waits for running transfers to notice the stop flag before
#: it raises anyway (a worker blocked in a socket read, waiting for a slow registry's answer, cannot be
#: woken; it is a daemon thread, so it does not keep the process alive and ends when its read returns).
INTERRUPT_GRACE = 0.5


def run_bounded(
    funcs: Sequence[Callable[[], T]], limit: int, *, on_stop: Callable[[], None] | None = None
) -> list[T]:
    """Run `funcs` in up to `limit` worker threads; results in order.

    When one fails, those not started are not started, `on_stop` is called (it sets the flag that
    running work checks: threads cannot be interrupted), and those running are waited for before the
    first failure is raised. When the caller is interrupted (Ctrl-C raises KeyboardInterrupt in the
    waiting thread), the same happens but the wait is bounded by `INTERRUPT_GRACE` seconds, so the
    interrupt is felt at once rather than after the transfers drain; the workers are daemon threads.
    With `limit == 1` everything runs in the calling thread.
    """
    if limit < 1:
        raise ValueError("concurrency must be at least 1")
    if limit == 1 or len(funcs) <= 1:
        return [func() for func in funcs]
    results: list[Any] = [None] * len(funcs)
    errors: list[BaseException] = []
    state = threading.Condition()
    next_index = 0
    running = 0
    stopped = False

    def worker() -> None:
        nonlocal next_index, running
        while True:
            with state:
                if stopped or errors or next_index >= len(funcs):
                    running -= 1
                    state.notify_all()
                    return
                index = next_index
                next_index += 1
            try:
                results[index] = funcs[index]()
            except BaseException as exc:
                with state:
                    errors.append(exc)
                    state.notify_all()

    workers = min(limit, len(funcs))
    running = workers
    for _ in range(workers):
        threading.Thread(target=worker, name="containerregistry", daemon=True).start()
    try:
        with state:
            while running and not errors:
                state.wait()
    except BaseException:
        with state:
            stopped = True
        if on_stop is not None:
            on_stop()
        with state:
            state.wait_for(lambda: running == 0, timeout=INTERRUPT_GRACE)
        raise
    if errors:
        if on_stop is not None:
            on_stop()
        with state:
            state.wait_for(lambda: running == 0)
        raise errors[0]
    return results


class PipelinedHasher:
    """Feeds a `Hasher` one batch behind the caller: batch N is hashed while N+1 is being received.

    Chunks go to a worker thread in batches of at least `_BATCH` bytes (hashlib releases the GIL
    while it hashes, so receiving and hashing overlap on two cores); small blobs hash inline.
    """

    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher
        self._pending: Future[None] | None = None
        self._batch: list[bytes] = []
        self._batched = 0

    def update(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched < _BATCH:
            return
        batch, self._batch, self._batched = self._batch, [], 0
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()
        self._pending = _hash_pool().submit(_hash_all, self.hasher, batch)

    def flush(self) -> Hasher:
        """Wait for the batch in flight and hash the rest; the hasher then covers every byte given."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()
        batch, self._batch, self._batched = self._batch, [], 0
        _hash_all(self.hasher, batch)
        return self.hasher


def _hash_all(hasher: Hasher, chunks: list[bytes]) -> None:
    for chunk in chunks:
        hasher.update(chunk)


def blocking(func: Callable[..., T], *args: Any) -> T:
    """Call `func(*args)` in place (the async twin runs it on a worker thread, off the event loop)."""
    return func(*args)


def blocking_open(func: Callable[..., T], *args: Any, close: Callable[[T], object]) -> T:
    """Call `func(*args)` in place (the async twin runs it on a worker thread and hands what it created
    to `close` when the caller was cancelled meanwhile)."""
    del close
    return func(*args)


class FileSink:
    """Received bytes written at their offsets and hashed in order by `BlobFileWriter`'s threads.

    `write(offset, chunks, nbytes)` queues a batch and returns at once unless the backlog is full (then
    it blocks until there is room), so the threads reading the sockets keep reading.
    """

    def __init__(self, fd: int, hasher: Hasher, *, base: int = 0) -> None:
        # Imported here: the file writer (ctypes, its thread pool) loads only for a download to a file.
        from .._blob_file import BlobFileWriter

        self._writer = BlobFileWriter(fd, hasher, base=base)

    def write(self, offset: int, chunks: list[bytes], nbytes: int) -> None:
        self._writer.put(offset, chunks, nbytes)

    def finish(self, total: int) -> Hasher:
        """Wait until `[0, total)` is written and hashed; the hasher then covers exactly those bytes."""
        return self._writer.finish(total)

    def abort(self) -> None:
        self._writer.abort()


_END = object()
_POLL = 0.1  # seconds between looks at the stop flag of a blocked reader or consumer


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(chunks: Iterator[bytes], depth: int) -> Iterator[bytes]:
    """Yield `chunks` while a thread keeps reading up to `depth` chunks ahead of the consumer.

    A relay (read from one connection, write to another) would otherwise alternate between the two,
    each idle while the other moves a chunk. Closing this generator stops the reader, which closes
    `chunks` in its own thread; an error of `chunks` is raised here, at its place in the stream.
    """
    pending: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                pending.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
        finally:
            closer = getattr(chunks, "close", None)
            if closer is not None:
                closer()

    reader = threading.Thread(target=produce, name="containerregistry-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = pending.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


class Channel:
    """An unbounded FIFO from producers to one consumer: `put` never waits, `get()` does.

    Bounded by its user (`_ranged_reader` puts at most one range into each).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def get(self) -> Any:
        return self._queue.get()


class Background:
    """Functions running beside the caller: daemon threads here, tasks in the async twin.

    A thread cannot be cancelled: callers set a flag the functions check at every chunk, then call
    `stop()`, which waits up to `grace` seconds for them (daemon threads do not keep the process alive).
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def start(self, func: Callable[[], None]) -> None:
        thread = threading.Thread(target=func, name="containerregistry-range", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, grace: float = 5.0) -> None:
        threads, self._threads = self._threads, []
        deadline = time.monotonic() + grace
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def try_acquire(semaphore: threading.Semaphore) -> bool:
    """Take a slot of `semaphore` if one is free now (never waits)."""
    return semaphore.acquire(blocking=False)
