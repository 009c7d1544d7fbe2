"""Whole images: push, pull and copy images and multi-platform indexes; OCI image layouts; prune.

Sync API (`containerregistry.aio.images` has the same names with `async def`)::

    from containerregistry.images import copy_image, prune, pull_image, push_image

    push_image("oci:./build:1.0", "myregistry.azurecr.io/app:1.0", credential=credential)
    pull_image("127.0.0.1:5000/app:1.0", "oci:./app:1.0", platforms=["linux/amd64"])
    copy_image("127.0.0.1:5000/app:1.0", "127.0.0.1:5000/mirror/app:1.0")  # blobs are mounted

Locations are parsed by `parse_image_location`: registry references `host[:port]/repo[:tag|@digest]`
or OCI layout directories `oci:DIR[:tag]`.
"""

from __future__ import annotations

from .._layout import ImageLayoutError, OciLayout
from .._sync._images import copy_image, prune, pull_image, push_image
from ._models import (
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
    "CopyImageResult",
    "ImageLayoutError",
    "ImageLocation",
    "LayoutLocation",
    "OciLayout",
    "PruneResult",
    "PrunedManifest",
    "RegistryLocation",
    "TransferProgress",
    "copy_image",
    "parse_image_location",
    "prune",
    "pull_image",
    "push_image",
]
