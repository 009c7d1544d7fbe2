"""Upload sources: bytes, paths, file objects and iterables of bytes behind one small interface.

Owns `BlobData`, the type of what `upload_blob` accepts (exported as `containerregistry.BlobData` and
`containerregistry.aio.BlobData`), and `open_source`, which turns one into a `BlobSource`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol, TypeAlias, cast

from .protocol.digest import Hasher

__all__ = ["CHUNK", "BlobData", "BlobSource", "BinaryReader", "open_source"]


class BinaryReader(Protocol):
    """A binary file object, as far as an upload needs one: `read(n) -> bytes`.

    `seekable()`, `tell()` and `seek()` are used when present, to learn the size and to rewind for a
    resumed upload; a stream without them is sent once, from its current position.
    """

    def read(self, size: int, /) -> bytes: ...


#: What `upload_blob` accepts: bytes-like content, a path (`str` or `os.PathLike`) to a file, a binary file
#: object (read from its current position), or an iterable of bytes chunks (sent as they come, so it
#: cannot be rewound: an interrupted single-request upload of one is not resumed). A file opened in text
#: mode is refused (`TypeError`), as is an async iterable.
BlobData: TypeAlias = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryReader | Iterable[bytes]

#: Transfer chunk size: large enough that per-chunk overhead (hashing calls, syscalls) is noise.
CHUNK = 1 << 20


class BlobSource:
    """A readable blob with an optional known size; seekable sources can resume an upload."""

    size: int | None = None
    seekable = False

    def read(self, n: int) -> bytes:
        raise NotImplementedError

    def read_full(self, n: int) -> bytes:
        """Read exactly `n` bytes, fewer only at the end of the source."""
        first = self.read(n)
        if len(first) == n or not first:
            return first
        parts = [first]
        got = len(first)
        while got < n:
            chunk = self.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def seek(self, offset: int) -> None:
        raise OSError("this upload source cannot be rewound: it is an iterable or a non-seekable stream")

    def close(self) -> None:
        """Release what the source opened itself (never the caller's file object)."""

    def rehash(self, offset: int, algorithm: str = "sha256") -> Hasher:
        """Hash the first `offset` bytes again and leave the source positioned at `offset`.

        Used when an upload resumes at the registry's offset: the running hash is rebuilt from the
        source rather than kept for every position.
        """
        self.seek(0)
        hasher = Hasher(algorithm)
        remaining = offset
        while remaining:
            chunk = self.read(min(CHUNK, remaining))
            if not chunk:
                raise OSError(f"upload source ended at {offset - remaining} bytes, before offset {offset}")
            hasher.update(chunk)
            remaining -= len(chunk)
        return hasher


class _BytesSource(BlobSource):
    seekable = True

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self.size = len(self._view)
        self._pos = 0

    def read(self, n: int) -> bytes:
        chunk = self._view[self._pos : self._pos + n]
        self._pos += len(chunk)
        return bytes(chunk)

    def seek(self, offset: int) -> None:
        self._pos = offset


class _FileSource(BlobSource):
    def __init__(self, file: BinaryIO, *, owned: bool) -> None:
        self._file = file
        self._owned = owned
        self._start = 0
        try:
            self.seekable = bool(file.seekable())
        except (AttributeError, ValueError, OSError):
            self.seekable = False
        if self.seekable:
            self._start = file.tell()
            end = file.seek(0, io.SEEK_END)
            file.seek(self._start)
            self.size = end - self._start

    def read(self, n: int) -> bytes:
        data = self._file.read(n)
        if data is None:  # a non-blocking raw stream with nothing ready
            raise OSError("upload source returned None: non-blocking streams are not supported")
        return bytes(data) if not isinstance(data, bytes) else data

    def seek(self, offset: int) -> None:
        if not self.seekable:
            super().seek(offset)
        self._file.seek(self._start + offset)

    def close(self) -> None:
        if self._owned:
            self._file.close()


class _IterableSource(BlobSource):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._iter: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def read(self, n: int) -> bytes:
        # Pass large chunks through as they come; only split what exceeds n.
        if not self._pending:
            for chunk in self._iter:
                if chunk:
                    if not isinstance(chunk, (bytes, bytearray, memoryview)):
                        raise TypeError(f"upload iterable yielded {type(chunk).__name__}, expected bytes")
                    self._pending = bytes(chunk)
                    break
            else:
                return b""
        chunk, self._pending = self._pending[:n], self._pending[n:]
        return chunk


def open_source(data: BlobData) -> BlobSource:
    """Wrap what `upload_blob` accepts (`BlobData`): bytes-like, a path, a binary file object, or an
    iterable of bytes; anything else is a `TypeError` (also at run time, for untyped callers)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _BytesSource(data)
    if isinstance(data, (str, os.PathLike)):
        return _FileSource(open(data, "rb"), owned=True)
    if hasattr(data, "read"):
        if isinstance(data, io.TextIOBase):
            raise TypeError("upload_blob needs a binary file object (open the file with 'rb')")
        return _FileSource(cast(BinaryIO, data), owned=False)
    if isinstance(data, Iterable):
        return _IterableSource(data)
    raise TypeError(
        f"cannot upload {type(data).__name__}: pass bytes, a path, a binary file or an iterable of bytes"
    )
