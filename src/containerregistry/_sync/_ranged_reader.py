# This file is generated from containerregistry/aio/_ranged_reader.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""RangedReader: a large blob of known size read on several connections at once and yielded IN ORDER.

`copy_image` relays a blob from one registry into an upload to another (`images/_async/_copier.py`).
One source GET is bounded by the source's per-connection throughput (tens of MB/s across the internet)
while the upload is not, so a blob above `max_single_get_size` is read by this module instead: the
size is known (the descriptor's), so the blob is split up front into ranges of `max_chunk_get_size`
bytes. Up to `max_concurrency` ranges are in the window at once, each fetched by its own task (a
thread in the generated sync twin) on its own connection into a `Channel`. The consumer takes them in
order: the head range's bytes are yielded as they arrive, the ranges after it are held until their
turn; when the head range is consumed, the next range enters the window. So at most
`max_concurrency x max_chunk_get_size` bytes are held (64 MiB with the defaults), whatever the blob's
size: memory stays constant, and a slow upload stops the reading at the window's end.

Each range holds one slot of `budget` (a semaphore the caller shares per registry: the copy's
connection budget) from its GET until its last byte is consumed, so the budget bounds both the
connections and the bytes held over a whole copy (slots x `max_chunk_get_size`). The next range in
order waits for a slot; ranges ahead of it are asked for once the first range came as a 206, and take
only slots free at that moment (a reader that waited for more while its own buffered ranges held slots
could deadlock with another).

A range cut short resumes from its next byte (`attempts` failures per range, the retry policy's
delays). Anything but a 206 with exactly the `Content-Range` asked for (a 200 from a registry or a
storage redirect that ignores `Range`, another range, another total size) ends the ranged read:
`read_in_order` then reads the blob on one stream (`BlobStream`, which resumes and verifies the digest
itself), dropping the bytes it already yielded. The ranged bytes are not hashed here: the one caller,
the relay's `StreamSource`, checks size and digest as they stream, before the upload's last byte.

The async twin runs the ranges as tasks, the sync twin (generated) on threads (`Background`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator

import httpx

from ..exceptions import RegistryProtocolError, ServiceRequestError
from ..protocol.http import range_answer_problem, split_ranges
from ._blob_stream import BlobStream
from ._pipeline import Pipeline
from ._shim import Background, Channel, Semaphore, try_acquire

__all__ = ["RangedReader", "read_in_order"]

_LOGGER = logging.getLogger("containerregistry")

_END = object()


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _NoRanges(Exception):
    """The registry (or the storage it redirects to) did not serve a range as asked: use one stream."""


class _Stopped(Exception):
    """The consumer went away; a range still running stops at its next chunk (threads cannot be interrupted)."""


class RangedReader:
    """The `size` bytes of the blob at `url`, in order, from ranges fetched on up to `max_concurrency`
    connections (`chunks()`); each range holds a slot of `budget` from its GET until it is consumed."""

    def __init__(
        self,
        pipeline: Pipeline,
        url: str,
        *,
        size: int,
        scope: tuple[str, ...],
        action: str,
        attempts: int,
        max_concurrency: int,
        max_chunk_get_size: int,
        budget: Semaphore,
    ) -> None:
        self._pipeline = pipeline
        self._url = url
        self._size = size
        self._scope = scope
        self.action = action
        self._attempts = max(1, attempts)
        self._concurrency = max(1, max_concurrency)
        self._chunk = max(1, max_chunk_get_size)
        self.budget = budget
        self._stopped = False
        #: The first range came as a 206: only then are the ranges after it asked for (a source that
        #: ignores Range would otherwise start sending the whole blob on every connection).
        self._served = False

    def chunks(self) -> Iterator[bytes]:
        """Yield the blob's bytes in order; `_NoRanges` when a range was not served as asked."""
        ranges = deque(split_ranges(0, self._size, self._chunk))
        window: deque[Channel] = deque()  # each holds one slot of the budget until it is consumed
        background = Background()

        def launch() -> None:
            start, end = ranges.popleft()
            channel = Channel()
            background.start(self._fetcher(channel, start, end))
            window.append(channel)

        try:
            while ranges or window:
                if not window:
                    # The next range in order: wait for a slot (this reader holds none, so no deadlock).
                    self.budget.acquire()
                    launch()
                head = window[0]
                while True:
                    # Ranges ahead of the head only take slots that are free now: a reader waiting for
                    # a slot while its own buffered ranges hold others could wait forever.
                    while (
                        self._served
                        and ranges
                        and len(window) < self._concurrency
                        and try_acquire(self.budget)
                    ):
                        launch()
                    item = head.get()
                    if item is _END:
                        break
                    if isinstance(item, _Failed):
                        raise item.exc
                    yield item
                window.popleft()
                self.budget.release()
        finally:
            self._stopped = True
            background.stop()
            for _ in window:
                self.budget.release()

    def _fetcher(self, channel: Channel, start: int, end: int) -> Callable[[], None]:
        def fetch() -> None:
            try:
                self._fetch_range(channel, start, end)
            except _Stopped:
                return
            except BaseException as exc:
                channel.put(_Failed(exc))  # raised by the consumer when this range's turn comes
                if not isinstance(exc, Exception):
                    raise  # cancelled or interrupted: the consumer is gone or going
                return
            channel.put(_END)

        return fetch

    def _fetch_range(self, channel: Channel, start: int, end: int) -> None:
        """Bytes `[start, end)` into `channel`, resuming after a cut."""
        received = 0
        failures = 0
        length = end - start
        while True:
            cut: httpx.TransportError | None = None
            if self._stopped:
                raise _Stopped()
            response = self._open(start + received, end)
            self._served = True
            try:
                for chunk in response.iter_raw():
                    if self._stopped:
                        raise _Stopped()
                    if received + len(chunk) > length:
                        raise RegistryProtocolError(
                            f"{self.action} failed: the registry sent more than the {length} bytes "
                            f"of range {start}-{end - 1}"
                        )
                    channel.put(chunk)
                    received += len(chunk)
            except httpx.TransportError as exc:
                cut = exc
            finally:
                response.close()
            if received >= length:
                return
            failures += 1
            if failures >= self._attempts:
                raise ServiceRequestError(
                    f"{self.action} failed after {failures} attempts at byte {start + received} "
                    f"(range {start}-{end - 1}): {cut or 'the body ended early'}"
                ) from cut
            _LOGGER.info(
                "%s interrupted at byte %d (%s); resuming", self.action, start + received, cut or "body ended"
            )
            time.sleep(self._pipeline.retry.delay(failures, None))

    def _open(self, start: int, end: int) -> httpx.Response:
        """A 206 for bytes `[start, end)` of this blob, or `_NoRanges`."""
        response = self._pipeline.send(
            "GET",
            self._url,
            scope=self._scope,
            action=self.action,
            headers={"Range": f"bytes={start}-{end - 1}"},
            stream=True,
            expect=(200, 206),
        )
        problem = range_answer_problem(
            response.status_code, response.headers.get("Content-Range", ""), start, end, self._size
        )
        if problem is not None:
            response.close()
            raise _NoRanges(f"the registry {problem}")
        return response


def read_in_order(reader: RangedReader, one_stream: Callable[[], BlobStream]) -> Iterator[bytes]:
    """The blob's bytes from `reader`; where ranges are not served, the rest from `one_stream()`.

    The single stream starts at byte 0 (it verifies the digest of the whole blob) and the bytes
    already yielded are dropped; it holds one slot of the reader's budget.
    """
    sent = 0
    chunks = reader.chunks()
    try:
        try:
            for chunk in chunks:
                sent += len(chunk)
                yield chunk
            return
        except _NoRanges as exc:
            _LOGGER.info("%s: %s; reading it as one stream", reader.action, exc)
    finally:
        closer = getattr(chunks, "close", None)
        if closer is not None:
            closer()
    with reader.budget, one_stream() as stream:
        for chunk in stream.iter_bytes():
            if sent:
                dropped = min(sent, len(chunk))
                chunk, sent = chunk[dropped:], sent - dropped
                if not chunk:
                    continue
            yield chunk
