"""The sync clients, generated from `containerregistry.aio` by scripts/unasync.py (re-exported at the top level).

This file is hand-written, in the shape of `aio/__init__.py`: each name is loaded from its module on
first use (PEP 562 `__getattr__`), so importing one client module (`creg tag ls` imports
`containerregistry._sync._registry_client` only: cli/_context.py) does not load the others, the content
client's upload and download stack among them. A name, once used, stays bound here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._lazy import lazy_attributes as _lazy_attributes

if _TYPE_CHECKING:
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

#: Module (relative to this package) -> the public names it provides. Kept equal to the imports above
#: and to `__all__` by tests/tooling/test_lazy_imports.py.
_LAZY_MODULES: dict[str, tuple[str, ...]] = {
    "..protocol.acr": (
        "ArtifactArchitecture",
        "ArtifactManifestOrder",
        "ArtifactManifestPlatform",
        "ArtifactManifestProperties",
        "ArtifactOperatingSystem",
        "ArtifactTagOrder",
        "ArtifactTagProperties",
        "ContainerRegistryAudience",
        "RepositoryProperties",
    ),
    "._artifact": ("RegistryArtifact",),
    "._content_client": ("BlobStream", "ContainerRegistryContentClient"),
    "._flat": ("DownloadBlobStream",),
    "._paging": ("ItemPaged", "PageIterator"),
    "._registry_client": ("ContainerRegistryClient",),
    "._repository": ("ContainerRepository",),
}
_MODULE_OF = {name: module for module, names in _LAZY_MODULES.items() for name in names}

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


__getattr__, __dir__ = _lazy_attributes(globals())
