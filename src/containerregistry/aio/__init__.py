"""The async API: the same names as `containerregistry`, with `async def` methods and `AsyncItemPaged`.

Each name is loaded from its module on first use (PEP 562 `__getattr__`, as in the top-level package and
in `containerregistry._sync`, the sync twin of this package's shape), so importing one client module
(`containerregistry.aio._registry_client`, as an image engine does) does not load the others;
`from containerregistry.aio import X` works as ever, and type checkers read the imports under
`TYPE_CHECKING`. A name, once used, stays bound here (`vars()` lists it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._lazy import lazy_attributes as _lazy_attributes

# aiohttp is imported here, with the async API, so that the first client made inside a running event loop
# does not block that loop while aiohttp loads (the sync API never loads it: see transport/__init__.py).
from ..transport import _aiohttp  # noqa: F401

if _TYPE_CHECKING:
    from .._blob_source import BlobData
    from .._options import ClientOptions
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
    from ._flat import AsyncDownloadBlobStream
    from ._paging import AsyncItemPaged, AsyncPageIterator
    from ._registry_client import ContainerRegistryClient
    from ._repository import ContainerRepository

#: Module (relative to this package) -> the public names it provides. Kept equal to the imports above
#: and to `__all__` by tests/tooling/test_lazy_imports.py.
_LAZY_MODULES: dict[str, tuple[str, ...]] = {
    ".._blob_source": ("BlobData",),
    ".._options": ("ClientOptions",),
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
    "._flat": ("AsyncDownloadBlobStream",),
    "._paging": ("AsyncItemPaged", "AsyncPageIterator"),
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
    "AsyncDownloadBlobStream",
    "AsyncItemPaged",
    "AsyncPageIterator",
    "BlobData",
    "BlobStream",
    "ClientOptions",
    "ContainerRegistryAudience",
    "ContainerRegistryClient",
    "ContainerRegistryContentClient",
    "ContainerRepository",
    "RegistryArtifact",
    "RepositoryProperties",
]


__getattr__, __dir__ = _lazy_attributes(globals())
