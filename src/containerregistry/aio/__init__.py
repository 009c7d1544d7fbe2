"""The async API: the same names as `containerregistry`, with `async def` methods and `AsyncItemPaged`."""

from __future__ import annotations

from ._content_client import BlobStream, ContainerRegistryContentClient
from ._paging import AsyncItemPaged, AsyncPageIterator

__all__ = [
    "AsyncItemPaged",
    "AsyncPageIterator",
    "BlobStream",
    "ContainerRegistryContentClient",
]
