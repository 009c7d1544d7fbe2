"""A blob downloaded to a path or a file object: the body of the content client's `download_blob_to`.

This module owns `BlobDownload` (one blob's URL, scope and the client's download settings) and what it
does with each kind of destination:

- a path: the bytes go to `<path>.partial` (created exclusively, never through a link, `_files.py`), which
  is fsynced and renamed into place only after the digest matched, and removed on any failure;
- a regular file open for reading and writing: `RangedDownload` (`_ranged.py`) writes the blob in place
  from the file's position, on several connections when it is large;
- any other binary file object: from one `BlobStream`, the received chunks written in batches of about
  `_WRITE_BATCH` bytes, each batch off the event loop (a pipe or a slow disk cannot stall it, and the
  async transport's chunks, as small as one socket read, cost one hand-off per batch), except for
  in-memory files, written chunk by chunk in place.

Within a copy's connection budget (`budget`, `pull_image`'s; none for the public `download_blob_to`),
every request holds a slot of it while in flight (`_ranged.py` says how).

The exclusive open, the fsync, the rename and the removal run on a worker thread (`_shim.blocking`,
`blocking_open`); the sync twin (`_sync/_blob_download.py`, generated) calls them in place.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import BinaryIO

from .._common import ProgressCallback
from .._files import commit_partial, discard_partial, open_partial
from ..protocol.reference import Digest
from ._blob_stream import BlobStream
from ._pipeline import AsyncPipeline
from ._ranged import RangedDownload, positional_fd, remove_file
from ._shim import Semaphore, blocking, blocking_open

__all__ = ["BlobDownload"]

#: Bytes gathered (as a list of chunks, not joined) before one write call off the loop.
_WRITE_BATCH = 1 << 20


@dataclass(frozen=True)
class BlobDownload:
    """Where one blob comes from and how (the client's settings); `to(destination)` returns its size."""

    pipeline: AsyncPipeline
    url: str
    digest: str
    scope: tuple[str, ...]
    action: str
    attempts: int
    progress: ProgressCallback | None
    max_concurrency: int
    max_single_get_size: int
    max_chunk_get_size: int
    budget: Semaphore | None = None

    async def to(self, destination: str | os.PathLike[str] | BinaryIO) -> int:
        """Download into `destination` (see `ContainerRegistryContentClient.download_blob_to`)."""
        if isinstance(destination, (str, os.PathLike)):
            return await self._to_path(os.fspath(destination))
        fd = positional_fd(destination)
        if fd is not None:
            destination.flush()
            base = destination.tell()
            size = await self._to_fd(fd, base)
            destination.seek(base + size)
            return size
        return await self._into(destination)

    async def _to_path(self, path: str) -> int:
        partial = f"{path}.partial"
        # Created off the loop (an open can wait on the file system's journal); a caller cancelled
        # meanwhile never gets the file, so `blocking_open` removes it again.
        file = await blocking_open(
            open_partial, partial, close=lambda created: discard_partial(created, partial)
        )
        try:
            with file:
                size = await self._to_fd(file.fileno(), 0)
                await blocking(commit_partial, file, partial, path)
        except BaseException:
            await blocking(remove_file, partial)
            raise
        return size

    async def _to_fd(self, fd: int, base: int) -> int:
        download = RangedDownload(
            self.pipeline,
            self.url,
            self.digest,
            scope=self.scope,
            action=self.action,
            attempts=self.attempts,
            progress=self.progress,
            max_concurrency=self.max_concurrency,
            max_single_get_size=self.max_single_get_size,
            max_chunk_get_size=self.max_chunk_get_size,
            budget=self.budget,
        )
        return await download.run(fd, base)

    async def _into(self, file: BinaryIO) -> int:
        size = 0
        in_memory = isinstance(file, io.BytesIO)
        stream = BlobStream(
            self.pipeline,
            self.url,
            Digest.parse(self.digest),
            scope=self.scope,
            action=self.action,
            attempts=self.attempts,
            progress=self.progress,
        )
        batch: list[bytes] = []
        batched = 0
        async with self.budget or contextlib.nullcontext(), stream:
            async for chunk in stream.iter_bytes():
                size += len(chunk)
                if in_memory:
                    file.write(chunk)
                    continue
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _WRITE_BATCH:
                    await blocking(_write_all, file, batch)
                    batch, batched = [], 0
            if batch:
                await blocking(_write_all, file, batch)
        return size


def _write_all(file: BinaryIO, chunks: list[bytes]) -> None:
    for chunk in chunks:
        file.write(chunk)
