"""The sync clients, generated from `containerregistry.aio` by scripts/unasync.py (re-exported at the top level)."""

from __future__ import annotations

from ._content_client import BlobStream, ContainerRegistryContentClient
from ._paging import ItemPaged, PageIterator

__all__ = [
    "BlobStream",
    "ContainerRegistryContentClient",
    "ItemPaged",
    "PageIterator",
]
