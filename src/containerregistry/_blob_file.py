"""BlobFileWriter: a blob's bytes written into a file at their offsets, hashed in order, on worker threads.

A download to a file hands batches of received bytes to `BlobFileWriter.put(offset, chunks)`. Two threads
of its own do the rest, so the receiving side (an event loop, or the threads reading the sockets) only
receives:

- the writer thread writes each batch in place (`os.pwritev`: ranges fetched on several connections
  arrive out of order) and, on Linux, starts its writeback at once (`sync_file_range`), waiting for the
  oldest batches' writeback a few batches later, so the fsync before the rename has little left to do
  and dirty memory stays bounded;
- the hasher thread hashes the contiguous prefix of what is written, in order: straight from the batch
  when it is the next piece (one stream), otherwise read back from the page cache (`os.pread`: ranges
  that completed ahead of the prefix are never held in memory).

Memory is bounded: at most `max_backlog` bytes wait for the writer and `max_backlog` for the hasher; `put`
blocks (or, with `try_put`, refuses) beyond that. Both threads release the GIL in the system calls and in
hashlib, so the three stages run on separate cores when there are any. The async twin drives it through
`aio._shim.FileSink`, the sync one through `_sync._shim.FileSink`.
"""

from __future__ import annotations

import _thread
import collections
import os
import threading
from collections.abc import Callable

from ._files import SYNC_WAIT_AFTER as _WAIT_AFTER
from ._files import SYNC_WAIT_BEFORE as _WAIT_BEFORE
from ._files import SYNC_WRITE as _WRITE
from ._files import sync_file_range as _sync_file_range
from .protocol.digest import Hasher

__all__ = ["BlobFileWriter"]

#: Written bytes whose writeback was started but not waited for, before the oldest is waited for.
_WRITEBACK_LAG = 32 << 20
#: Bytes read back per `pread` when the hasher catches up with ranges that completed ahead of it.
_READ_BACK = 1 << 20
#: Default bound of bytes queued for the writer (and, separately, held for the hasher).
MAX_BACKLOG = 4 << 20


def _start(target: Callable[[], None], idents: set[int]) -> threading.Event:
    """Run `target` on a new thread without waiting for it to start; the event is set when it has ended.

    `threading.Thread.start` waits on the caller's thread until the new one runs: on a loaded machine
    that wait alone stalled the event loop of an async download for milliseconds per blob.
    """
    ended = threading.Event()

    def run() -> None:
        idents.add(threading.get_ident())
        try:
            target()
        finally:
            ended.set()

    _thread.start_new_thread(run, ())
    return ended


class _Closed(Exception):
    """Raised by `put` after `abort` (or after a thread failed and the error was already taken)."""


class BlobFileWriter:
    """Writes batches at their offsets into `fd` and hashes bytes `[0, n)` in order as they complete.

    `put`/`try_put` may be called from any thread. `finish(total)` waits until `[0, total)` is written and
    hashed and returns the hasher; `abort()` stops both threads. Either must be called before `fd` is
    closed, and after either returned no thread touches `fd` again. `base` is added to every offset (a
    file object's position when the download started).
    """

    def __init__(
        self,
        fd: int,
        hasher: Hasher,
        *,
        base: int = 0,
        max_backlog: int = MAX_BACKLOG,
        on_room: Callable[[], None] | None = None,
        writeback: bool = True,
    ) -> None:
        self._fd = fd
        self._hasher = hasher
        self._base = base
        self._max_backlog = max_backlog
        self._on_room = on_room
        self._writeback = writeback and _sync_file_range is not None
        self._state = threading.Condition()
        self._queue: collections.deque[tuple[int, list[bytes], int]] = collections.deque()
        self._queued = 0  # bytes in _queue (and the batch being written)
        self._waiting_room = False
        self._stopped = False
        self._error: BaseException | None = None
        # Written intervals beyond the contiguous prefix [0, _prefix): start -> end.
        self._prefix = 0
        self._ahead: dict[int, int] = {}
        # Batches handed to the hasher in memory: consecutive from _mem_next's history, offset order.
        self._for_hasher: collections.deque[tuple[int, list[bytes], int]] = collections.deque()
        self._for_hasher_bytes = 0
        self._mem_next = 0
        self._hashed = 0
        self._in_flight: collections.deque[tuple[int, int]] = collections.deque()
        self._in_flight_bytes = 0
        self._read_buffer: bytearray | None = None  # reused: read-backs allocate nothing
        self._idents: set[int] = set()
        self._threads = (_start(self._write_loop, self._idents), _start(self._hash_loop, self._idents))

    # -- the receiving side ----------------------------------------------------------------------

    def try_put(self, offset: int, chunks: list[bytes], nbytes: int) -> bool:
        """Queue a batch unless the backlog is full (then False: `on_room` is called when it is not)."""
        with self._state:
            self._raise_if_stopped()
            if self._queued and self._queued + nbytes > self._max_backlog:
                self._waiting_room = True
                return False
            self._queue.append((offset, chunks, nbytes))
            self._queued += nbytes
            self._state.notify_all()
            return True

    def put(self, offset: int, chunks: list[bytes], nbytes: int) -> None:
        """Queue a batch, waiting while the backlog is full."""
        with self._state:
            while True:
                self._raise_if_stopped()
                if not self._queued or self._queued + nbytes <= self._max_backlog:
                    break
                self._state.wait()
            self._queue.append((offset, chunks, nbytes))
            self._queued += nbytes
            self._state.notify_all()

    def finish(self, total: int) -> Hasher:
        """Wait until `[0, total)` is written and hashed; stop the threads; the hasher covers those bytes.

        Raises:
            OSError: a write or read-back failed (e.g. the disk is full).
            RuntimeError: `[0, total)` was not all given (a bug of the caller).
        """
        with self._state:
            while self._error is None and (self._queue or self._queued or self._hashed < total):
                if not self._queue and not self._queued and self._prefix < total:
                    self._error = RuntimeError(f"bytes {self._prefix}-{total} were never written")
                    break
                self._state.wait()
            error = self._error
        self.abort()
        if error is not None:
            raise error
        if self._hashed != total:
            raise RuntimeError(f"hashed {self._hashed} bytes, expected {total}")
        return self._hasher

    def abort(self) -> None:
        """Stop both threads and wait for them (whatever is queued is dropped)."""
        with self._state:
            self._stopped = True
            self._state.notify_all()
        if threading.get_ident() in self._idents:
            return  # on one of our threads: it cannot wait for itself
        for ended in self._threads:
            ended.wait()

    def _raise_if_stopped(self) -> None:
        if self._error is not None:
            raise self._error
        if self._stopped:
            raise _Closed("the download was stopped")

    # -- the writer thread -----------------------------------------------------------------------

    def _write_loop(self) -> None:
        try:
            while True:
                with self._state:
                    while not self._queue and not self._stopped:
                        self._state.wait()
                    if self._stopped:
                        return
                    offset, chunks, nbytes = self._queue.popleft()
                self._pwrite_all(offset, chunks, nbytes)
                self._start_writeback(offset, nbytes)
                with self._state:
                    self._queued -= nbytes
                    self._mark_written(offset, nbytes, chunks)
                    self._state.notify_all()
                    wake, self._waiting_room = self._waiting_room, False
                if wake and self._on_room is not None:
                    self._on_room()
        except BaseException as exc:
            self._fail(exc)

    def _pwrite_all(self, offset: int, chunks: list[bytes], nbytes: int) -> None:
        position = self._base + offset
        written = (
            os.pwritev(self._fd, chunks, position)
            if len(chunks) > 1
            else os.pwrite(self._fd, chunks[0], position)
        )
        if written != nbytes:  # a short write: finish it piece by piece
            rest = memoryview(b"".join(chunks))[written:]
            position += written
            while rest:
                n = os.pwrite(self._fd, rest, position)
                rest, position = rest[n:], position + n

    def _start_writeback(self, offset: int, nbytes: int) -> None:
        if not self._writeback or _sync_file_range is None:
            return
        start = self._base + offset
        _sync_file_range(self._fd, start, nbytes, _WRITE)
        self._in_flight.append((start, nbytes))
        self._in_flight_bytes += nbytes
        while self._in_flight_bytes > _WRITEBACK_LAG:
            old_start, old_length = self._in_flight.popleft()
            self._in_flight_bytes -= old_length
            _sync_file_range(self._fd, old_start, old_length, _WAIT_BEFORE | _WRITE | _WAIT_AFTER)

    def _mark_written(self, offset: int, nbytes: int, chunks: list[bytes]) -> None:
        # (holding the lock) extend the contiguous prefix; hand the batch to the hasher in memory when
        # it continues the batches handed so far and the hasher's backlog has room.
        end = offset + nbytes
        if offset == self._prefix:
            self._prefix = end
            while self._prefix in self._ahead:
                self._prefix = self._ahead.pop(self._prefix)
        else:
            self._ahead[offset] = end
        if offset == self._mem_next:
            self._mem_next = end
            if self._for_hasher_bytes + nbytes <= self._max_backlog:
                self._for_hasher.append((offset, chunks, nbytes))
                self._for_hasher_bytes += nbytes

    # -- the hasher thread -----------------------------------------------------------------------

    def _hash_loop(self) -> None:
        try:
            while True:
                with self._state:
                    while self._hashed >= self._prefix and not self._stopped:
                        self._state.wait()
                    if self._stopped:
                        return
                    hashed, prefix = self._hashed, self._prefix
                    batch = None
                    while self._for_hasher and self._for_hasher[0][0] < hashed:  # already read back
                        self._for_hasher_bytes -= self._for_hasher.popleft()[2]
                    if self._for_hasher and self._for_hasher[0][0] == hashed:
                        batch = self._for_hasher.popleft()
                        self._for_hasher_bytes -= batch[2]
                        limit = prefix
                    else:
                        limit = min(prefix, self._for_hasher[0][0]) if self._for_hasher else prefix
                if batch is not None:
                    for chunk in batch[1]:
                        self._hasher.update(chunk)
                    done = batch[2]
                else:
                    done = self._read_back(hashed, min(limit - hashed, _READ_BACK))
                with self._state:
                    self._hashed = hashed + done
                    self._state.notify_all()
        except BaseException as exc:
            self._fail(exc)

    def _read_back(self, offset: int, length: int) -> int:
        if self._read_buffer is None:
            self._read_buffer = bytearray(_READ_BACK)
        view = memoryview(self._read_buffer)[:length]
        n = os.preadv(self._fd, [view], self._base + offset)
        if n <= 0:
            raise OSError(f"could not read back bytes at {offset} of the file being downloaded")
        self._hasher.update(view[:n])
        return n

    def _fail(self, exc: BaseException) -> None:
        with self._state:
            if self._error is None:
                self._error = exc
            self._stopped = True
            self._state.notify_all()
        if self._on_room is not None:
            self._on_room()
