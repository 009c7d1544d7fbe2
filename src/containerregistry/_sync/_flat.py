# This file is generated from containerregistry/aio/_flat.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""The Azure SDK's flat API on `ContainerRegistryClient`: `client.get_tag_properties(repository, tag)` etc.

azure-containerregistry 1.2.0 names everything on the client: repository, manifest and tag properties,
blobs and manifests, each method taking the repository first. `_FlatMethods` gives our client the same
methods (names, parameters, positional order, keywords, return types), built on the object model
(`ContainerRepository`, `RegistryArtifact`, `ContainerRegistryContentClient`) and sharing the client's
connection pool and token cache, so code written for the SDK runs with only its import changed.
`DownloadBlobStream` is what `download_blob` returns: iterate it for chunks; the digest is verified
when the last chunk has been read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from ..protocol import media_types
from ..protocol.acr import (
    ArtifactManifestOrder,
    ArtifactManifestProperties,
    ArtifactTagOrder,
    ArtifactTagProperties,
    RepositoryProperties,
    changeable_update,
)
from ..protocol.reference import validate_repository
from ._artifact import RegistryArtifact
from ._paging import ItemPaged
from ._repository import ContainerRepository

if TYPE_CHECKING:
    from .._flat_models import ManifestJsonResult
    from ._artifact import _AcrSession
    from ._blob_stream import BlobStream
    from ._content_client import ContainerRegistryContentClient

__all__ = ["DownloadBlobStream"]


class DownloadBlobStream:
    """A blob being downloaded (the SDK's `DownloadBlobStream`): `for chunk in stream`.

    The digest is verified when the last chunk has been read (`DigestValidationError`, a `ValueError`,
    if it does not match); a dropped connection resumes with `Range` where it stopped. Use it as a context
    manager or call `close()` when not reading to the end.
    """

    def __init__(self, stream: BlobStream) -> None:
        self._stream = stream
        self._chunks: Iterator[bytes] | None = None

    @property
    def digest(self) -> str:
        """The digest being downloaded (and verified)."""
        return self._stream.digest

    @property
    def size(self) -> int | None:
        """The blob's size, when the registry said."""
        return self._stream.size

    def __iter__(self) -> DownloadBlobStream:
        return self

    def __next__(self) -> bytes:
        if self._chunks is None:
            self._chunks = self._stream.iter_bytes()
        return self._chunks.__next__()

    def close(self) -> None:
        """Close the connection (a partly read blob is not verified)."""
        chunks, self._chunks = self._chunks, None
        finish = getattr(chunks, "close", None)  # a reader stopped part-way: end it here, not at GC
        if finish is not None:
            finish()
        self._stream.close()

    def __enter__(self) -> DownloadBlobStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.digest}>"


class _FlatMethods:
    """The SDK-shaped methods of `ContainerRegistryClient` (a mixin: it needs the client's `_session`)."""

    _session: _AcrSession

    # -- repositories -------------------------------------------------------------------------------

    def get_repository_properties(self, repository: str, **kwargs: Any) -> RepositoryProperties:
        """The properties of `repository` (one request).

        Raises:
            ResourceNotFoundError: no such repository.
        """
        _no_options(kwargs)
        return ContainerRepository(self._session, repository).get_properties()

    def update_repository_properties(
        self,
        repository: str,
        properties: RepositoryProperties | None = None,
        *,
        can_delete: bool | None = None,
        can_list: bool | None = None,
        can_read: bool | None = None,
        can_write: bool | None = None,
        **kwargs: Any,
    ) -> RepositoryProperties:
        """Set a repository's `can_*` attributes, from `properties` and/or keywords (keywords win).

        Raises:
            ResourceNotFoundError: no such repository.
        """
        _no_options(kwargs)
        target = ContainerRepository(self._session, repository)
        if _nothing_to_change(properties, can_delete, can_write, can_read, can_list):
            return target.get_properties()  # the SDK sends an empty update: the properties as they are
        return target.update_properties(
            properties, can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )

    # -- manifests (metadata) -----------------------------------------------------------------------

    def list_manifest_properties(
        self,
        repository: str,
        *,
        order_by: ArtifactManifestOrder | str | None = None,
        results_per_page: int | None = None,
        **kwargs: Any,
    ) -> ItemPaged[ArtifactManifestProperties]:
        """The manifests of `repository` with their properties, page by page (no I/O until iterated).

        Args:
            order_by: an `ArtifactManifestOrder` or its value (`"timedesc"`, `"timeasc"`, `"none"`).
            results_per_page: page size.
        """
        _no_options(kwargs)
        return ContainerRepository(self._session, repository).list_manifest_properties(
            order_by=ArtifactManifestOrder.NONE if order_by is None else order_by,
            results_per_page=results_per_page,
        )

    def get_manifest_properties(
        self, repository: str, tag_or_digest: str, **kwargs: Any
    ) -> ArtifactManifestProperties:
        """The properties of the manifest a tag or digest names.

        Raises:
            ResourceNotFoundError: no such tag or manifest.
        """
        _no_options(kwargs)
        return RegistryArtifact(self._session, repository, tag_or_digest).get_manifest_properties()

    def update_manifest_properties(
        self,
        repository: str,
        tag_or_digest: str,
        properties: ArtifactManifestProperties | None = None,
        *,
        can_delete: bool | None = None,
        can_list: bool | None = None,
        can_read: bool | None = None,
        can_write: bool | None = None,
        **kwargs: Any,
    ) -> ArtifactManifestProperties:
        """Set a manifest's `can_*` attributes, from `properties` and/or keywords (keywords win).

        Raises:
            ResourceNotFoundError: no such tag or manifest.
        """
        _no_options(kwargs)
        artifact = RegistryArtifact(self._session, repository, tag_or_digest)
        if _nothing_to_change(properties, can_delete, can_write, can_read, can_list):
            return artifact.get_manifest_properties()
        return artifact.update_manifest_properties(
            properties, can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )

    def delete_manifest(self, repository: str, tag_or_digest: str, **kwargs: Any) -> None:
        """Delete a manifest (named by tag or digest) with its tags; succeeds when it is already gone.

        Raises:
            HttpResponseError: refused (405 when it is locked).
        """
        _no_options(kwargs)
        RegistryArtifact(self._session, repository, tag_or_digest).delete()

    # -- tags ---------------------------------------------------------------------------------------

    def list_tag_properties(
        self,
        repository: str,
        *,
        order_by: ArtifactTagOrder | str | None = None,
        results_per_page: int | None = None,
        **kwargs: Any,
    ) -> ItemPaged[ArtifactTagProperties]:
        """The tags of `repository` with their properties, page by page (no I/O until iterated).

        Args:
            order_by: an `ArtifactTagOrder` or its value (`"timedesc"`, `"timeasc"`, `"none"`).
            results_per_page: page size.
        """
        _no_options(kwargs)
        return ContainerRepository(self._session, repository).list_tag_properties(
            order_by=ArtifactTagOrder.NONE if order_by is None else order_by,
            results_per_page=results_per_page,
        )

    def get_tag_properties(self, repository: str, tag: str, **kwargs: Any) -> ArtifactTagProperties:
        """The properties of a tag (one request).

        Raises:
            ResourceNotFoundError: no such tag.
        """
        _no_options(kwargs)
        return RegistryArtifact(self._session, repository, tag).get_tag_properties(tag)

    def update_tag_properties(
        self,
        repository: str,
        tag: str,
        properties: ArtifactTagProperties | None = None,
        *,
        can_delete: bool | None = None,
        can_list: bool | None = None,
        can_read: bool | None = None,
        can_write: bool | None = None,
        **kwargs: Any,
    ) -> ArtifactTagProperties:
        """Set a tag's `can_*` attributes, from `properties` and/or keywords (keywords win).

        Raises:
            ResourceNotFoundError: no such tag.
        """
        _no_options(kwargs)
        artifact = RegistryArtifact(self._session, repository, tag)
        if _nothing_to_change(properties, can_delete, can_write, can_read, can_list):
            return artifact.get_tag_properties(tag)
        return artifact.update_tag_properties(
            tag, properties, can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )

    def delete_tag(self, repository: str, tag: str, **kwargs: Any) -> None:
        """Delete a tag (its manifest stays); succeeds when it is already gone.

        Raises:
            HttpResponseError: refused (405 when it is locked).
        """
        _no_options(kwargs)
        RegistryArtifact(self._session, repository, tag).delete_tag(tag)

    # -- blobs and manifests (content) --------------------------------------------------------------

    def _content(self, repository: str) -> ContainerRegistryContentClient:
        # Imported here: the content client's upload and download stack loads only for the flat blob and
        # manifest methods, not with every registry client (`creg tag ls`: cli/_context.py).
        from ._content_client import ContainerRegistryContentClient

        validate_repository(repository)
        return ContainerRegistryContentClient(
            self._session.endpoint, repository, _pipeline=self._session.pipeline
        )

    def upload_blob(self, repository: str, data: IO[bytes], **kwargs: Any) -> tuple[str, int]:
        """Upload a blob from a binary stream (or bytes, a path, an iterable of bytes).

        Returns:
            `(digest, size)`.

        Raises:
            ValueError: `repository` or `data` is None.
            DigestValidationError: the registry computed another digest.
        """
        _no_options(kwargs)
        if repository is None or data is None:
            raise ValueError("The parameter repository and data cannot be None.")
        result = self._content(repository).upload_blob(data)
        return result.digest, result.size

    def download_blob(self, repository: str, digest: str, **kwargs: Any) -> DownloadBlobStream:
        """Start downloading a blob: iterate the stream returned for its chunks (verified at the end).

        Raises:
            ResourceNotFoundError: no such blob.
        """
        _no_options(kwargs)
        stream = self._content(repository).download_blob_streaming(digest)
        stream.__enter__()  # the first request, as in the SDK: a missing blob fails here
        return DownloadBlobStream(stream)

    def delete_blob(self, repository: str, digest: str, **kwargs: Any) -> None:
        """Delete a blob; succeeds when it is already gone."""
        _no_options(kwargs)
        self._content(repository).delete_blob(digest)

    def set_manifest(
        self,
        repository: str,
        manifest: dict[str, Any] | IO[bytes],
        *,
        tag: str | None = None,
        media_type: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Upload a manifest (a JSON dict or a binary stream), under `tag` or by digest.

        A dict is serialized as the SDK does (`json.dumps`), so the digest is the one the SDK computes.

        Args:
            media_type: its media type; default the dict's `mediaType`, else the OCI image manifest type.

        Returns:
            The manifest's digest.

        Raises:
            ValueError: `repository` or `manifest` is None.
            DigestValidationError: the registry computed another digest.
        """
        _no_options(kwargs)
        if repository is None or manifest is None:
            raise ValueError("The parameter repository and manifest cannot be None.")
        if isinstance(manifest, dict):
            content = json.dumps(manifest).encode()
            default_type = manifest.get("mediaType")
        elif isinstance(manifest, (bytes, bytearray)):
            content, default_type = bytes(manifest), None
        else:
            content, default_type = manifest.read(), None
        if media_type is None:
            media_type = default_type if isinstance(default_type, str) else media_types.OCI_MANIFEST
        result = self._content(repository).set_manifest(content, tag=tag, media_type=media_type)
        return result.digest

    def get_manifest(self, repository: str, tag_or_digest: str, **kwargs: Any) -> ManifestJsonResult:
        """Download a manifest and verify its digest.

        Returns:
            A `GetManifestResult` whose `manifest` is the JSON (a dict), with `digest`, `media_type` and
            the exact bytes as `content`.

        Raises:
            ResourceNotFoundError: no such manifest.
            DigestValidationError: the bytes do not match the digest.
        """
        from .._flat_models import ManifestJsonResult  # with the content client: not for every client

        _no_options(kwargs)
        result = self._content(repository).get_manifest(tag_or_digest)
        return ManifestJsonResult.of(result)


def _nothing_to_change(properties: Any, *values: bool | None) -> bool:
    """True when an update would send nothing (no keyword given, and `properties` has no `can_*` set)."""
    if any(value is not None for value in values):
        return False
    try:
        changeable_update(properties)
    except ValueError:
        return True
    return False


def _no_options(kwargs: dict[str, Any]) -> None:
    """The SDK's per-call keywords are azure-core pipeline options; none applies here."""
    if kwargs:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")
