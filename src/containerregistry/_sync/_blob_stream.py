# This file is generated from containerregistry/aio/_blob_stream.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""BlobStream: one blob being downloaded, resumed with `Range` after a dropped connection and verified
against its digest when it ends. The content client opens it (`download_blob_streaming`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from types import TracebackType

import httpx

from .._common import ProgressCallback
from ..exceptions import DigestValidationError, RegistryProtocolError, ServiceRequestError
from ..protocol.digest import new_hasher
from ..protocol.http import parse_content_range, redact_url
from ._pipeline import Pipeline
from ._shim import PipelinedHasher

__all__ = ["BlobStream"]

_LOGGER = logging.getLogger("containerregistry")


class BlobStream:
    """A blob being downloaded: iterate `iter_bytes()` or call `read()`; verifies the digest at the end."""

    def __init__(
        self,
        pipeline: Pipeline,
        url: str,
        digest: str,
        *,
        scope: tuple[str, ...],
        action: str,
        attempts: int,
        progress: ProgressCallback | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._url = url
        self.digest = digest
        self._scope = scope
        self._action = action
        self._attempts = attempts
        self._progress = progress
        self._hasher = PipelinedHasher(new_hasher(digest))
        self._received = 0
        self._response: httpx.Response | None = None
        #: Total size, when the registry said (Content-Length or Content-Range).
        self.size: int | None = None
        self._done = False

    @property
    def bytes_received(self) -> int:
        return self._received

    def __enter__(self) -> BlobStream:
        self._open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> None:
        offset = self._received
        headers = {"Range": f"bytes={offset}-"} if offset else None
        response = self._pipeline.send(
            "GET",
            self._url,
            scope=self._scope,
            action=self._action,
            headers=headers,
            stream=True,
            expect=(200, 206),
        )
        skip = 0
        if response.status_code == 206:
            try:
                start, _end, total = _content_range(response, self._action)
            except RegistryProtocolError:
                response.close()
                raise
            if start != offset:
                response.close()
                raise RegistryProtocolError(
                    f"{self._action} failed: asked to resume at byte {offset}, the registry sent a 206 "
                    f"from byte {start} (GET {redact_url(str(response.request.url))})"
                )
            if total is not None:
                self.size = total
        else:
            skip = offset  # the registry ignored Range: drop what we already have
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit():
                self.size = int(length)
        self._response = response
        self._skip = skip

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the blob's bytes; the last step verifies the digest."""
        failures = 0
        while not self._done:
            if self._response is None:
                self._open()
            response = self._response
            assert response is not None
            try:
                for chunk in response.iter_raw():
                    if self._skip:
                        dropped = min(self._skip, len(chunk))
                        chunk, self._skip = chunk[dropped:], self._skip - dropped
                        if not chunk:
                            continue
                    self._hasher.update(chunk)
                    self._received += len(chunk)
                    if self.size is not None and self._received > self.size:
                        raise DigestValidationError(
                            f"{self._action} failed: the registry sent more bytes than the {self.size} it announced",
                            expected=self.digest,
                        )
                    if self._progress is not None:
                        self._progress(self._received, self.size)
                    yield chunk
            except httpx.TransportError as exc:
                failures += 1
                self._drop_response()
                if failures >= self._attempts:
                    raise ServiceRequestError(
                        f"{self._action} failed after {failures} attempts at {self._received} bytes: {exc}"
                    ) from exc
                _LOGGER.info("%s interrupted at %d bytes (%s); resuming", self._action, self._received, exc)
                time.sleep(self._pipeline.retry.delay(failures, None))
                continue
            self._drop_response()
            if self.size is not None and self._received < self.size:
                failures += 1
                if failures >= self._attempts:
                    raise ServiceRequestError(
                        f"{self._action} failed: the body ended at {self._received} of {self.size} bytes"
                    )
                continue
            self._done = True
        (self._hasher.flush()).verify(self.digest, what=f"blob {self.digest}")

    def read(self) -> bytes:
        """Read the rest of the blob into memory."""
        buffer = bytearray()
        for chunk in self.iter_bytes():
            buffer += chunk
        return bytes(buffer)

    def _drop_response(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            response.close()

    def close(self) -> None:
        self._drop_response()


def _content_range(response: httpx.Response, action: str) -> tuple[int, int, int | None]:
    try:
        return parse_content_range(response.headers.get("Content-Range", ""))
    except ValueError as exc:
        raise RegistryProtocolError(
            f"{action} failed: the registry sent a malformed Content-Range in its 206 answer "
            f"(GET {redact_url(str(response.request.url))}): {exc}"
        ) from exc
