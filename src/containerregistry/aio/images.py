"""Whole images, async: the same names as `containerregistry.images`, with `async def` operations.

Example::

    from containerregistry.aio.images import copy_image

    result = await copy_image("127.0.0.1:5000/app:1.0", "oci:./app:1.0", concurrency=8)
    print(result.digest, result.bytes_copied)
"""

from __future__ import annotations

from .._layout import ImageLayoutError, OciLayout
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
from ._images import copy_image, prune, pull_image, push_image

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
