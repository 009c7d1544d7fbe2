"""`StreamSource`: an upload source read from an async iterator of bytes (in the sync twin, an iterator).

This is the async source; `containerregistry._sync._stream_source` is generated from it by scripts/unasync.py.

It owns what lets `upload_blob` send a stream it cannot seek, without staging it in memory or a file: a
blob relayed from another registry (`copy_image`), or an async iterable a caller hands over. Optionally it
carries the digest and size the bytes must have (the uploader verifies them before the last byte is sent
and before the commit: a wrong source never gets committed), and a `reopen` function that reads the
stream again from its start, which makes an interrupted upload resumable (the prefix up to the
registry's offset is read again and hashed, then the upload goes on from that offset).
`open_upload` turns what `upload_blob` accepts into a source.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from .._blob_source import CHUNK, BlobSource, open_source
from ..exceptions import DigestValidationError
from ..protocol.digest import Hasher

__all__ = ["StreamSource", "open_upload"]


class StreamSource(BlobSource):
    """Bytes pulled from an async iterator, in the chunks it yields (split only where larger than asked).

    Args:
        chunks: the iterator; None to start with `reopen()`.
        size: the size the stream must have, if known.
        digest: the digest the stream must have, if known (checked as it streams by the uploader).
        reopen: returns a fresh iterator over the same bytes from the start; without it the source
            cannot be rewound, so an interrupted single-request upload is not resumed.
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes] | None,
        *,
        size: int | None = None,
        digest: str | None = None,
        reopen: Callable[[], AsyncIterator[bytes]] | None = None,
    ) -> None:
        if chunks is None and reopen is None:
            raise ValueError("StreamSource needs an iterator or a reopen function")
        self._chunks = chunks
        self._reopen = reopen
        self._pending = b""
        self.size = size
        self.expected = digest
        self.seekable = reopen is not None

    async def pull(self, n: int) -> bytes:
        """Up to `n` bytes; b"" at the end of the stream."""
        if not self._pending:
            if self._chunks is None:
                assert self._reopen is not None
                self._chunks = self._reopen()
            while True:
                try:
                    chunk = await self._chunks.__anext__()
                except StopAsyncIteration:
                    return b""
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError(f"upload iterable yielded {type(chunk).__name__}, expected bytes")
                if chunk:
                    self._pending = chunk if isinstance(chunk, bytes) else bytes(chunk)
                    break
        if len(self._pending) <= n:
            chunk, self._pending = self._pending, b""
            return chunk
        chunk, self._pending = self._pending[:n], self._pending[n:]
        return chunk

    async def pull_full(self, n: int) -> bytes:
        """Exactly `n` bytes, fewer only at the end of the stream."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = await self.pull(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    async def rewind(self, offset: int, algorithm: str = "sha256") -> Hasher:
        """Read the stream again from its start, hash its first `offset` bytes and stay there."""
        if self._reopen is None:
            raise OSError("this upload source cannot be rewound: it is a one-pass stream")
        await self.aclose()
        self._chunks = self._reopen()
        hasher = Hasher(algorithm)
        remaining = offset
        while remaining:
            chunk = await self.pull(min(CHUNK, remaining))
            if not chunk:
                raise OSError(f"upload source ended at {offset - remaining} bytes, before offset {offset}")
            hasher.update(chunk)
            remaining -= len(chunk)
        return hasher

    def check(self, hasher: Hasher) -> None:
        """Raise `DigestValidationError` once what was read cannot be the expected blob.

        Called after each chunk is hashed and BEFORE it is sent: when the last byte is in, the digest
        is compared, so a registry never receives all of a wrong blob.
        """
        if self.size is None:
            return  # without a size, only the commit can tell (see `check_end`)
        if hasher.size > self.size:
            raise DigestValidationError(
                f"the upload source sent more than the {self.size} bytes it announced",
                expected=self.expected or "",
            )
        if hasher.size == self.size:
            self.check_end(hasher)

    def check_end(self, hasher: Hasher) -> None:
        """Raise `DigestValidationError` unless everything read hashes to the expected digest and size."""
        if self.size is not None and hasher.size != self.size:
            raise DigestValidationError(
                f"the upload source ended at {hasher.size} bytes, not the {self.size} it announced",
                expected=self.expected or "",
            )
        if self.expected is not None and hasher.digest != self.expected:
            raise DigestValidationError(
                f"the upload source does not match its digest: expected {self.expected}, got {hasher.digest}",
                expected=self.expected,
                actual=hasher.digest,
            )

    async def aclose(self) -> None:
        """Close the current iterator (its `async with` blocks exit, its connection is released)."""
        chunks, self._chunks, self._pending = self._chunks, None, b""
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()


def open_upload(data: Any) -> BlobSource:
    """What `upload_blob` accepts as a source; an async iterable of bytes becomes a one-pass `StreamSource`."""
    if isinstance(data, BlobSource):
        return data
    if isinstance(data, (bytes, bytearray, memoryview, str, os.PathLike)) or hasattr(data, "read"):
        return open_source(data)
    if hasattr(data, "__aiter__"):
        return StreamSource(data.__aiter__())
    return open_source(data)
