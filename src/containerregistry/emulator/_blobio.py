"""Blob file I/O off the event loop: stream a request body to disk while hashing, commit, re-hash."""

from __future__ import annotations

import asyncio
import collections
import os
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from .._files import SYNC_WAIT_AFTER as _WAIT_AFTER
from .._files import SYNC_WAIT_BEFORE as _WAIT_BEFORE
from .._files import SYNC_WRITE as _WRITE
from .._files import sync_file_range as _sync_file_range
from ..protocol.digest import Hasher

__all__ = ["commit_file", "read_small_file", "receive_body", "rehash_file"]

_T = TypeVar("_T")

# Bytes handed to the worker thread at a time: large enough that per-call overhead vanishes,
# small enough that the socket keeps flowing while the previous piece is hashed and written.
_PIECE = 4 << 20


# Pieces written but not yet known to be on disk, before the oldest is waited for and dropped.
_WRITEBACK_LAG = 4


class _StreamWriter:
    """Writes pieces at the file position, streaming them to disk as it goes (Linux).

    Each piece's writeback starts right after it is written and is waited for a few pieces later, so
    the upload keeps a bounded amount of dirty memory and the fsync before commit has almost nothing
    left to do. The pages stay in the page cache: a registry is read far more than written, and the
    first pull of a fresh blob should not go to disk. (Dropping them with POSIX_FADV_DONTNEED made
    1 GiB uploads ~1.7x faster on the CI VM, page allocation being its main cost, but the first
    download then read from disk at a quarter of Distribution's speed; benchmarks/emulator.py.)
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.position = os.lseek(fd, 0, os.SEEK_CUR)
        self.in_flight: collections.deque[tuple[int, int]] = collections.deque()

    def write(self, pieces: list[bytes]) -> None:
        # writev: no join copy on the event loop; loop on short writes.
        total = sum(len(p) for p in pieces)
        written = os.writev(self.fd, pieces)
        if written != total:
            rest = memoryview(b"".join(pieces))[written:]
            while rest:
                rest = rest[os.write(self.fd, rest) :]
        start, self.position = self.position, self.position + total
        if _sync_file_range is None:
            return
        _sync_file_range(self.fd, start, total, _WRITE)
        self.in_flight.append((start, total))
        while len(self.in_flight) > _WRITEBACK_LAG:
            old_start, old_length = self.in_flight.popleft()
            _sync_file_range(self.fd, old_start, old_length, _WAIT_BEFORE | _WRITE | _WAIT_AFTER)


def _hash_all(hasher: Hasher, pieces: list[bytes]) -> None:
    for piece in pieces:
        hasher.update(piece)


async def receive_body(request: web.Request, path: Path, offset: int, hasher: Hasher) -> int:
    """Append the request body to `path` at `offset`, feeding `hasher`; return the bytes stored.

    Three things overlap: reading the socket (on the loop), hashing the previous piece and writing it
    (each in a worker thread; both release the GIL). When the client goes away mid-body, the bytes
    received so far are kept, so the upload can resume.
    """
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, _open_at, path, offset)
    writer = _StreamWriter(fd)
    pending: asyncio.Future[tuple[None, None]] | None = None
    pieces: list[bytes] = []
    buffered = 0
    stored = 0

    def submit(batch: list[bytes]) -> asyncio.Future[tuple[None, None]]:
        return asyncio.gather(
            loop.run_in_executor(None, _hash_all, hasher, batch),
            loop.run_in_executor(None, writer.write, batch),
        )

    try:
        try:
            async for chunk in request.content.iter_chunked(1 << 20):
                pieces.append(chunk)
                buffered += len(chunk)
                if buffered >= _PIECE:
                    if pending is not None:
                        await pending
                        pending = None
                    pending = submit(pieces)
                    stored += buffered
                    pieces, buffered = [], 0
        finally:
            # Settle even when the handler is cancelled (its client went away): the caller records
            # the hashed prefix as the upload's offset and releases the upload's lock, so no write may
            # still be running then.
            if pending is not None:
                await _settle(pending)
            if pieces:
                await _settle(submit(pieces))
                stored += buffered
    finally:
        await _settle(loop.run_in_executor(None, os.close, fd))
    return stored


async def _settle(future: asyncio.Future[_T]) -> _T:
    """Wait for `future` to finish even if this task is cancelled meanwhile; then re-raise that."""
    cancelled: asyncio.CancelledError | None = None
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError as exc:
            cancelled = exc
    if cancelled is not None:
        raise cancelled
    return future.result()


def _open_at(path: Path, offset: int) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    # Bytes past the committed offset are from a request that died before its offset was recorded.
    os.ftruncate(fd, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return fd


def _rehash(path: Path, length: int, algorithm: str) -> tuple[Hasher, int]:
    hasher = Hasher(algorithm)
    # A session row whose file is gone (deleted to free a full disk, then a crash) starts over at 0.
    with open(path, "a+b") as handle:
        handle.seek(0)
        size = os.fstat(handle.fileno()).st_size
        length = min(length, size)
        if size > length:
            handle.truncate(length)
        remaining = length
        while remaining:
            data = handle.read(min(_PIECE, remaining))
            if not data:
                break
            hasher.update(data)
            remaining -= len(data)
    return hasher, hasher.size


async def rehash_file(path: Path, length: int, algorithm: str = "sha256") -> tuple[Hasher, int]:
    """Hash the first `length` bytes of `path` (the state a restart lost); returns (hasher, bytes hashed)."""
    return await asyncio.get_running_loop().run_in_executor(None, _rehash, path, length, algorithm)


def _commit(source: Path, target: Path) -> None:
    with open(source, "rb") as handle:
        os.fsync(handle.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    # The rename itself must be durable before the database says the blob exists.
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


async def commit_file(source: Path, target: Path) -> None:
    """fsync `source` and atomically rename it to `target` (identical content may already be there)."""
    await asyncio.get_running_loop().run_in_executor(None, _commit, source, target)


def _read_small(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return None
    return None if len(data) > limit else data


async def read_small_file(path: Path, limit: int) -> bytes | None:
    """The file's bytes when it exists and holds at most `limit` bytes, else None."""
    return await asyncio.get_running_loop().run_in_executor(None, _read_small, path, limit)
