"""Blob file I/O off the event loop: stream a request body to disk while hashing, commit, re-hash."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from aiohttp import web

from ..protocol.digest import Hasher

__all__ = ["commit_file", "read_small_file", "receive_body", "rehash_file"]

# Bytes handed to the worker thread at a time: large enough that per-call overhead vanishes,
# small enough that the socket keeps flowing while the previous piece is hashed and written.
_PIECE = 4 << 20


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_and_hash(fd: int, data: bytes, hasher: Hasher) -> None:
    hasher.update(data)
    _write_all(fd, data)


async def receive_body(request: web.Request, path: Path, offset: int, hasher: Hasher) -> int:
    """Append the request body to `path` at `offset`, feeding `hasher`; return the bytes stored.

    Reading the socket (on the loop) overlaps hashing and writing the previous piece (in a thread).
    When the client goes away mid-body, the bytes received so far are kept, so the upload can resume.
    """
    loop = asyncio.get_running_loop()
    fd = await loop.run_in_executor(None, _open_at, path, offset)
    pending: asyncio.Future[None] | None = None
    pieces: list[bytes] = []
    buffered = 0
    stored = 0
    try:
        try:
            async for chunk in request.content.iter_chunked(1 << 20):
                pieces.append(chunk)
                buffered += len(chunk)
                if buffered >= _PIECE:
                    data = b"".join(pieces)
                    pieces.clear()
                    buffered = 0
                    if pending is not None:
                        await pending
                        pending = None
                    pending = loop.run_in_executor(None, _write_and_hash, fd, data, hasher)
                    stored += len(data)
        finally:
            if pending is not None:
                await asyncio.shield(pending)
            if pieces:
                data = b"".join(pieces)
                await asyncio.shield(loop.run_in_executor(None, _write_and_hash, fd, data, hasher))
                stored += len(data)
    finally:
        await loop.run_in_executor(None, os.close, fd)
    return stored


def _open_at(path: Path, offset: int) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    # Bytes past the committed offset are from a request that died before its offset was recorded.
    os.ftruncate(fd, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return fd


def _rehash(path: Path, length: int, algorithm: str) -> tuple[Hasher, int]:
    hasher = Hasher(algorithm)
    with open(path, "r+b") as handle:
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
