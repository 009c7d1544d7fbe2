"""Whole images, async: the same names as `containerregistry.images`, with `async def` operations.

Example::

    from containerregistry.aio.images import copy_image

    result = await copy_image("127.0.0.1:5000/app:1.0", "oci:./app:1.0", concurrency=8)
    print(result.digest, result.bytes_copied)

Every name loads on first use (PEP 562 `__getattr__`, as in `containerregistry.images`): importing
this module loads no engine until an operation or model is asked for; type checkers read the imports
under `TYPE_CHECKING`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._lazy import lazy_attributes as _lazy_attributes

if _TYPE_CHECKING:
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
    from ..images._locations import ImageLocation, LayoutLocation, RegistryLocation, parse_image_location
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
    from ..images._models import CopyImageResult, PrunedManifest, PruneResult, TransferProgress

#: Module (relative to this package) -> the public names it provides. Kept equal to the imports above
#: and to `__all__` by tests/tooling/test_lazy_imports.py.
_LAZY_MODULES: dict[str, tuple[str, ...]] = {
    "..images._layout": ("ImageLayoutError", "OciLayout"),
    "..images._archive": ("ArchiveError", "ArchiveLocation", "parse_archive_location"),
    "..images._artifacts": (
        "ArtifactFile",
        "ArtifactPathError",
        "PullArtifactResult",
        "PulledFile",
        "PushArtifactResult",
        "ReferrerNode",
    ),
    "..images._async._archives": ("copy_archive", "pull_archive", "push_archive"),
    "..images._async._artifacts_oras": ("attach_artifact", "pull_artifact", "push_artifact", "referrer_tree"),
    "..images._async._copy": ("copy_image", "pull_image", "push_image"),
    "..images._async._inspect": ("add_tags", "get_digest", "get_image_config", "inspect_image"),
    "..images._async._mirror": ("mirror_repository", "sync_mirrors"),
    "..images._async._prune": ("prune",),
    "..images._inspect": (
        "AddTagsResult",
        "ImageInspection",
        "IndexEntry",
        "LayerInfo",
        "PlatformNotFoundError",
    ),
    "..images._mirror": (
        "MirrorItem",
        "MirrorResult",
        "SyncConfig",
        "SyncConfigError",
        "SyncJob",
        "SyncReport",
        "TagFilter",
        "load_sync_config",
    ),
    "..images._locations": ("ImageLocation", "LayoutLocation", "RegistryLocation", "parse_image_location"),
    "..images._models": ("CopyImageResult", "PrunedManifest", "PruneResult", "TransferProgress"),
}
_MODULE_OF = {name: module for module, names in _LAZY_MODULES.items() for name in names}

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


__getattr__, __dir__ = _lazy_attributes(globals())
