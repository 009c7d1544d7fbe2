"""RangedDownload: one blob downloaded into a file, on several connections when it is large.

The content client's `download_blob_to` uses it. The first request asks for the first
`max_single_get_size` bytes (`Range: bytes=0-N`); a blob no larger comes whole in that answer. From a
206 with a matching `Content-Range` the total size is known, and the rest is split into ranges of
`max_chunk_get_size` bytes fetched by up to `max_concurrency` connections (the first one continues with
ranges after its own), each written in place by `FileSink` (`os.pwrite` on a worker thread) and hashed
in order as the contiguous prefix completes (`_blob_file.BlobFileWriter`). A range cut short resumes
from its last byte under the rules of one stream (`attempts` failures per range, the retry policy's
delays). Anything but a 206 with the expected `Content-Range` (a 200 from a registry or a storage
redirect that ignores `Range`, a missing or odd header) falls back to one stream: a 200 to the first
request is used as that stream; otherwise the file is emptied and the blob fetched again with one GET.
The digest is verified when every byte is in; the caller renames the file into place only then.

Within a copy's connection budget (`budget`, a semaphore per registry that `pull_image` shares over its
workers; the public `download_blob_to` has none) the download's first request waits for a slot, held by
the first connection until the download ends (its one stream too); each further connection takes a
slot only when one is free, for one range at a time, and one left without a slot waits for the next
range of this download to finish and tries again (`_Extras`). A download never waits for a slot while
holding one, so downloads sharing a budget cannot deadlock.

The async twin runs the connections as tasks, the sync twin (generated) on threads (`run_bounded`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import BinaryIO

import httpx

from .._common import ProgressCallback
from ..exceptions import DigestValidationError, HttpResponseError, ServiceRequestError
from ..protocol.digest import new_hasher
from ..protocol.http import parse_content_range, range_answer_problem, split_ranges
from ._pipeline import AsyncPipeline
from ._shim import Channel, FileSink, Lock, Semaphore, blocking, run_bounded, try_acquire

__all__ = [
    "DEFAULT_MAX_CHUNK_GET_SIZE",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_SINGLE_GET_SIZE",
    "RangedDownload",
    "check_concurrency",
    "positional_fd",
    "remove_file",
]

_LOGGER = logging.getLogger("containerregistry")

#: Connections per blob download. Chosen from benchmarks/wan.py (see the README's performance section):
#: a registry's per-connection throughput (tens of MB/s across the internet) is the bound to beat.
DEFAULT_MAX_CONCURRENCY = 8
#: Bytes asked for by the first request; a blob up to this size comes in one answer.
DEFAULT_MAX_SINGLE_GET_SIZE = 8 << 20
#: Bytes per range after the first request.
DEFAULT_MAX_CHUNK_GET_SIZE = 8 << 20
#: Bytes received on one connection before they are handed to the writer as one batch. The async
#: transport hands out what one socket read returned (up to 256 KiB; ~220 KiB on average on loopback),
#: so batches of 1 MiB keep one hand-off to the writer's threads per MiB, as when it handed out 1 MiB
#: pieces (each then a batch of its own against a 512 KiB threshold).
_BATCH = 1 << 20


class _NoRanges(Exception):
    """The registry (or the storage it redirects to) did not serve a range as asked: use one stream."""


class _Stopped(Exception):
    """Another connection failed; this one stops at its next chunk (threads cannot be interrupted)."""


class _Cursor:
    """Bytes of one range received and handed to the writer so far."""

    __slots__ = ("received",)

    def __init__(self) -> None:
        self.received = 0


class _Extras:
    """The connections of one download beyond its first, within a budget: each range takes a free slot
    (`try_acquire`: never waits on the budget); one that finds none waits until `wake()`, which a
    finished range (or the download stopping) calls."""

    def __init__(self, budget: Semaphore) -> None:
        self.budget = budget
        self._lock = threading.Lock()  # held for a few statements, never while waiting
        self._idle = 0
        self._wakeups = Channel()

    async def slot(self, more: Callable[[], bool]) -> bool:
        """A free slot (True) once one is free at a wake-up, or False when `more()` says no range is left."""
        while more():
            if await try_acquire(self.budget):
                return True
            with self._lock:
                if not more():
                    return False
                self._idle += 1
            await self._wakeups.get()
        return False

    def wake(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._wakeups.put(None)


class RangedDownload:
    """Download `url` (a blob) into `fd` at `base`, verifying `digest`; `run()` returns the size.

    With a `budget` (see the module docstring) every request holds a slot of it while in flight."""

    def __init__(
        self,
        pipeline: AsyncPipeline,
        url: str,
        digest: str,
        *,
        scope: tuple[str, ...],
        action: str,
        attempts: int,
        progress: ProgressCallback | None,
        max_concurrency: int,
        max_single_get_size: int,
        max_chunk_get_size: int,
        budget: Semaphore | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._url = url
        self._digest = digest
        self._scope = scope
        self._action = action
        self._attempts = max(1, attempts)
        self._progress = progress
        self._concurrency = max_concurrency
        self._first = max_single_get_size
        self._chunk = max_chunk_get_size
        self._lock = Lock()
        self._received = 0
        self._size: int | None = None
        self._pending: deque[tuple[int, int]] = deque()
        self._stopped = False
        self._budget = budget
        self._extras = _Extras(budget) if budget is not None else None

    async def run(self, fd: int, base: int = 0) -> int:
        if self._budget is None:
            return await self._run(fd, base)
        async with self._budget:  # the first connection's slot, until the download ends
            return await self._run(fd, base)

    async def _run(self, fd: int, base: int) -> int:
        if self._concurrency > 1:
            try:
                return await self._attempt(fd, base, ranged=True)
            except _NoRanges as exc:
                _LOGGER.info("%s: %s; downloading it as one stream", self._action, exc)
                await blocking(os.ftruncate, fd, base)
                self._received, self._size, self._stopped = 0, None, False
                self._pending.clear()
        return await self._attempt(fd, base, ranged=False)

    async def _attempt(self, fd: int, base: int, *, ranged: bool) -> int:
        sink = FileSink(fd, new_hasher(self._digest), base=base)
        try:
            total = await self._fetch_all(sink, ranged)
            hasher = await sink.finish(total)
        except BaseException:
            await sink.abort()
            raise
        hasher.verify(self._digest, what=f"blob {self._digest}")
        return total

    async def _fetch_all(self, sink: FileSink, ranged: bool) -> int:
        if not ranged:
            return await self._one_stream(sink, await self._request(None, None))
        try:
            response = await self._request(0, self._first - 1)
        except HttpResponseError as exc:
            if exc.status_code == 416:  # an empty blob has no byte 0
                raise _NoRanges("the registry refused the first range (416)") from exc
            raise
        if response.status_code == 200:
            return await self._one_stream(sink, response)  # Range ignored: this answer is the whole blob
        try:
            first, last, total = _content_range(response)
        except ValueError as exc:
            await response.aclose()
            raise _NoRanges(f"the first range came with {exc}") from exc
        if first != 0 or total is None or last != min(self._first, total) - 1:
            await response.aclose()
            raise _NoRanges(f"asked for bytes 0-{self._first - 1}, got {first}-{last}/{total}")
        self._size = total
        self._pending.extend(split_ranges(last + 1, total, self._chunk))
        workers = min(self._concurrency, 1 + len(self._pending))
        funcs = [self._worker(sink, response if i == 0 else None, last + 1) for i in range(workers)]
        try:
            await run_bounded(funcs, workers, on_stop=self._stop)
        finally:
            await response.aclose()  # normally closed already (by the first worker)
        return total

    def _stop(self) -> None:
        self._stopped = True
        if self._extras is not None:
            self._extras.wake()  # a connection waiting for a slot ends

    def _worker(
        self, sink: FileSink, first: httpx.Response | None, first_end: int
    ) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            if first is not None:
                await self._fetch_range(sink, 0, first_end, first)
                self._wake_extras()
            # Within a budget, the first connection holds the download's slot; the others take one per range.
            extras = None if first is not None else self._extras
            while not self._stopped:
                if extras is not None and not await extras.slot(self._more):
                    return
                try:
                    if not self._pending:
                        return
                    start, end = self._pending.popleft()
                    await self._fetch_range(sink, start, end, None)
                finally:
                    if extras is not None:
                        extras.budget.release()
                self._wake_extras()

        return work

    def _more(self) -> bool:
        return bool(self._pending) and not self._stopped

    def _wake_extras(self) -> None:
        # A range finished: a slot may be free now, or no range is left (those waiting end).
        if self._extras is not None:
            self._extras.wake()

    async def _request(self, first: int | None, last: int | None) -> httpx.Response:
        headers = None
        if first is not None:
            headers = {"Range": f"bytes={first}-{'' if last is None else last}"}
        return await self._pipeline.send(
            "GET",
            self._url,
            scope=self._scope,
            action=self._action,
            headers=headers,
            stream=True,
            expect=(200, 206),
        )

    async def _open_range(self, start: int, end: int) -> httpx.Response:
        """A 206 for bytes `[start, end)`, or `_NoRanges`."""
        response = await self._request(start, end - 1)
        problem = range_answer_problem(
            response.status_code, response.headers.get("Content-Range", ""), start, end, self._size
        )
        if problem is not None:
            await response.aclose()
            raise _NoRanges(f"the registry {problem}")
        return response

    async def _fetch_range(
        self, sink: FileSink, start: int, end: int, response: httpx.Response | None
    ) -> None:
        """Bytes `[start, end)` into the sink, resuming after a cut (`response`: already open for them)."""
        cursor = _Cursor()
        failures = 0
        length = end - start
        while True:
            if self._stopped:
                raise _Stopped()
            if response is None:
                response = await self._open_range(start + cursor.received, end)
            try:
                await self._pump(sink, response, start, cursor, length, skip=0)
            except httpx.TransportError as exc:
                failures += 1
                if failures >= self._attempts:
                    raise ServiceRequestError(
                        f"{self._action} failed after {failures} attempts at byte {start + cursor.received} "
                        f"(range {start}-{end - 1}): {exc}"
                    ) from exc
                _LOGGER.info(
                    "%s interrupted at byte %d (%s); resuming", self._action, start + cursor.received, exc
                )
                await asyncio.sleep(self._pipeline.retry.delay(failures, None))
                continue
            finally:
                await response.aclose()
                response = None
            if cursor.received >= length:
                return
            failures += 1
            if failures >= self._attempts:
                raise ServiceRequestError(
                    f"{self._action} failed: range {start}-{end - 1} ended at byte {start + cursor.received}"
                )

    async def _one_stream(self, sink: FileSink, response: httpx.Response | None) -> int:
        """The whole blob on one connection (resumed with `bytes=N-`); returns its size."""
        cursor = _Cursor()
        failures = 0
        while True:
            skip = 0
            if response is None:
                response = await self._request(cursor.received, None)
                if response.status_code == 206:
                    try:
                        first, _last, total = _content_range(response)
                    except ValueError as exc:
                        await response.aclose()
                        raise ServiceRequestError(f"{self._action} failed: the registry sent {exc}") from exc
                    if first != cursor.received:
                        await response.aclose()
                        raise ServiceRequestError(
                            f"{self._action} failed: asked to resume at {cursor.received}, got {first}"
                        )
                    self._size = total if total is not None else self._size
                else:
                    skip = cursor.received  # the registry ignored Range: drop what we already have
            if self._size is None and response.status_code == 200:
                self._size = _content_length(response)
            try:
                await self._pump(sink, response, 0, cursor, self._size, skip=skip)
            except httpx.TransportError as exc:
                failures += 1
                if failures >= self._attempts:
                    raise ServiceRequestError(
                        f"{self._action} failed after {failures} attempts at {cursor.received} bytes: {exc}"
                    ) from exc
                _LOGGER.info("%s interrupted at %d bytes (%s); resuming", self._action, cursor.received, exc)
                await asyncio.sleep(self._pipeline.retry.delay(failures, None))
                continue
            finally:
                await response.aclose()
                response = None
            if self._size is None or cursor.received >= self._size:
                return cursor.received
            failures += 1
            if failures >= self._attempts:
                raise ServiceRequestError(
                    f"{self._action} failed: the body ended at {cursor.received} of {self._size} bytes"
                )

    async def _pump(
        self,
        sink: FileSink,
        response: httpx.Response,
        start: int,
        cursor: _Cursor,
        length: int | None,
        *,
        skip: int,
    ) -> None:
        """Copy the response body into the sink at `start + cursor.received`, in batches.

        On a cut (`httpx.TransportError`) the bytes received so far are handed over before it is raised,
        so a resumed request asks only for the rest.
        """
        batch: list[bytes] = []
        batched = 0
        try:
            async for chunk in response.aiter_raw():
                if self._stopped:
                    raise _Stopped()
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                    if not chunk:
                        continue
                if length is not None and cursor.received + batched + len(chunk) > length:
                    raise DigestValidationError(
                        f"{self._action} failed: the registry sent more bytes than the {length} asked for",
                        expected=self._digest,
                    )
                batch.append(chunk)
                batched += len(chunk)
                if batched >= _BATCH:
                    await self._hand_over(sink, start, cursor, batch, batched)
                    batch, batched = [], 0
        except httpx.TransportError:
            if batch:
                await self._hand_over(sink, start, cursor, batch, batched)
            raise
        if batch:
            await self._hand_over(sink, start, cursor, batch, batched)

    async def _hand_over(
        self, sink: FileSink, start: int, cursor: _Cursor, batch: list[bytes], batched: int
    ) -> None:
        await sink.write(start + cursor.received, batch, batched)
        cursor.received += batched
        async with self._lock:
            self._received += batched
            if self._progress is not None:
                self._progress(self._received, self._size)


def check_concurrency(value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError("max_concurrency must be an integer of at least 1")


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def positional_fd(file: BinaryIO) -> int | None:
    """The descriptor of a regular file open for reading and writing, not appending; else None.

    Ranges are written with `pwrite` at their offsets and read back for hashing with `pread`, which
    needs both; an append-mode descriptor would put every write at the end.
    """
    try:
        fd = file.fileno()
        if not file.seekable() or not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        import fcntl

        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except (AttributeError, OSError, ValueError, ImportError):
        return None
    if flags & os.O_ACCMODE != os.O_RDWR or flags & os.O_APPEND:
        return None
    return fd


def _content_range(response: httpx.Response) -> tuple[int, int, int | None]:
    return parse_content_range(response.headers.get("Content-Range", ""))


def _content_length(response: httpx.Response) -> int | None:
    length = response.headers.get("Content-Length")
    return int(length) if length is not None and length.isdigit() else None
