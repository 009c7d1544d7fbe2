"""The blob upload engine: the I/O of a monolithic, streamed or chunked, resumable blob upload.

It owns the requests of an upload (open a session, PATCH the blob in one stream or in chunks, ask the
session's offset, commit with `PUT ?digest=`) and the state they carry (the session's Location, the hash of
what the registry acknowledged, the chunk in flight). Every decision (resume or give up, from which
offset, in a new session or the same one, where a chunk starts) is made by
`protocol.upload.UploadMachine`; this module only performs it. `ContainerRegistryContentClient.upload_blob`
is its caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from .._blob_source import CHUNK, BlobSource
from .._common import ProgressCallback, login_server_of
from ..exceptions import (
    ClientAuthenticationError,
    DigestValidationError,
    HttpResponseError,
    RegistryProtocolError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from ..protocol.digest import Hasher
from ..protocol.http import add_query, join_location, redact_url
from ..protocol.reference import Reference
from ..protocol.results import UploadRegistryBlobResult
from ..protocol.upload import (
    AskOffset,
    Failure,
    GiveUp,
    Resume,
    StartOver,
    UploadMachine,
    next_chunk,
    stream_headers,
)
from ._pipeline import AsyncPipeline
from ._stream_source import StreamSource

__all__ = ["BlobUploader", "check_digest_header", "head_blob", "upload_location"]

_LOGGER = logging.getLogger("containerregistry")


@dataclass
class _UploadState:
    """One upload in progress: where to send next, and the hash of what the registry acknowledged."""

    location: str
    hasher: Hasher
    pending: bytes = b""  # chunked mode: the chunk in flight
    resume_at: int | None = None  # chunked mode, non-seekable source: offset inside `pending`


class BlobUploader:
    """Uploads blobs into one repository through the client's pipeline.

    Args:
        pipeline: the content client's pipeline.
        name: the repository (a `Reference` without tag or digest): its name and token scopes.
        attempts: how many failures end an upload.
    """

    def __init__(
        self,
        pipeline: AsyncPipeline,
        name: Reference,
        *,
        attempts: int,
    ) -> None:
        self._pipeline = pipeline
        self._name = name
        self._repository = name.repository
        self._attempts = attempts
        self._base = f"{pipeline.endpoint}/v2/{name.repository}"
        self._scope = (name.scope("pull", "push"),)

    async def upload(
        self, source: BlobSource, progress: ProgressCallback | None, chunk_size: int | None, action: str
    ) -> UploadRegistryBlobResult:
        """Send `source` and commit it; resume as `UploadMachine` says after each failure."""
        machine = UploadMachine(attempts=self._attempts, seekable=source.seekable, chunked=bool(chunk_size))
        state = _UploadState(await self.start_session(action), Hasher())
        while True:
            try:
                try:
                    if chunk_size:
                        await self._send_chunks(state, source, chunk_size, progress, action)
                    else:
                        await self._send_stream(state, source, progress, action)
                    if isinstance(source, StreamSource):
                        source.check_end(state.hasher)  # a wrong stream is never committed
                except DigestValidationError:
                    await self._cancel(state.location, action)
                    raise
                digest = state.hasher.digest
                await self._commit(state.location, digest, action)
                break
            except (ServiceRequestError, HttpResponseError, httpx.StreamError) as exc:
                step = machine.failed(
                    _failure(exc), acknowledged=state.hasher.size, pending=len(state.pending)
                )
                if isinstance(step, GiveUp):
                    raise
                if machine.refusals:
                    # The offset we resumed from was stale (the registry was still storing the bytes of
                    # the cut request): same session, ask the offset again.
                    _LOGGER.info(
                        "%s: the registry refused the range (%s); asking its offset again", action, exc
                    )
                else:
                    _LOGGER.info("%s interrupted at %d bytes (%s); resuming", action, state.hasher.size, exc)
                await asyncio.sleep(self._pipeline.retry.delay(machine.retry_number, None))
                if isinstance(step, AskOffset):
                    step = await self._ask_offset(machine, state, action)
                if isinstance(step, StartOver):
                    state.location = await self.start_session(action)
                    step = machine.restarted()
                if not isinstance(step, Resume):
                    raise
                if step.rewind:
                    state.hasher, state.pending = await _rehash(source, step.offset), b""
                else:
                    state.resume_at = step.offset  # within the chunk we still hold in memory
        return UploadRegistryBlobResult(digest=digest, size=state.hasher.size)

    async def start_session(self, action: str) -> str:
        """POST a new upload session; its absolute Location."""
        response = await self._pipeline.send(
            "POST",
            f"{self._base}/blobs/uploads/",
            scope=self._scope,
            action=action,
            headers={"Content-Length": "0"},
            expect=(202,),
        )
        return upload_location(self._pipeline.endpoint, response, action)

    async def _send_stream(
        self, state: _UploadState, source: BlobSource, progress: ProgressCallback | None, action: str
    ) -> None:
        """One PATCH carrying the rest of the blob, hashed as it is read."""
        hasher = state.hasher
        headers = stream_headers(hasher.size, source.size)
        if headers is None:
            return  # nothing left to send (an empty blob, or the registry already holds it all)
        total = source.size
        stream = source if isinstance(source, StreamSource) else None
        failed: list[BaseException] = []  # what the body raised: the transport may wrap or hide it

        async def body() -> AsyncIterator[bytes]:
            try:
                while True:
                    chunk = await stream.pull(CHUNK) if stream is not None else source.read(CHUNK)
                    if not chunk:
                        return
                    hasher.update(chunk)
                    if stream is not None:
                        stream.check(
                            hasher
                        )  # before the chunk is sent: the last byte of a wrong blob never is
                    if progress is not None:
                        progress(hasher.size, total)
                    yield chunk
            except BaseException as exc:
                failed.append(exc)
                raise

        try:
            response = await self._pipeline.send(
                "PATCH",
                state.location,
                scope=self._scope,
                action=action,
                headers=headers,
                content=body(),
                expect=(202, 204),
                retry=False,
            )
        except BaseException:
            if failed and not isinstance(failed[0], GeneratorExit):
                raise failed[0] from None
            raise
        if source.size is not None and hasher.size != source.size:
            raise ServiceRequestError(f"{action} failed: the source changed size while uploading")
        if "Location" in response.headers:
            state.location = upload_location(self._pipeline.endpoint, response, action)

    async def _send_chunks(
        self,
        state: _UploadState,
        source: BlobSource,
        chunk_size: int,
        progress: ProgressCallback | None,
        action: str,
    ) -> None:
        """PATCH chunks with Content-Range; the hash covers only chunks the registry acknowledged.

        The chunk in flight stays in memory, so even a non-seekable source resumes within it.
        """
        while True:
            if not state.pending:
                state.pending = (
                    await source.pull_full(chunk_size)
                    if isinstance(source, StreamSource)
                    else source.read_full(chunk_size)
                )
                if not state.pending:
                    return
            chunk = next_chunk(state.hasher.size, len(state.pending), state.resume_at)
            state.resume_at = None
            if chunk.length > 0:
                response = await self._pipeline.send(
                    "PATCH",
                    state.location,
                    scope=self._scope,
                    action=action,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": chunk.content_range,
                        "Content-Length": str(chunk.length),
                    },
                    content=state.pending[chunk.skip :],
                    expect=(202, 204),
                    retry=False,
                )
                if "Location" in response.headers:
                    state.location = upload_location(self._pipeline.endpoint, response, action)
            state.hasher.update(state.pending)
            state.pending = b""
            if progress is not None:
                progress(state.hasher.size, source.size)

    async def _ask_offset(
        self, machine: UploadMachine, state: _UploadState, action: str
    ) -> GiveUp | StartOver | Resume:
        """GET the session's status and let the machine read it; a new Location is kept."""
        try:
            response = await self._pipeline.send(
                "GET", state.location, scope=self._scope, action=action, expect=(204, 200)
            )
        except (HttpResponseError, ServiceRequestError) as exc:
            _LOGGER.info("%s: upload session unusable (%s); starting over", action, exc)
            return machine.offset_unknown()
        step = machine.offset_reported(response.headers.get("Range"))
        if isinstance(step, StartOver):
            _LOGGER.info(
                "%s: registry reports an unusable offset (%r); starting over",
                action,
                response.headers.get("Range"),
            )
        elif "Location" in response.headers:
            state.location = upload_location(self._pipeline.endpoint, response, action)
        return step

    async def _cancel(self, location: str, action: str) -> None:
        """Best effort: DELETE an upload session that will not be committed (the registry drops its bytes)."""
        try:
            await self._pipeline.send(
                "DELETE", location, scope=self._scope, action=action, expect=(204, 200, 202, 404), retry=False
            )
        except (HttpResponseError, ServiceRequestError, httpx.HTTPError) as exc:
            _LOGGER.info("%s: could not cancel the upload session (%s)", action, exc)

    async def _commit(self, location: str, digest: str, action: str) -> None:
        try:
            response = await self._pipeline.send(
                "PUT",
                add_query(location, digest=digest),
                scope=self._scope,
                action=action,
                headers={"Content-Length": "0"},
                expect=(201, 204),
            )
        except ResourceNotFoundError:
            # The commit may have landed before a retry lost its answer: the blob then exists.
            if await head_blob(self._pipeline, self._name, digest):
                return
            raise
        check_digest_header(response, digest, action)


async def head_blob(pipeline: AsyncPipeline, name: Reference, digest: str) -> bool:
    """True when the repository `name` holds the blob `digest` (HEAD); the content client's `blob_exists`."""
    repository = name.repository
    try:
        await pipeline.send(
            "HEAD",
            f"{pipeline.endpoint}/v2/{repository}/blobs/{digest}",
            scope=(name.scope("pull"),),
            action=f"check blob {digest} in {login_server_of(pipeline.endpoint)}/{repository}",
        )
    except ResourceNotFoundError:
        return False
    return True


def upload_location(endpoint: str, response: httpx.Response, action: str) -> str:
    """The absolute upload URL of a session answer's `Location` header."""
    location = response.headers.get("Location")
    where = f"{response.status_code} to {response.request.method} {redact_url(str(response.request.url))}"
    if not location:
        raise RegistryProtocolError(
            f"{action} failed: the registry's answer has no upload Location ({where})"
        )
    try:
        url = join_location(endpoint, location)
    except ValueError:
        url = ""
    if urlsplit(url).scheme not in ("http", "https"):
        raise RegistryProtocolError(
            f"{action} failed: the registry's upload Location is not an http(s) URL ({where})"
        ) from None
    return url


def check_digest_header(response: httpx.Response, expected: str, action: str) -> None:
    """Refuse an answer whose `Docker-Content-Digest` names another digest than `expected`."""
    header = response.headers.get("Docker-Content-Digest")
    if header and header.strip() != expected:
        raise DigestValidationError(
            f"{action} failed: the registry reports digest {header.strip()[:80]}, expected {expected}",
            expected=expected,
            actual=header.strip()[:80],
        )


async def _rehash(source: BlobSource, offset: int) -> Hasher:
    """The hash of the source's first `offset` bytes, the source left at `offset` (a resumed upload)."""
    if isinstance(source, StreamSource):
        return await source.rewind(offset)
    return source.rehash(offset)


def _failure(exc: BaseException) -> Failure:
    """The machine's view of an exception: its status and OCI codes, or no answer at all."""
    if isinstance(exc, ClientAuthenticationError):
        return Failure(status=401, codes=tuple(exc.codes))
    if isinstance(exc, ResourceNotFoundError):
        return Failure(status=404, codes=tuple(exc.codes))
    if isinstance(exc, HttpResponseError):
        return Failure(status=exc.status_code, codes=tuple(exc.codes))
    return Failure()
