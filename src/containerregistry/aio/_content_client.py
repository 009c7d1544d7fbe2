"""ContainerRegistryContentClient: blobs and manifests of one repository, on any OCI registry."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import httpx

from .._blob_source import CHUNK, BlobSource, open_source
from .._common import MAX_MANIFEST_SIZE, ProgressCallback, login_server_of, scope_for
from ..exceptions import (
    ClientAuthenticationError,
    DigestValidationError,
    HttpResponseError,
    InvalidReferenceError,
    ManifestTooLargeError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from ..protocol import media_types
from ..protocol.digest import Hasher, compute_digest, new_hasher, verify_digest
from ..protocol.http import add_query, join_location, parse_link_next, parse_upload_range
from ..protocol.models import OciDescriptor, OciImageIndex, OciImageManifest, parse_manifest
from ..protocol.reference import validate_digest, validate_repository, validate_tag
from ..protocol.results import (
    DownloadBlobToResult,
    DownloadRegistryBlobResult,
    GetManifestResult,
    SetManifestResult,
    UploadRegistryBlobResult,
)
from ..transport import RetryPolicy
from ._paging import AsyncItemPaged
from ._pipeline import AsyncPipeline, read_capped
from ._shim import PipelinedHasher

__all__ = ["BlobStream", "ContainerRegistryContentClient"]

_LOGGER = logging.getLogger("containerregistry")
#: JSON listings (tags, referrers) above this size are refused rather than buffered.
_MAX_LISTING_SIZE = 16 * 1024 * 1024


class ContainerRegistryContentClient:
    """Upload, download and delete the blobs and manifests of one repository.

    Works with any registry that speaks the OCI Distribution Spec (ACR, Docker Hub, GHCR, Harbor,
    Distribution). Uploads stream in constant memory, compute the digest while sending and resume
    from the registry's offset after a dropped connection; downloads verify the digest and resume
    with `Range`.

    Args:
        endpoint: `https://host[:port]`; a bare host gets https (http for loopback hosts).
        repository: the repository name, e.g. `library/hello-world`.
        credential: None (anonymous), a `BasicCredential`, `RefreshTokenCredential`,
            `DockerConfigCredential`, or an Entra ID credential (`get_token`).
        transport: an httpx transport to use instead of the default fast one.
        http_client: an httpx client to use as is.
        timeout: seconds or an `httpx.Timeout`.
        retry: retry policy for idempotent requests.
        verify: TLS verification: True, False or a CA bundle path.
        insecure: allow sending credentials over plain http to a non-loopback host.
        trusted_token_hosts: token servers outside the registry's host and registrable domain that may
            receive a password, identity or refresh token, e.g. `("auth.example.com",)`; `host` means any
            port, `host:port` one. Never applies to Entra ID tokens, which go only to the registry.
        audience: Entra ID audience for ACR (see `ContainerRegistryAudience`).
        chunk_size: upload in chunks of this many bytes (for registries that cap a request's size);
            None sends each blob in one request.
        max_manifest_size: manifests larger than this are refused without being read whole.
        upload_attempts: how many times an interrupted upload or download is resumed before giving up.

    Raises:
        InvalidReferenceError: the endpoint or repository name is malformed.
    """

    def __init__(
        self,
        endpoint: str,
        repository: str,
        credential: Any = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        insecure: bool = False,
        audience: str | None = None,
        chunk_size: int | None = None,
        max_manifest_size: int = MAX_MANIFEST_SIZE,
        upload_attempts: int = 5,
        trusted_token_hosts: Iterable[str] | None = None,
        _pipeline: AsyncPipeline | None = None,  # another client's (it stays the owner's to close)
    ) -> None:
        validate_repository(repository)
        if chunk_size is not None and chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self._repository = repository
        self._pipeline = _pipeline or AsyncPipeline(
            endpoint,
            credential,
            transport=transport,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            audience=audience,
            trusted_token_hosts=trusted_token_hosts,
        )
        self._chunk_size = chunk_size
        self._max_manifest_size = max_manifest_size
        self._attempts = max(1, upload_attempts)
        self._base = f"{self._pipeline.endpoint}/v2/{repository}"

    @property
    def endpoint(self) -> str:
        return self._pipeline.endpoint

    @property
    def login_server(self) -> str:
        return login_server_of(self._pipeline.endpoint)

    @property
    def repository(self) -> str:
        return self._repository

    def __repr__(self) -> str:
        return f"<ContainerRegistryContentClient {self.login_server}/{self._repository}>"

    # -- blobs: upload --------------------------------------------------------------------------

    async def upload_blob(
        self,
        data: Any,
        *,
        progress: ProgressCallback | None = None,
        chunk_size: int | None = None,
    ) -> UploadRegistryBlobResult:
        """Upload a blob and return its digest and size.

        Args:
            data: bytes, a path, a binary file object (read from its current position) or an
                iterable of bytes. Streamed in constant memory.
            progress: called as `progress(bytes_sent, total_or_None)`.
            chunk_size: override the client's chunked mode for this upload.

        Raises:
            DigestValidationError: the registry computed another digest.
            HttpResponseError, ServiceRequestError: the upload failed after resuming
                `upload_attempts` times (only seekable sources resume a single-request upload).
        """
        source = open_source(data)
        try:
            return await self._upload(source, progress, chunk_size or self._chunk_size)
        finally:
            source.close()

    async def _upload(
        self, source: BlobSource, progress: ProgressCallback | None, chunk_size: int | None
    ) -> UploadRegistryBlobResult:
        action = f"upload blob to {self.login_server}/{self._repository}"
        state = _UploadState(await self._start_upload(action), Hasher())
        failures = 0
        while True:
            try:
                if chunk_size:
                    await self._send_chunks(state, source, chunk_size, progress, action)
                else:
                    await self._send_stream(state, source, progress, action)
                digest = state.hasher.digest
                await self._commit_upload(state.location, digest, action)
                break
            except (ServiceRequestError, HttpResponseError, httpx.StreamError) as exc:
                failures += 1
                if not _resumable(exc) or failures >= self._attempts or not (source.seekable or chunk_size):
                    raise
                _LOGGER.info("%s interrupted at %d bytes (%s); resuming", action, state.hasher.size, exc)
                await asyncio.sleep(self._pipeline.retry.delay(failures, None))
                if _session_lost(exc):
                    # The registry forgot or refused the session (Distribution does so when a cut left
                    # its stored size ahead of the session state): start a new one from the beginning.
                    state.location, offset = await self._start_upload(action), 0
                else:
                    sent = state.hasher.size + len(state.pending)
                    state.location, offset = await self._resume_point(state.location, sent, action)
                if source.seekable:
                    state.hasher, state.pending = source.rehash(offset), b""
                elif state.hasher.size <= offset <= state.hasher.size + len(state.pending):
                    state.resume_at = offset  # within the chunk we still hold in memory
                else:
                    raise
        return UploadRegistryBlobResult(digest=digest, size=state.hasher.size)

    async def _start_upload(self, action: str) -> str:
        response = await self._pipeline.send(
            "POST",
            f"{self._base}/blobs/uploads/",
            scope=scope_for(self._repository, "pull", "push"),
            action=action,
            headers={"Content-Length": "0"},
            expect=(202,),
        )
        return self._location(response, action)

    def _location(self, response: httpx.Response, action: str) -> str:
        location = response.headers.get("Location")
        if not location:
            raise ServiceRequestError(f"{action} failed: the registry sent no upload Location")
        url = join_location(self._pipeline.endpoint, location)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ServiceRequestError(f"{action} failed: the registry sent an unusable upload Location")
        return url

    async def _send_stream(
        self, state: _UploadState, source: BlobSource, progress: ProgressCallback | None, action: str
    ) -> None:
        """One PATCH carrying the rest of the blob, hashed as it is read."""
        hasher = state.hasher
        offset = hasher.size
        if source.size is not None and offset == source.size:
            return  # nothing left to send (an empty blob, or the registry already holds it all)
        headers = {"Content-Type": "application/octet-stream"}
        if source.size is not None:
            headers["Content-Length"] = str(source.size - offset)
            if offset:
                headers["Content-Range"] = f"{offset}-{source.size - 1}"
        total = source.size

        async def body() -> AsyncIterator[bytes]:
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    return
                hasher.update(chunk)
                if progress is not None:
                    progress(hasher.size, total)
                yield chunk

        response = await self._pipeline.send(
            "PATCH",
            state.location,
            scope=scope_for(self._repository, "pull", "push"),
            action=action,
            headers=headers,
            content=body(),
            expect=(202, 204),
            retry=False,
        )
        if source.size is not None and hasher.size != source.size:
            raise ServiceRequestError(f"{action} failed: the source changed size while uploading")
        if "Location" in response.headers:
            state.location = self._location(response, action)

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
                state.pending = source.read_full(chunk_size)
                if not state.pending:
                    return
            start = state.hasher.size
            skip = (state.resume_at - start) if state.resume_at is not None else 0
            state.resume_at = None
            part = state.pending[skip:]
            if part:
                response = await self._pipeline.send(
                    "PATCH",
                    state.location,
                    scope=scope_for(self._repository, "pull", "push"),
                    action=action,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{start + skip}-{start + skip + len(part) - 1}",
                        "Content-Length": str(len(part)),
                    },
                    content=part,
                    expect=(202, 204),
                    retry=False,
                )
                if "Location" in response.headers:
                    state.location = self._location(response, action)
            state.hasher.update(state.pending)
            state.pending = b""
            if progress is not None:
                progress(state.hasher.size, source.size)

    async def _resume_point(self, location: str, sent: int, action: str) -> tuple[str, int]:
        """Ask the registry how much of the upload it holds; start a new session if it lost it."""
        try:
            response = await self._pipeline.send(
                "GET",
                location,
                scope=scope_for(self._repository, "pull", "push"),
                action=action,
                expect=(204, 200),
            )
        except (HttpResponseError, ServiceRequestError) as exc:
            _LOGGER.info("%s: upload session unusable (%s); starting over", action, exc)
            return await self._start_upload(action), 0
        held = parse_upload_range(response.headers.get("Range"), sent=sent)
        if held is None or (held == 0 and sent > 1) or held > sent:
            # `0-0` after sending more than a byte is ambiguous (0 or 1 held), and an offset we never
            # sent is nonsense: resuming from a wrong offset would corrupt the blob, so start over.
            _LOGGER.info(
                "%s: registry reports an unusable offset (%r); starting over",
                action,
                response.headers.get("Range"),
            )
            return await self._start_upload(action), 0
        new_location = self._location(response, action) if "Location" in response.headers else location
        return new_location, held

    async def _commit_upload(self, location: str, digest: str, action: str) -> None:
        try:
            response = await self._pipeline.send(
                "PUT",
                add_query(location, digest=digest),
                scope=scope_for(self._repository, "pull", "push"),
                action=action,
                headers={"Content-Length": "0"},
                expect=(201, 204),
            )
        except ResourceNotFoundError:
            # The commit may have landed before a retry lost its answer: the blob then exists.
            if await self.blob_exists(digest):
                return
            raise
        _check_digest_header(response, digest, action)

    # -- blobs: download ------------------------------------------------------------------------

    def download_blob_streaming(self, digest: str, *, progress: ProgressCallback | None = None) -> BlobStream:
        """Open a blob for streaming: `async with client.download_blob_streaming(d) as s: async for c in s.iter_bytes()`.

        The digest is verified when the stream ends (`DigestValidationError` if it does not match);
        a dropped connection resumes with `Range` from the last byte received.
        """
        validate_digest(digest)
        return BlobStream(
            self._pipeline,
            f"{self._base}/blobs/{digest}",
            digest,
            scope=scope_for(self._repository, "pull"),
            action=f"download blob {digest} from {self.login_server}/{self._repository}",
            attempts=self._attempts,
            progress=progress,
        )

    async def download_blob_content(self, digest: str) -> DownloadRegistryBlobResult:
        """Download a blob into memory and verify its digest."""
        buffer = bytearray()
        async with self.download_blob_streaming(digest) as stream:
            async for chunk in stream.iter_bytes():
                buffer += chunk
        return DownloadRegistryBlobResult(digest=digest, content=bytes(buffer))

    async def download_blob_to(
        self,
        digest: str,
        destination: str | os.PathLike[str] | BinaryIO,
        *,
        progress: ProgressCallback | None = None,
    ) -> DownloadBlobToResult:
        """Download a blob to a path or a binary file object, verifying the digest.

        To a path, the bytes go to `<path>.partial`, which is renamed into place only after the
        digest matched; on any failure it is removed, so no file is left behind.
        """
        if isinstance(destination, (str, os.PathLike)):
            path = os.fspath(destination)
            partial = f"{path}.partial"
            try:
                with open(partial, "wb") as file:
                    size = await self._download_into(digest, file, progress)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(partial, path)
            except BaseException:
                try:
                    os.unlink(partial)
                except FileNotFoundError:
                    pass
                raise
            return DownloadBlobToResult(digest=digest, size=size)
        size = await self._download_into(digest, destination, progress)
        return DownloadBlobToResult(digest=digest, size=size)

    async def _download_into(self, digest: str, file: BinaryIO, progress: ProgressCallback | None) -> int:
        size = 0
        async with self.download_blob_streaming(digest, progress=progress) as stream:
            async for chunk in stream.iter_bytes():
                file.write(chunk)
                size += len(chunk)
        return size

    # -- blobs: other ---------------------------------------------------------------------------

    async def blob_exists(self, digest: str) -> bool:
        """True when the repository holds the blob (HEAD)."""
        validate_digest(digest)
        try:
            await self._pipeline.send(
                "HEAD",
                f"{self._base}/blobs/{digest}",
                scope=scope_for(self._repository, "pull"),
                action=f"check blob {digest} in {self.login_server}/{self._repository}",
            )
        except ResourceNotFoundError:
            return False
        return True

    async def mount_blob(self, digest: str, from_repository: str) -> bool:
        """Make a blob of another repository of this registry available here without copying it.

        Returns:
            True when the registry mounted it; False when it could not (the blob must then be uploaded).
        """
        validate_digest(digest)
        validate_repository(from_repository)
        action = f"mount blob {digest} from {from_repository} into {self.login_server}/{self._repository}"
        response = await self._pipeline.send(
            "POST",
            f"{self._base}/blobs/uploads/",
            params={"mount": digest, "from": from_repository},
            scope=(*scope_for(self._repository, "pull", "push"), *scope_for(from_repository, "pull")),
            action=action,
            headers={"Content-Length": "0"},
            expect=(201, 202),
        )
        if response.status_code == 201:
            return True
        # 202: the registry opened an ordinary upload session instead; don't leave it dangling.
        if "Location" in response.headers:
            try:
                await self._pipeline.send(
                    "DELETE",
                    self._location(response, action),
                    scope=scope_for(self._repository, "pull", "push"),
                    action=action,
                    expect=(204, 200, 202, 404),
                )
            except (HttpResponseError, ServiceRequestError) as exc:
                _LOGGER.debug("%s: could not cancel the upload session: %s", action, exc)
        return False

    async def delete_blob(self, digest: str) -> None:
        """Delete a blob; succeeds when it is already gone."""
        validate_digest(digest)
        try:
            await self._pipeline.send(
                "DELETE",
                f"{self._base}/blobs/{digest}",
                scope=scope_for(self._repository, "delete"),
                action=f"delete blob {digest} from {self.login_server}/{self._repository}",
                expect=(202, 200, 204),
            )
        except ResourceNotFoundError:
            pass

    # -- manifests ------------------------------------------------------------------------------

    async def set_manifest(
        self,
        manifest: OciImageManifest | OciImageIndex | bytes | dict[str, Any],
        *,
        tag: str | None = None,
        media_type: str | None = None,
    ) -> SetManifestResult:
        """Upload a manifest (by digest, or under `tag`) and return its digest.

        Bytes are sent exactly as given; models and dicts are serialized compactly. The media type
        comes from `media_type`, else the manifest's `mediaType`, else its shape. When the manifest has
        a `subject` and the registry has no referrers API, the `<alg>-<hex>` fallback tag is updated.
        """
        content, media_type = _manifest_bytes(manifest, media_type)
        if tag is not None:
            validate_tag(tag)
        if len(content) > self._max_manifest_size:
            raise ManifestTooLargeError(
                f"manifest is {len(content)} bytes; the limit is {self._max_manifest_size} bytes"
            )
        digest = compute_digest(content)
        action = f"push manifest {tag or digest} to {self.login_server}/{self._repository}"
        response = await self._pipeline.send(
            "PUT",
            f"{self._base}/manifests/{tag or digest}",
            scope=scope_for(self._repository, "pull", "push"),
            action=action,
            headers={"Content-Type": media_type},
            content=content,
            expect=(201, 200, 202),
        )
        _check_digest_header(response, digest, action)
        parsed = _parse_quietly(content, media_type)
        if parsed is not None and parsed.subject is not None and "OCI-Subject" not in response.headers:
            await self._add_to_referrers_tag(parsed, content, media_type, digest)
        return SetManifestResult(digest=digest, tag=tag)

    async def get_manifest(self, tag_or_digest: str) -> GetManifestResult:
        """Download a manifest by tag or digest and verify it.

        Raises:
            ManifestTooLargeError: above `max_manifest_size` (refused without reading it whole).
            DigestValidationError: the bytes do not match the requested digest or `Docker-Content-Digest`.
            ResourceNotFoundError: no such manifest.
        """
        by_digest = _is_digest(tag_or_digest)
        action = f"get manifest {tag_or_digest} from {self.login_server}/{self._repository}"
        response = await self._pipeline.send(
            "GET",
            f"{self._base}/manifests/{quote(tag_or_digest, safe=':')}",
            scope=scope_for(self._repository, "pull"),
            action=action,
            headers={"Accept": media_types.MANIFEST_ACCEPT},
            stream=True,
        )
        content = await read_capped(response, self._max_manifest_size, action, ManifestTooLargeError)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        header_digest = response.headers.get("Docker-Content-Digest")
        if by_digest:
            verify_digest(content, tag_or_digest, what=f"manifest {tag_or_digest}")
        if header_digest:
            _check_digest_header(response, compute_digest(content, _algorithm_of(header_digest)), action)
        digest = tag_or_digest if by_digest else compute_digest(content)
        parsed = _parse_quietly(content, media_type or None)
        if not media_type and parsed is not None:
            media_type = parsed.media_type or ""
        return GetManifestResult(digest=digest, media_type=media_type, content=content, manifest=parsed)

    async def delete_manifest(self, digest: str) -> None:
        """Delete a manifest by digest (with its tags); succeeds when it is already gone."""
        validate_digest(digest)
        try:
            await self._pipeline.send(
                "DELETE",
                f"{self._base}/manifests/{digest}",
                scope=scope_for(self._repository, "delete"),
                action=f"delete manifest {digest} from {self.login_server}/{self._repository}",
                expect=(202, 200, 204),
            )
        except ResourceNotFoundError:
            pass

    # -- listings -------------------------------------------------------------------------------

    def list_tags(self, *, results_per_page: int | None = None) -> AsyncItemPaged[str]:
        """The repository's tags (OCI `tags/list`, paged by `Link`)."""
        first = f"{self._base}/tags/list"
        if results_per_page is not None:
            first = add_query(first, n=str(int(results_per_page)))
        action = f"list tags of {self.login_server}/{self._repository}"

        async def fetch(token: str | None) -> tuple[list[str], str | None]:
            url = token or first
            response = await self._listing(url, action)
            body = _json_object(response, action)
            tags = body.get("tags") or []
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ServiceRequestError(f"{action} failed: the registry sent a malformed tag list")
            return tags, self._next_link(response, url)

        return AsyncItemPaged(fetch)

    def list_referrers(
        self, digest: str, *, artifact_type: str | None = None
    ) -> AsyncItemPaged[OciDescriptor]:
        """Manifests whose `subject` is `digest` (referrers API, or the `<alg>-<hex>` tag fallback)."""
        validate_digest(digest)
        first = f"{self._base}/referrers/{digest}"
        if artifact_type:
            first = add_query(first, artifactType=artifact_type)
        action = f"list referrers of {digest} in {self.login_server}/{self._repository}"

        async def fetch(token: str | None) -> tuple[list[OciDescriptor], str | None]:
            url = token or first
            try:
                response = await self._listing(url, action)
            except ResourceNotFoundError:
                if token is not None:
                    raise
                return await self._referrers_from_tag(digest, artifact_type), None
            index = _json_object(response, action)
            try:
                descriptors = OciImageIndex.from_dict(index).manifests
            except ValueError as exc:
                raise ServiceRequestError(f"{action} failed: malformed referrers index: {exc}") from exc
            if artifact_type and "artifactType" not in response.headers.get("OCI-Filters-Applied", ""):
                descriptors = [d for d in descriptors if d.artifact_type == artifact_type]
            return descriptors, self._next_link(response, url)

        return AsyncItemPaged(fetch)

    async def _referrers_from_tag(self, digest: str, artifact_type: str | None) -> list[OciDescriptor]:
        try:
            result = await self.get_manifest(digest.replace(":", "-"))
        except ResourceNotFoundError:
            return []
        if not isinstance(result.manifest, OciImageIndex):
            return []
        return [d for d in result.manifest.manifests if not artifact_type or d.artifact_type == artifact_type]

    async def _add_to_referrers_tag(
        self, manifest: OciImageManifest | OciImageIndex, content: bytes, media_type: str, digest: str
    ) -> None:
        assert manifest.subject is not None
        tag = manifest.subject.digest.replace(":", "-")
        artifact_type = manifest.artifact_type
        if artifact_type is None and isinstance(manifest, OciImageManifest):
            artifact_type = manifest.config.media_type
        entry = OciDescriptor(
            media_type=media_type,
            digest=digest,
            size=len(content),
            artifact_type=artifact_type,
            annotations=manifest.annotations,
        )
        try:
            existing = await self.get_manifest(tag)
            index = (
                existing.manifest
                if isinstance(existing.manifest, OciImageIndex)
                else OciImageIndex(manifests=[])
            )
        except ResourceNotFoundError:
            index = OciImageIndex(manifests=[])
        if any(d.digest == digest for d in index.manifests):
            return
        await self.set_manifest(OciImageIndex(manifests=[*index.manifests, entry]), tag=tag)

    async def _listing(self, url: str, action: str) -> httpx.Response:
        response = await self._pipeline.send(
            "GET", url, scope=scope_for(self._repository, "pull"), action=action, stream=True
        )
        response._content = await read_capped(response, _MAX_LISTING_SIZE, action, ServiceRequestError)
        return response

    def _next_link(self, response: httpx.Response, url: str) -> str | None:
        next_url = parse_link_next(response.headers.get("Link"), url)
        # A Link to another origin is ignored: paging never carries our credentials elsewhere.
        if next_url is None or urlsplit(next_url).netloc != urlsplit(self._pipeline.endpoint).netloc:
            return None
        return next_url

    # -- lifetime -------------------------------------------------------------------------------

    async def close(self) -> None:
        await self._pipeline.aclose()

    async def __aenter__(self) -> ContainerRegistryContentClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


@dataclass
class _UploadState:
    """One upload in progress: where to send next, and the hash of what the registry acknowledged."""

    location: str
    hasher: Hasher
    pending: bytes = b""  # chunked mode: the chunk in flight
    resume_at: int | None = None  # chunked mode, non-seekable source: offset inside `pending`


class BlobStream:
    """A blob being downloaded: iterate `iter_bytes()` or call `read()`; verifies the digest at the end."""

    def __init__(
        self,
        pipeline: AsyncPipeline,
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

    async def __aenter__(self) -> BlobStream:
        await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _open(self) -> None:
        offset = self._received
        headers = {"Range": f"bytes={offset}-"} if offset else None
        response = await self._pipeline.send(
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
            start, _end, total = _content_range(response)
            if start != offset:
                await response.aclose()
                raise ServiceRequestError(f"{self._action} failed: asked to resume at {offset}, got {start}")
            if total is not None:
                self.size = total
        else:
            skip = offset  # the registry ignored Range: drop what we already have
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit():
                self.size = int(length)
        self._response = response
        self._skip = skip

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield the blob's bytes; the last step verifies the digest."""
        failures = 0
        while not self._done:
            if self._response is None:
                await self._open()
            response = self._response
            assert response is not None
            try:
                async for chunk in response.aiter_raw():
                    if self._skip:
                        dropped = min(self._skip, len(chunk))
                        chunk, self._skip = chunk[dropped:], self._skip - dropped
                        if not chunk:
                            continue
                    await self._hasher.update(chunk)
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
                await self._drop_response()
                if failures >= self._attempts:
                    raise ServiceRequestError(
                        f"{self._action} failed after {failures} attempts at {self._received} bytes: {exc}"
                    ) from exc
                _LOGGER.info("%s interrupted at %d bytes (%s); resuming", self._action, self._received, exc)
                await asyncio.sleep(self._pipeline.retry.delay(failures, None))
                continue
            await self._drop_response()
            if self.size is not None and self._received < self.size:
                failures += 1
                if failures >= self._attempts:
                    raise ServiceRequestError(
                        f"{self._action} failed: the body ended at {self._received} of {self.size} bytes"
                    )
                continue
            self._done = True
        (await self._hasher.flush()).verify(self.digest, what=f"blob {self.digest}")

    async def read(self) -> bytes:
        """Read the rest of the blob into memory."""
        buffer = bytearray()
        async for chunk in self.iter_bytes():
            buffer += chunk
        return bytes(buffer)

    async def _drop_response(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            await response.aclose()

    async def close(self) -> None:
        await self._drop_response()


# -- helpers (pure) ------------------------------------------------------------------------------


_SESSION_LOST_CODES = frozenset({"BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN"})


def _session_lost(exc: BaseException) -> bool:
    return isinstance(exc, ResourceNotFoundError) and bool(_SESSION_LOST_CODES.intersection(exc.codes))


def _resumable(exc: BaseException) -> bool:
    if isinstance(exc, (ServiceRequestError, httpx.StreamError)) or _session_lost(exc):
        return True
    if isinstance(exc, ClientAuthenticationError):
        return True  # an access token expired mid-upload; the next request fetches a fresh one
    return isinstance(exc, HttpResponseError) and (exc.status_code >= 500 or exc.status_code in (408, 429))


def _is_digest(reference: str) -> bool:
    if ":" in reference:
        validate_digest(reference)
        return True
    validate_tag(reference)
    return False


def _algorithm_of(digest: str) -> str:
    try:
        return validate_digest(digest).partition(":")[0]
    except InvalidReferenceError as exc:
        raise DigestValidationError(f"the registry sent a malformed Docker-Content-Digest: {exc}") from exc


def _check_digest_header(response: httpx.Response, expected: str, action: str) -> None:
    header = response.headers.get("Docker-Content-Digest")
    if header and header.strip() != expected:
        raise DigestValidationError(
            f"{action} failed: the registry reports digest {header.strip()[:80]}, expected {expected}",
            expected=expected,
            actual=header.strip()[:80],
        )


def _content_range(response: httpx.Response) -> tuple[int, int, int | None]:
    from ..protocol.http import parse_content_range

    try:
        return parse_content_range(response.headers.get("Content-Range", ""))
    except ValueError as exc:
        raise ServiceRequestError(f"malformed Content-Range from the registry: {exc}") from exc


def _json_object(response: httpx.Response, action: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceRequestError(f"{action} failed: the registry sent invalid JSON") from exc
    if not isinstance(body, dict):
        raise ServiceRequestError(f"{action} failed: the registry sent JSON that is not an object")
    return body


def _manifest_bytes(
    manifest: OciImageManifest | OciImageIndex | bytes | dict[str, Any], media_type: str | None
) -> tuple[bytes, str]:
    if isinstance(manifest, (OciImageManifest, OciImageIndex)):
        content = manifest.to_bytes()
        return content, media_type or manifest.media_type or _default_type(manifest.to_dict())
    if isinstance(manifest, dict):
        content = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode()
        return content, media_type or str(manifest.get("mediaType") or _default_type(manifest))
    if isinstance(manifest, (bytes, bytearray, memoryview)):
        content = bytes(manifest)
        if media_type:
            return content, media_type
        try:
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("manifest bytes are not JSON; pass media_type= to send them anyway") from exc
        if not isinstance(body, dict):
            raise ValueError("manifest JSON must be an object")
        return content, str(body.get("mediaType") or _default_type(body))
    raise TypeError(f"cannot push a manifest of type {type(manifest).__name__}")


def _default_type(body: dict[str, Any]) -> str:
    return media_types.OCI_INDEX if "manifests" in body else media_types.OCI_MANIFEST


def _parse_quietly(content: bytes, media_type: str | None) -> OciImageManifest | OciImageIndex | None:
    try:
        return parse_manifest(content, media_type)
    except ValueError:
        return None
