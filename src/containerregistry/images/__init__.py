"""Whole images: push, pull and copy images and multi-platform indexes; OCI image layouts; prune.

Sync API (`containerregistry.aio.images` has the same names with `async def`)::

    from containerregistry.images import copy_image, prune, pull_image, push_image

    push_image("oci:./build:1.0", "myregistry.azurecr.io/app:1.0", credential=credential)
    pull_image("127.0.0.1:5000/app:1.0", "oci:./app:1.0", platforms=["linux/amd64"])
    copy_image("127.0.0.1:5000/app:1.0", "127.0.0.1:5000/mirror/app:1.0")  # blobs are mounted

Locations are parsed by `parse_image_location`: registry references `host[:port]/repo[:tag|@digest]`
or OCI layout directories `oci:DIR[:tag]`.

Every name loads on first use (PEP 562 `__getattr__`, as in the top-level package): `import
containerregistry.images` loads no HTTP stack and no engine, and the CLI may import the models
(`RegistryLocation`) cheaply; `from containerregistry.images import X` works as ever, and type checkers
read the imports under `TYPE_CHECKING`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._lazy import lazy_attributes as _lazy_attributes

if _TYPE_CHECKING:
    from ._archive import ArchiveError, ArchiveLocation, parse_archive_location
    from ._artifacts import (
        ArtifactFile,
        ArtifactPathError,
        PullArtifactResult,
        PulledFile,
        PushArtifactResult,
        ReferrerNode,
    )
    from ._inspect import AddTagsResult, ImageInspection, IndexEntry, LayerInfo, PlatformNotFoundError
    from ._layout import ImageLayoutError, OciLayout
    from ._locations import ImageLocation, LayoutLocation, RegistryLocation, parse_image_location
    from ._mirror import (
        MirrorItem,
        MirrorResult,
        SyncConfig,
        SyncConfigError,
        SyncJob,
        SyncReport,
        TagFilter,
        load_sync_config,
    )
    from ._models import CopyImageResult, PrunedManifest, PruneResult, TransferProgress
    from ._sync._archives import copy_archive, pull_archive, push_archive
    from ._sync._artifacts_oras import attach_artifact, pull_artifact, push_artifact, referrer_tree
    from ._sync._copy import copy_image, pull_image, push_image
    from ._sync._inspect import add_tags, get_digest, get_image_config, inspect_image
    from ._sync._mirror import mirror_repository, sync_mirrors
    from ._sync._prune import prune

#: Module (relative to this package) -> the public names it provides. Kept equal to the imports above
#: and to `__all__` by tests/tooling/test_lazy_imports.py.
_LAZY_MODULES: dict[str, tuple[str, ...]] = {
    "._layout": ("ImageLayoutError", "OciLayout"),
    "._archive": ("ArchiveError", "ArchiveLocation", "parse_archive_location"),
    "._artifacts": (
        "ArtifactFile",
        "ArtifactPathError",
        "PullArtifactResult",
        "PulledFile",
        "PushArtifactResult",
        "ReferrerNode",
    ),
    "._inspect": ("AddTagsResult", "ImageInspection", "IndexEntry", "LayerInfo", "PlatformNotFoundError"),
    "._mirror": (
        "MirrorItem",
        "MirrorResult",
        "SyncConfig",
        "SyncConfigError",
        "SyncJob",
        "SyncReport",
        "TagFilter",
        "load_sync_config",
    ),
    "._locations": ("ImageLocation", "LayoutLocation", "RegistryLocation", "parse_image_location"),
    "._models": ("CopyImageResult", "PrunedManifest", "PruneResult", "TransferProgress"),
    "._sync._archives": ("copy_archive", "pull_archive", "push_archive"),
    "._sync._artifacts_oras": ("attach_artifact", "pull_artifact", "push_artifact", "referrer_tree"),
    "._sync._copy": ("copy_image", "pull_image", "push_image"),
    "._sync._inspect": ("add_tags", "get_digest", "get_image_config", "inspect_image"),
    "._sync._mirror": ("mirror_repository", "sync_mirrors"),
    "._sync._prune": ("prune",),
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
