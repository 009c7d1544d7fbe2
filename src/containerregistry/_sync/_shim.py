"""Concurrency primitives of the sync API (threads); `containerregistry.aio._shim` has the same names.

Hand-written (scripts/unasync.py skips it): generated code calls these names and gets the right twin.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from ..protocol.digest import Hasher

__all__ = ["Lock", "PipelinedHasher", "run_bounded", "speaks_tls"]

#: A mutual-exclusion lock: `threading.Lock` here, `asyncio.Lock` in the async twin (`with` / `async with`).
Lock = threading.Lock

T = TypeVar("T")

#: Large chunks are hashed on a worker thread while the next one is received (hashlib releases the
#: GIL), so verifying a download costs little more than receiving it when a core is free.
_BATCH = 4 << 20  # bigger batches measured slightly faster but within noise, and cost RSS (2 batches held)
_HASH_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="containerregistry-hash")


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


def run_bounded(funcs: Sequence[Callable[[], T]], limit: int) -> list[T]:
    """Run `funcs` in up to `limit` worker threads; results in order.

    When one fails, those not started are cancelled and those running are waited for (threads cannot
    be interrupted: callers make running work check a flag) before the first failure is raised.
    With `limit == 1` everything runs in the calling thread.
    """
    if limit < 1:
        raise ValueError("concurrency must be at least 1")
    if limit == 1 or len(funcs) <= 1:
        return [func() for func in funcs]
    with ThreadPoolExecutor(
        max_workers=min(limit, len(funcs)), thread_name_prefix="containerregistry"
    ) as pool:
        futures: list[Future[T]] = [pool.submit(func) for func in funcs]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            for future in futures:
                future.cancel()
            wait(futures)
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return [future.result() for future in futures]


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
        self._pending = _HASH_POOL.submit(_hash_all, self.hasher, batch)

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
