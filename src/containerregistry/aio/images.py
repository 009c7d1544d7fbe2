"""Whole images, async: the same names as `containerregistry.images`, with `async def` operations.

Example::

    from containerregistry.aio.images import copy_image

    result = await copy_image("127.0.0.1:5000/app:1.0", "oci:./app:1.0", concurrency=8)
    print(result.digest, result.bytes_copied)
"""

from __future__ import annotations

from ..images._archive import ArchiveError, ArchiveLocation, parse_archive_location
from ..images._artifacts import (
    ArtifactFile,
    ArtifactPathError,
    PullArtifactResult,
    PulledFile,
    PushArtifactResult,
    ReferrerNode,
)
from ..images._async._archives import copy_archive, pull_archive, push_archive
from ..images._async._artifacts_oras import attach_artifact, pull_artifact, push_artifact, referrer_tree
from ..images._async._copy import copy_image, pull_image, push_image
from ..images._async._inspect import add_tags, get_digest, get_image_config, inspect_image
from ..images._async._mirror import mirror_repository, sync_mirrors
from ..images._async._prune import prune
from ..images._inspect import AddTagsResult, ImageInspection, IndexEntry, LayerInfo, PlatformNotFoundError
from ..images._layout import ImageLayoutError, OciLayout
from ..images._mirror import (
    MirrorItem,
    MirrorResult,
    SyncConfig,
    SyncConfigError,
    SyncJob,
    SyncReport,
    TagFilter,
    load_sync_config,
)
from ..images._models import (
    CopyImageResult,
    ImageLocation,
    LayoutLocation,
    PrunedManifest,
    PruneResult,
    RegistryLocation,
    TransferProgress,
    parse_image_location,
)

__all__ = [
    "AddTagsResult",
    "ArchiveError",
    "ArchiveLocation",
    "ArtifactFile",
    "ArtifactPathError",
    "CopyImageResult",
    "ImageInspection",
    "ImageLayoutError",
    "ImageLocation",
    "IndexEntry",
    "LayerInfo",
    "LayoutLocation",
    "MirrorItem",
    "MirrorResult",
    "OciLayout",
    "PlatformNotFoundError",
    "PruneResult",
    "PrunedManifest",
    "PullArtifactResult",
    "PulledFile",
    "PushArtifactResult",
    "ReferrerNode",
    "RegistryLocation",
    "SyncConfig",
    "SyncConfigError",
    "SyncJob",
    "SyncReport",
    "TagFilter",
    "TransferProgress",
    "add_tags",
    "attach_artifact",
    "copy_archive",
    "copy_image",
    "get_digest",
    "get_image_config",
    "inspect_image",
    "load_sync_config",
    "mirror_repository",
    "parse_archive_location",
    "parse_image_location",
    "prune",
    "pull_archive",
    "pull_artifact",
    "pull_image",
    "push_archive",
    "push_artifact",
    "push_image",
    "referrer_tree",
    "sync_mirrors",
]
