"""The async API: the same names as `containerregistry`, with `async def` methods and `AsyncItemPaged`."""

from __future__ import annotations

from .._blob_source import BlobData
from ..protocol.acr import (
    ArtifactArchitecture,
    ArtifactManifestOrder,
    ArtifactManifestPlatform,
    ArtifactManifestProperties,
    ArtifactOperatingSystem,
    ArtifactTagOrder,
    ArtifactTagProperties,
    ContainerRegistryAudience,
    RepositoryProperties,
)

# aiohttp is imported here, with the async API, so that the first client made inside a running event loop
# does not block that loop while aiohttp loads (the sync API never loads it: see transport/__init__.py).
from ..transport import _aiohttp  # noqa: F401
from ._artifact import RegistryArtifact
from ._content_client import BlobStream, ContainerRegistryContentClient
from ._flat import AsyncDownloadBlobStream
from ._paging import AsyncItemPaged, AsyncPageIterator
from ._registry_client import ContainerRegistryClient
from ._repository import ContainerRepository

__all__ = [
    "ArtifactArchitecture",
    "ArtifactManifestOrder",
    "ArtifactManifestPlatform",
    "ArtifactManifestProperties",
    "ArtifactOperatingSystem",
    "ArtifactTagOrder",
    "ArtifactTagProperties",
    "AsyncDownloadBlobStream",
    "AsyncItemPaged",
    "AsyncPageIterator",
    "BlobData",
    "BlobStream",
    "ContainerRegistryAudience",
    "ContainerRegistryClient",
    "ContainerRegistryContentClient",
    "ContainerRepository",
    "RegistryArtifact",
    "RepositoryProperties",
]
