"""Results of content-client operations: small frozen dataclasses, shared by sync and async clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import OciImageIndex, OciImageManifest

__all__ = [
    "DeleteRepositoryResult",
    "DownloadBlobToResult",
    "DownloadRegistryBlobResult",
    "GetManifestResult",
    "SetManifestResult",
    "UploadRegistryBlobResult",
]


@dataclass(frozen=True)
class UploadRegistryBlobResult:
    """The outcome of `upload_blob`.

    Attributes:
        digest: the digest of the uploaded content (`sha256:...`).
        size: the number of bytes uploaded.
    """

    digest: str
    size: int


@dataclass(frozen=True)
class DownloadRegistryBlobResult:
    """The outcome of `download_blob_content`: the whole blob in memory, already verified.

    Attributes:
        digest: the digest the content was verified against.
        content: the blob's bytes.
    """

    digest: str
    # The repr shows the length only: a blob may be megabytes and end up in logs.
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """The number of bytes in `content`."""
        return len(self.content)

    def __repr__(self) -> str:
        return f"DownloadRegistryBlobResult(digest={self.digest!r}, content=<{len(self.content)} bytes>)"


@dataclass(frozen=True)
class DownloadBlobToResult:
    """The outcome of `download_blob_to`: the blob was written to a file or stream and verified.

    Attributes:
        digest: the digest the content was verified against.
        size: the number of bytes written.
    """

    digest: str
    size: int


@dataclass(frozen=True)
class SetManifestResult:
    """The outcome of `set_manifest`.

    Attributes:
        digest: the digest of the manifest bytes that were stored.
        tag: the tag the manifest was pushed under, if any.
    """

    digest: str
    tag: str | None = None


@dataclass(frozen=True)
class GetManifestResult:
    """The outcome of `get_manifest`.

    Attributes:
        digest: the verified digest of `content`.
        media_type: the manifest's media type (from the response `Content-Type`, else its `mediaType`).
        content: the exact bytes the registry returned; re-push these, never a re-serialization.
        manifest: `content` parsed into a model, or None for media types this library does not model.
    """

    digest: str
    media_type: str
    content: bytes = field(repr=False)
    # Annotations stay strings (`from __future__`), so the models are imported for type checking only:
    # clients that never parse a manifest do not pay for the import, and no import cycle can form.
    manifest: OciImageManifest | OciImageIndex | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        kind = type(self.manifest).__name__ if self.manifest is not None else None
        return (
            f"GetManifestResult(digest={self.digest!r}, media_type={self.media_type!r}, "
            f"content=<{len(self.content)} bytes>, manifest={kind})"
        )


@dataclass(frozen=True)
class DeleteRepositoryResult:
    """The outcome of deleting a repository.

    Attributes:
        deleted_manifests: digests of the manifests that were deleted.
        deleted_tags: tags that were deleted.
    """

    deleted_manifests: list[str] = field(default_factory=list)
    deleted_tags: list[str] = field(default_factory=list)
