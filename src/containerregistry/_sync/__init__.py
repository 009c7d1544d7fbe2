"""The sync clients, generated from `containerregistry.aio` by scripts/unasync.py (re-exported at the top level)."""

from __future__ import annotations

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
from ._artifact import RegistryArtifact
from ._content_client import BlobStream, ContainerRegistryContentClient
from ._flat import DownloadBlobStream
from ._paging import ItemPaged, PageIterator
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
    "BlobStream",
    "ContainerRegistryAudience",
    "ContainerRegistryClient",
    "ContainerRegistryContentClient",
    "ContainerRepository",
    "DownloadBlobStream",
    "ItemPaged",
    "PageIterator",
    "RegistryArtifact",
    "RepositoryProperties",
]
