"""Shared by the sync and async image operations: the progress event, results, the platform filter (no I/O);
re-exports the locations of `_locations.py`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..exceptions import InvalidReferenceError
from ..protocol.models import OciDescriptor, Platform
from ..protocol.reference import validate_tag
from ._locations import (
    ImageLocation,
    LayoutLocation,
    RegistryLocation,
    as_location,
    parse_image_location,
    validate_ref_name,
)

__all__ = [
    "CopyImageResult",
    "ImageLocation",
    "LayoutLocation",
    "PruneResult",
    "PrunedManifest",
    "ProgressTracker",
    "RegistryLocation",
    "TransferAborted",
    "TransferProgress",
    "as_location",
    "parse_image_location",
    "parse_platforms",
    "platform_matches",
    "target_tag_for_registry",
    "validate_ref_name",
]


def parse_platforms(platforms: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """`["linux/amd64", "linux/arm64/v8"]` -> `[("linux", "amd64", None), ("linux", "arm64", "v8")]`.

    Raises:
        ValueError: a platform is not `os/architecture[/variant]`.
    """
    if isinstance(platforms, str):
        raise TypeError("platforms must be a list of strings such as ['linux/amd64'], not a string")
    parsed = []
    for text in platforms:
        parts = text.split("/") if isinstance(text, str) else []
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(
                f"invalid platform {text!r}: expected os/architecture[/variant], e.g. linux/amd64"
            )
        parsed.append((parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    if not parsed:
        raise ValueError("platforms is empty: pass None to copy every platform")
    return parsed


def platform_matches(platform: Platform | None, wanted: Sequence[tuple[str, str, str | None]]) -> bool:
    """True when `platform` is one of `wanted`; a wanted entry without a variant matches any variant."""
    if platform is None:
        return False
    for os_name, arch, variant in wanted:
        if (
            platform.os == os_name
            and platform.architecture == arch
            and (variant is None or platform.variant == variant)
        ):
            return True
    return False


@dataclass(frozen=True)
class TransferProgress:
    """One step of an image transfer, passed to the `progress` callback.

    Attributes:
        digest: the blob this event is about.
        status: `"transferring"` (bytes moved), `"done"` (the blob is complete at the target),
            `"skipped"` (the target already had it) or `"mounted"` (mounted from the source repository).
        blob_bytes_done: bytes of this blob done so far. A registry-to-registry copy that is not a mount
            passes through a staging buffer: its download and its upload each count for half.
        blob_bytes_total: the blob's size.
        bytes_done: all blobs of the operation, bytes done (skipped and mounted blobs count as done).
        bytes_total: all blobs of the operation, total size (each blob counted once).
        blobs_done: blobs finished so far (copied, skipped or mounted).
        blobs_total: distinct blobs in the operation.
    """

    digest: str
    status: str
    blob_bytes_done: int
    blob_bytes_total: int
    bytes_done: int
    bytes_total: int
    blobs_done: int
    blobs_total: int


class TransferAborted(Exception):
    """Raised inside a transfer when another transfer of the same operation failed."""


class ProgressTracker:
    """Overall counters of one operation; thread-safe (the sync API calls it from worker threads)."""

    def __init__(self, callback: Callable[[TransferProgress], Any] | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self._per_blob: dict[str, int] = {}
        self.bytes_total = 0
        self.blobs_total = 0
        self.bytes_done = 0
        self.blobs_done = 0
        self.aborted = False

    def plan(self, blobs: Sequence[OciDescriptor]) -> None:
        self.blobs_total = len(blobs)
        self.bytes_total = sum(b.size for b in blobs)

    def _emit(self, event: TransferProgress) -> None:
        if self._callback is not None:
            self._callback(event)

    def _update(self, blob: OciDescriptor, done: int, status: str) -> TransferProgress:
        with self._lock:
            done = max(0, min(done, blob.size))
            self.bytes_done += done - self._per_blob.get(blob.digest, 0)
            self._per_blob[blob.digest] = done
            if status != "transferring":
                self.blobs_done += 1
            return TransferProgress(
                blob.digest,
                status,
                done,
                blob.size,
                self.bytes_done,
                self.bytes_total,
                self.blobs_done,
                self.blobs_total,
            )

    def finished(self, blob: OciDescriptor, status: str) -> None:
        """Record a blob as complete (`done`, `skipped` or `mounted`)."""
        self._emit(self._update(blob, blob.size, status))

    def callback(self, blob: OciDescriptor, *, half: int | None = None) -> Callable[[int, int | None], None]:
        """A content-client progress callback `(bytes_done, total)` for one blob.

        Args:
            half: None for a one-step transfer; 0 or 1 for the download or upload step of a staged copy.
        """

        def progress(done: int, _total: int | None) -> None:
            if self.aborted:
                raise TransferAborted("transfer stopped: another blob of this operation failed")
            if half is not None:
                done = (half * blob.size + done) // 2
            self._emit(self._update(blob, done, "transferring"))

        return progress


@dataclass(frozen=True)
class CopyImageResult:
    """What `push_image`, `pull_image` or `copy_image` did.

    Attributes:
        digest: digest of the top manifest written at the target (differs from the source's when a
            platform filter produced a new index).
        media_type: its media type.
        source: the source location, as text.
        target: the target location, as text.
        tag: the tag (or layout ref name) the top manifest was written under, or None (by digest only).
        manifests: manifests written (top, children and referrers).
        referrers: referrer manifests among them.
        blobs_copied: blobs transferred.
        blobs_skipped: blobs the target already had.
        blobs_mounted: blobs mounted from the source repository (same registry).
        bytes_copied: bytes of the blobs transferred.
        platform_filtered: True when a new index with only the requested platforms was written.
        converted_from: when Docker v2 manifests were rewritten with OCI media types for a layout
            target (`convert_to_oci`), the top manifest's digest before (`digest` is the new one);
            else None.
    """

    digest: str
    media_type: str
    source: str
    target: str
    tag: str | None
    manifests: int
    referrers: int
    blobs_copied: int
    blobs_skipped: int
    blobs_mounted: int
    bytes_copied: int
    platform_filtered: bool = False
    converted_from: str | None = None


@dataclass(frozen=True)
class PrunedManifest:
    """A manifest that `prune` considered.

    Attributes:
        digest: the manifest digest.
        tags: its tags.
        last_updated_on: when it was last updated, if known.
        reason: why it was kept or skipped (empty for deleted ones).
    """

    digest: str
    tags: list[str]
    last_updated_on: datetime | None
    reason: str = ""


@dataclass(frozen=True)
class PruneResult:
    """What `prune` did (or, with `dry_run=True`, would do).

    Attributes:
        deleted: manifests deleted (with `dry_run`, those that would be), newest first.
        kept: manifests kept, with the reason.
        skipped: candidates that could not be deleted (locked, or the delete failed), with the reason.
        dry_run: True when nothing was deleted.
    """

    deleted: list[PrunedManifest] = field(default_factory=list)
    kept: list[PrunedManifest] = field(default_factory=list)
    skipped: list[PrunedManifest] = field(default_factory=list)
    dry_run: bool = False


def target_tag_for_registry(source_tag: str | None, target: RegistryLocation) -> str | None:
    """The tag to push the top manifest under: the target's, else the source's if it is a valid tag."""
    if target.tag:
        return target.tag
    if target.digest:
        return None
    if source_tag is None:
        return None
    try:
        return validate_tag(source_tag)
    except InvalidReferenceError as exc:
        raise InvalidReferenceError(
            f"the source's name {source_tag!r} is not a valid registry tag: give the target a tag ({target}:TAG)"
        ) from exc
