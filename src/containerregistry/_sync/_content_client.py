# This file is generated from containerregistry/aio/_content_client.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""ContainerRegistryContentClient: blobs and manifests of one repository, on any OCI registry.

This module owns the client's public methods: blob download (streaming through `BlobStream`,
`_blob_stream.py`; to a path or file object through `BlobDownload`, `_blob_download.py`), existence,
mount and delete; manifest push, fetch and delete; tag and referrer listings (with the referrers-tag
fallback). Uploads are performed by the upload engine (`_blob_upload.py`) following the
rules of `protocol/upload.py`; manifest encoding and media-type inference are in `protocol/manifests.py`.
`BlobStream` is re-exported here, where it was defined before.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import httpx

from .._blob_source import BlobData, BlobSource
from .._bounded import json_kind, json_object, request_line
from .._common import MAX_MANIFEST_SIZE, ProgressCallback, login_server_of
from .._options import ClientOptions
from ..auth import Credential
from ..exceptions import (
    DigestValidationError,
    HttpResponseError,
    InvalidReferenceError,
    ManifestTooLargeError,
    RegistryProtocolError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from ..protocol import media_types
from ..protocol.digest import compute_digest, verify_digest
from ..protocol.http import add_query, parse_link_next
from ..protocol.manifests import encode_manifest, parse_manifest_or_none
from ..protocol.models import OciDescriptor, OciImageIndex, OciImageManifest
from ..protocol.reference import Digest, Reference, validate_digest, validate_repository, validate_tag
from ..protocol.results import (
    DownloadBlobToResult,
    DownloadRegistryBlobResult,
    GetManifestResult,
    SetManifestResult,
    UploadRegistryBlobResult,
)
from ..transport import RetryPolicy
from ._blob_download import BlobDownload
from ._blob_stream import BlobStream
from ._blob_upload import BlobUploader, check_digest_header, head_blob, upload_location
from ._paging import ItemPaged
from ._pipeline import Pipeline, read_capped
from ._ranged import (
    DEFAULT_MAX_CHUNK_GET_SIZE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_SINGLE_GET_SIZE,
    check_concurrency,
)
from ._ranged_reader import RangedReader, read_in_order
from ._shim import Semaphore
from ._stream_source import StreamSource, open_upload

__all__ = ["BlobStream", "ContainerRegistryContentClient"]

_LOGGER = logging.getLogger("containerregistry")
#: JSON listings (tags, referrers) above this size are refused rather than buffered.
_MAX_LISTING_SIZE = 16 * 1024 * 1024
#: `download_blob_content` holds at most this much of a blob in memory unless told otherwise.
DEFAULT_MAX_BLOB_CONTENT_SIZE = 128 * 1024 * 1024


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
            `DockerConfigCredential`, `RegistryTokenCredential`, or an Entra ID credential (`get_token`;
            async credentials for the async client); typed `Credential`.
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
        upload_attempts: how many times an interrupted upload or download is resumed before giving up
            (per range, for a download on several connections).
        max_concurrency: connections one `download_blob_to` uses for a large blob (default 8; 1 for one
            stream), as in azure-storage-blob's `download_blob(max_concurrency=...)`.
        max_single_get_size: bytes asked for by a download's first request; a blob up to this size
            comes in one answer (default 8 MiB).
        max_chunk_get_size: bytes per range after the first request (default 8 MiB).
        options: a `ClientOptions` holding the credential and connection options at once; the keywords
            above that are given (not at their defaults) replace its fields.

    Raises:
        InvalidReferenceError: the endpoint or repository name is malformed.
    """

    def __init__(
        self,
        endpoint: str,
        repository: str,
        credential: Credential | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        insecure: bool = False,
        audience: str | None = None,
        chunk_size: int | None = None,
        max_manifest_size: int = MAX_MANIFEST_SIZE,
        upload_attempts: int = 5,
        trusted_token_hosts: Iterable[str] | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_single_get_size: int = DEFAULT_MAX_SINGLE_GET_SIZE,
        max_chunk_get_size: int = DEFAULT_MAX_CHUNK_GET_SIZE,
        options: ClientOptions | None = None,
        _pipeline: Pipeline | None = None,  # another client's (it stays the owner's to close)
    ) -> None:
        validate_repository(repository)
        if chunk_size is not None and chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        check_concurrency(max_concurrency)
        if max_single_get_size < 1 or max_chunk_get_size < 1:
            raise ValueError("max_single_get_size and max_chunk_get_size must be positive")
        self._max_concurrency = max_concurrency
        self._max_single_get_size = max_single_get_size
        self._max_chunk_get_size = max_chunk_get_size
        self._repository = repository
        self._owns_pipeline = _pipeline is None
        self._pipeline = _pipeline or Pipeline(
            endpoint,
            ClientOptions.merged(
                options,
                credential=credential,
                audience=audience,
                transport=transport,
                timeout=timeout,
                retry=retry,
                verify=verify,
                insecure=insecure,
                trusted_token_hosts=trusted_token_hosts,
            ),
            http_client=http_client,
        )
        #: The repository as a name value: it computes the token scopes of this client's requests.
        self._name = Reference(login_server_of(self._pipeline.endpoint), repository)
        self._chunk_size = chunk_size
        self._max_manifest_size = max_manifest_size
        self._attempts = max(1, upload_attempts)
        self._base = f"{self._pipeline.endpoint}/v2/{repository}"
        self._uploader = BlobUploader(self._pipeline, self._name, attempts=self._attempts)

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

    def upload_blob(
        self,
        data: BlobData,
        *,
        progress: ProgressCallback | None = None,
        chunk_size: int | None = None,
    ) -> UploadRegistryBlobResult:
        """Upload a blob and return its digest and size.

        Args:
            data: bytes, a path, a binary file object (read from its current position) or an
                iterable of bytes (`containerregistry.BlobData`; the async client also takes an async
                iterable). Streamed in constant memory; an iterable is read once, so an interrupted
                upload of one is not resumed.
            progress: called as `progress(bytes_sent, total_or_None)`.
            chunk_size: override the client's chunked mode for this upload.

        Raises:
            DigestValidationError: the registry computed another digest.
            HttpResponseError, ServiceRequestError: the upload failed after resuming
                `upload_attempts` times (only seekable sources resume a single-request upload).
        """
        source = open_upload(data)
        try:
            return self._upload(source, progress, chunk_size or self._chunk_size)
        finally:
            if isinstance(source, StreamSource):
                source.close()
            source.close()

    def _upload(
        self, source: BlobSource, progress: ProgressCallback | None, chunk_size: int | None
    ) -> UploadRegistryBlobResult:
        action = f"upload blob to {self.login_server}/{self._repository}"
        return self._uploader.upload(source, progress, chunk_size, action)

    # -- blobs: download ------------------------------------------------------------------------

    def download_blob_streaming(self, digest: str, *, progress: ProgressCallback | None = None) -> BlobStream:
        """Open a blob for streaming: `with client.download_blob_streaming(d) as s: for c in s.iter_bytes()`.

        The digest is verified when the stream ends (`DigestValidationError` if it does not match);
        a dropped connection resumes with `Range` from the last byte received.
        """
        parsed = Digest.parse(digest)  # once, here at the edge: the stream and its hasher take the value
        return BlobStream(
            self._pipeline,
            f"{self._base}/blobs/{parsed}",
            parsed,
            scope=(self._name.scope("pull"),),
            action=f"download blob {parsed} from {self.login_server}/{self._repository}",
            attempts=self._attempts,
            progress=progress,
        )

    def _read_in_ranges(self, digest: str, size: int, budget: Semaphore) -> Iterator[bytes] | None:
        """The `size` bytes of a blob in order, read in ranges on up to `max_concurrency` connections, each
        GET holding a slot of `budget` (copy_image's relay; `_ranged_reader`); not verified here (the
        relay's `StreamSource` verifies). None when one request serves it (`max_single_get_size`) or the
        client reads on one connection."""
        if size <= self._max_single_get_size or self._max_concurrency < 2:
            return None
        parsed = Digest.parse(digest)
        reader = RangedReader(
            self._pipeline,
            f"{self._base}/blobs/{parsed}",
            size=size,
            scope=(self._name.scope("pull"),),
            action=f"download blob {parsed} from {self.login_server}/{self._repository}",
            attempts=self._attempts,
            max_concurrency=self._max_concurrency,
            max_chunk_get_size=self._max_chunk_get_size,
            budget=budget,
        )
        return read_in_order(reader, lambda: self.download_blob_streaming(digest))

    def download_blob_content(
        self, digest: str, *, max_size: int | None = DEFAULT_MAX_BLOB_CONTENT_SIZE
    ) -> DownloadRegistryBlobResult:
        """Download a blob into memory and verify its digest.

        Args:
            digest: the blob's digest.
            max_size: the most bytes held in memory (default 128 MiB); None for no limit. A larger
                blob is refused from its `Content-Length`, or as soon as more arrived, so a registry
                cannot make this allocate without bound. Use `download_blob_to` or
                `download_blob_streaming` (constant memory, no limit) for large blobs.

        Raises:
            RegistryProtocolError: the blob is larger than `max_size`.
        """
        action = f"download blob {digest} from {self.login_server}/{self._repository}"
        buffer = bytearray()
        with self.download_blob_streaming(digest) as stream:
            if max_size is not None and stream.size is not None and stream.size > max_size:
                raise RegistryProtocolError(
                    f"{action} failed: the blob is {stream.size} bytes, over max_size={max_size}; "
                    "use download_blob_to or download_blob_streaming for large blobs"
                )
            for chunk in stream.iter_bytes():
                buffer += chunk
                if max_size is not None and len(buffer) > max_size:
                    raise RegistryProtocolError(
                        f"{action} failed: the blob exceeds max_size={max_size} bytes; "
                        "use download_blob_to or download_blob_streaming for large blobs"
                    )
        return DownloadRegistryBlobResult(digest=digest, content=bytes(buffer))

    def download_blob_to(
        self,
        digest: str,
        destination: str | os.PathLike[str] | BinaryIO,
        *,
        progress: ProgressCallback | None = None,
        max_concurrency: int | None = None,
    ) -> DownloadBlobToResult:
        """Download a blob to a path or a binary file object, verifying the digest.

        To a path, the bytes go to `<path>.partial`, which is renamed into place only after the
        digest matched and the file was fsynced; on any failure it is removed, so no file is left
        behind. `<path>.partial` is created exclusively and never through a symlink: a stale regular
        file of that name (an interrupted download) is replaced, anything else is refused.

        A large blob is fetched in ranges on up to `max_concurrency` connections (the client's by
        default), written in place and hashed in order as they complete; a registry that does not
        serve ranges gets one request. A file object opened for reading and writing (`"w+b"`, not in
        append mode) is written the same way from its current position, which ends after the blob;
        any other is written chunk by chunk on one connection.

        Raises:
            UnsafePathError: `<path>.partial` exists and is a symlink or not a regular file.
            DigestValidationError: the bytes do not match `digest`.
        """
        return self._download_to(digest, destination, progress, max_concurrency, None)

    def _download_to(
        self,
        digest: str,
        destination: str | os.PathLike[str] | BinaryIO,
        progress: ProgressCallback | None,
        max_concurrency: int | None,
        budget: Semaphore | None,
    ) -> DownloadBlobToResult:
        """`download_blob_to`, each request holding a slot of `budget` while in flight when one is given
        (the copy's connection budget: pull_image; `_ranged.py`)."""
        validate_digest(digest)
        concurrency = self._max_concurrency if max_concurrency is None else max_concurrency
        check_concurrency(concurrency)
        download = BlobDownload(
            self._pipeline,
            f"{self._base}/blobs/{digest}",
            digest,
            scope=(self._name.scope("pull"),),
            action=f"download blob {digest} from {self.login_server}/{self._repository}",
            attempts=self._attempts,
            progress=progress,
            max_concurrency=concurrency,
            max_single_get_size=self._max_single_get_size,
            max_chunk_get_size=self._max_chunk_get_size,
            budget=budget,
        )
        return DownloadBlobToResult(digest=digest, size=download.to(destination))

    # -- blobs: other ---------------------------------------------------------------------------

    def blob_exists(self, digest: str) -> bool:
        """True when the repository holds the blob (HEAD)."""
        validate_digest(digest)
        return head_blob(self._pipeline, self._name, digest)

    def mount_blob(self, digest: str, from_repository: str) -> bool:
        """Make a blob of another repository of this registry available here without copying it.

        Returns:
            True when the registry mounted it; False when it could not (the blob must then be uploaded).
        """
        validate_digest(digest)
        validate_repository(from_repository)
        action = f"mount blob {digest} from {from_repository} into {self.login_server}/{self._repository}"
        response = self._pipeline.send(
            "POST",
            f"{self._base}/blobs/uploads/",
            params={"mount": digest, "from": from_repository},
            scope=(
                self._name.scope("pull", "push"),
                Reference(self._name.registry, from_repository).scope("pull"),
            ),
            action=action,
            headers={"Content-Length": "0"},
            expect=(201, 202),
        )
        if response.status_code == 201:
            return True
        # 202: the registry opened an ordinary upload session instead; don't leave it dangling.
        if "Location" in response.headers:
            try:
                self._pipeline.send(
                    "DELETE",
                    upload_location(self._pipeline.endpoint, response, action),
                    scope=(self._name.scope("pull", "push"),),
                    action=action,
                    expect=(204, 200, 202, 404),
                )
            except (HttpResponseError, ServiceRequestError) as exc:
                _LOGGER.debug("%s: could not cancel the upload session: %s", action, exc)
        return False

    def delete_blob(self, digest: str) -> None:
        """Delete a blob; succeeds when it is already gone."""
        validate_digest(digest)
        try:
            self._pipeline.send(
                "DELETE",
                f"{self._base}/blobs/{digest}",
                scope=(self._name.scope("delete"),),
                action=f"delete blob {digest} from {self.login_server}/{self._repository}",
                expect=(202, 200, 204),
            )
        except ResourceNotFoundError:
            pass

    # -- manifests ------------------------------------------------------------------------------

    def set_manifest(
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
        content, media_type = encode_manifest(manifest, media_type)
        if tag is not None:
            validate_tag(tag)
        if len(content) > self._max_manifest_size:
            raise ManifestTooLargeError(
                f"manifest is {len(content)} bytes; the limit is {self._max_manifest_size} bytes"
            )
        digest = compute_digest(content)
        action = f"push manifest {tag or digest} to {self.login_server}/{self._repository}"
        response = self._pipeline.send(
            "PUT",
            f"{self._base}/manifests/{tag or digest}",
            scope=(self._name.scope("pull", "push"),),
            action=action,
            headers={"Content-Type": media_type},
            content=content,
            expect=(201, 200, 202),
        )
        check_digest_header(response, digest, action)
        parsed = parse_manifest_or_none(content, media_type, action)
        if parsed is not None and parsed.subject is not None and "OCI-Subject" not in response.headers:
            self._add_to_referrers_tag(parsed, content, media_type, digest)
        return SetManifestResult(digest=digest, tag=tag)

    def get_manifest(self, tag_or_digest: str) -> GetManifestResult:
        """Download a manifest by tag or digest and verify it.

        Raises:
            ManifestTooLargeError: above `max_manifest_size` (refused without reading it whole).
            DigestValidationError: the bytes do not match the requested digest or `Docker-Content-Digest`.
            ResourceNotFoundError: no such manifest.
        """
        by_digest = _is_digest(tag_or_digest)
        action = f"get manifest {tag_or_digest} from {self.login_server}/{self._repository}"
        response = self._pipeline.send(
            "GET",
            f"{self._base}/manifests/{quote(tag_or_digest, safe=':')}",
            scope=(self._name.scope("pull"),),
            action=action,
            headers={"Accept": media_types.MANIFEST_ACCEPT},
            stream=True,
        )
        content = read_capped(response, self._max_manifest_size, action, ManifestTooLargeError)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        header_digest = response.headers.get("Docker-Content-Digest")
        if by_digest:
            verify_digest(content, tag_or_digest, what=f"manifest {tag_or_digest}")
        if header_digest:
            check_digest_header(response, compute_digest(content, _algorithm_of(header_digest)), action)
        digest = tag_or_digest if by_digest else compute_digest(content)
        parsed = parse_manifest_or_none(content, media_type or None, action)
        if not media_type and parsed is not None:
            media_type = parsed.media_type or ""
        return GetManifestResult(digest=digest, media_type=media_type, content=content, manifest=parsed)

    def delete_manifest(self, digest: str, *, missing_ok: bool = True) -> None:
        """Delete a manifest by digest (with its tags).

        Args:
            missing_ok: True (the Azure SDK's convention): a manifest that does not exist is no error.
                False: raise `ResourceNotFoundError` for it.
        """
        validate_digest(digest)
        try:
            self._pipeline.send(
                "DELETE",
                f"{self._base}/manifests/{digest}",
                scope=(self._name.scope("delete"),),
                action=f"delete manifest {digest} from {self.login_server}/{self._repository}",
                expect=(202, 200, 204),
            )
        except ResourceNotFoundError:
            if not missing_ok:
                raise

    # -- listings -------------------------------------------------------------------------------

    def list_tags(self, *, results_per_page: int | None = None) -> ItemPaged[str]:
        """The repository's tags (OCI `tags/list`, paged by `Link`)."""
        first = f"{self._base}/tags/list"
        if results_per_page is not None:
            first = add_query(first, n=str(int(results_per_page)))
        action = f"list tags of {self.login_server}/{self._repository}"

        def fetch(token: str | None) -> tuple[list[str], str | None]:
            url = token or first
            response = self._listing(url, action)
            body = json_object(response, action)
            tags = body.get("tags") or []
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise RegistryProtocolError(
                    f"{action} failed: the registry sent a malformed tag list ({request_line(response)}): "
                    f"'tags' must be a list of strings, got {json_kind(tags)}"
                )
            return tags, self._next_link(response, url)

        return ItemPaged(fetch)

    def list_referrers(self, digest: str, *, artifact_type: str | None = None) -> ItemPaged[OciDescriptor]:
        """Manifests whose `subject` is `digest` (referrers API, or the `<alg>-<hex>` tag fallback)."""
        validate_digest(digest)
        first = f"{self._base}/referrers/{digest}"
        if artifact_type:
            first = add_query(first, artifactType=artifact_type)
        action = f"list referrers of {digest} in {self.login_server}/{self._repository}"

        def fetch(token: str | None) -> tuple[list[OciDescriptor], str | None]:
            url = token or first
            try:
                response = self._listing(url, action)
            except ResourceNotFoundError:
                if token is not None:
                    raise
                return self._referrers_from_tag(digest, artifact_type), None
            index = json_object(response, action)
            try:
                descriptors = OciImageIndex.from_dict(index).manifests
            except ValueError as exc:
                raise RegistryProtocolError(
                    f"{action} failed: malformed referrers index ({request_line(response)}): {exc}"
                ) from exc
            if artifact_type and "artifactType" not in response.headers.get("OCI-Filters-Applied", ""):
                descriptors = [d for d in descriptors if d.artifact_type == artifact_type]
            return descriptors, self._next_link(response, url)

        return ItemPaged(fetch)

    def _referrers_from_tag(self, digest: str, artifact_type: str | None) -> list[OciDescriptor]:
        try:
            result = self.get_manifest(digest.replace(":", "-"))
        except ResourceNotFoundError:
            return []
        if not isinstance(result.manifest, OciImageIndex):
            return []
        return [d for d in result.manifest.manifests if not artifact_type or d.artifact_type == artifact_type]

    def _add_to_referrers_tag(
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
            existing = self.get_manifest(tag)
            index = (
                existing.manifest
                if isinstance(existing.manifest, OciImageIndex)
                else OciImageIndex(manifests=[])
            )
        except ResourceNotFoundError:
            index = OciImageIndex(manifests=[])
        if any(d.digest == digest for d in index.manifests):
            return
        self.set_manifest(OciImageIndex(manifests=[*index.manifests, entry]), tag=tag)

    def _listing(self, url: str, action: str) -> httpx.Response:
        response = self._pipeline.send(
            "GET", url, scope=(self._name.scope("pull"),), action=action, stream=True
        )
        read_capped(response, _MAX_LISTING_SIZE, action)
        return response

    def _next_link(self, response: httpx.Response, url: str) -> str | None:
        next_url = parse_link_next(response.headers.get("Link"), url)
        # A Link to another origin is ignored: paging never carries our credentials elsewhere.
        if next_url is None or urlsplit(next_url).netloc != urlsplit(self._pipeline.endpoint).netloc:
            return None
        return next_url

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool, unless it is another client's (whose owner closes it)."""
        if self._owns_pipeline:
            self._pipeline.close()

    def __enter__(self) -> ContainerRegistryContentClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# -- helpers (pure) ------------------------------------------------------------------------------


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
