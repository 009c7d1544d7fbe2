"""containerregistry: fast sync and async clients, a CLI and a local emulator for container registries.

The sync API lives here; `containerregistry.aio` has the same names with `async def` methods.

Every public name is loaded on first use (PEP 562 `__getattr__`), so `import containerregistry` and the
`creg` CLI, which imports this package first, load no HTTP stack until a client is asked for; `from
containerregistry import X` works as ever, and type checkers read the imports under `TYPE_CHECKING`.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from ._blob_source import BlobData
    from ._options import ClientOptions
    from ._sync import (
        ArtifactArchitecture,
        ArtifactManifestOrder,
        ArtifactManifestPlatform,
        ArtifactManifestProperties,
        ArtifactOperatingSystem,
        ArtifactTagOrder,
        ArtifactTagProperties,
        BlobStream,
        ContainerRegistryAudience,
        ContainerRegistryClient,
        ContainerRegistryContentClient,
        ContainerRepository,
        DownloadBlobStream,
        ItemPaged,
        PageIterator,
        RegistryArtifact,
        RepositoryProperties,
    )
    from .auth import BasicCredential, DockerConfigCredential, RefreshTokenCredential
    from .exceptions import (
        ClientAuthenticationError,
        DigestValidationError,
        ErrorDetail,
        HttpResponseError,
        InsecureTransportError,
        InvalidReferenceError,
        ManifestTooLargeError,
        OperationNotAllowedError,
        PermissionDeniedError,
        RegistryError,
        RegistryProtocolError,
        ResourceNotFoundError,
        ServiceRequestError,
        TooManyRequestsError,
        UnsafePathError,
        UnsupportedOperationError,
        UntrustedTokenServerError,
    )
    from .protocol.models import (
        ManifestFormatError,
        OciAnnotations,
        OciDescriptor,
        OciImageIndex,
        OciImageManifest,
        Platform,
    )
    from .protocol.reference import Reference, parse_reference
    from .protocol.results import (
        DeleteRepositoryResult,
        DownloadBlobToResult,
        DownloadRegistryBlobResult,
        GetManifestResult,
        SetManifestResult,
        UploadRegistryBlobResult,
    )
    from .transport import RetryPolicy

__version__ = "0.1.0"

#: Module (relative to this package) -> the public names it provides. Kept equal to the imports above
#: and to `__all__` by tests/tooling/test_lazy_imports.py.
_LAZY_MODULES: dict[str, tuple[str, ...]] = {
    "._blob_source": ("BlobData",),
    "._options": ("ClientOptions",),
    "._sync": (
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
    ),
    ".auth": (
        "BasicCredential",
        "DockerConfigCredential",
        "RefreshTokenCredential",
    ),
    ".exceptions": (
        "ClientAuthenticationError",
        "DigestValidationError",
        "ErrorDetail",
        "HttpResponseError",
        "InsecureTransportError",
        "InvalidReferenceError",
        "ManifestTooLargeError",
        "OperationNotAllowedError",
        "PermissionDeniedError",
        "RegistryError",
        "RegistryProtocolError",
        "ResourceNotFoundError",
        "ServiceRequestError",
        "TooManyRequestsError",
        "UnsafePathError",
        "UnsupportedOperationError",
        "UntrustedTokenServerError",
    ),
    ".protocol.models": (
        "ManifestFormatError",
        "OciAnnotations",
        "OciDescriptor",
        "OciImageIndex",
        "OciImageManifest",
        "Platform",
    ),
    ".protocol.reference": (
        "Reference",
        "parse_reference",
    ),
    ".protocol.results": (
        "DeleteRepositoryResult",
        "DownloadBlobToResult",
        "DownloadRegistryBlobResult",
        "GetManifestResult",
        "SetManifestResult",
        "UploadRegistryBlobResult",
    ),
    ".transport": ("RetryPolicy",),
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
    "BasicCredential",
    "BlobData",
    "BlobStream",
    "ClientAuthenticationError",
    "ClientOptions",
    "ContainerRegistryAudience",
    "ContainerRegistryClient",
    "ContainerRegistryContentClient",
    "ContainerRepository",
    "DeleteRepositoryResult",
    "DigestValidationError",
    "DockerConfigCredential",
    "DownloadBlobStream",
    "DownloadBlobToResult",
    "DownloadRegistryBlobResult",
    "ErrorDetail",
    "GetManifestResult",
    "HttpResponseError",
    "InsecureTransportError",
    "InvalidReferenceError",
    "ItemPaged",
    "ManifestFormatError",
    "ManifestTooLargeError",
    "OciAnnotations",
    "OciDescriptor",
    "OciImageIndex",
    "OciImageManifest",
    "OperationNotAllowedError",
    "PageIterator",
    "PermissionDeniedError",
    "Platform",
    "Reference",
    "RefreshTokenCredential",
    "RegistryArtifact",
    "RegistryError",
    "RegistryProtocolError",
    "RepositoryProperties",
    "ResourceNotFoundError",
    "RetryPolicy",
    "ServiceRequestError",
    "SetManifestResult",
    "TooManyRequestsError",
    "UnsafePathError",
    "UnsupportedOperationError",
    "UntrustedTokenServerError",
    "UploadRegistryBlobResult",
    "parse_reference",
]


def _load_all() -> None:
    """Bind every public name: the first use of one loads the sync client stack, which imports them all."""
    for module_name, names in _LAZY_MODULES.items():
        module = _importlib.import_module(module_name, __name__)
        for name in names:
            globals()[name] = getattr(module, name)


def __getattr__(name: str) -> _Any:
    """PEP 562: a public name not loaded yet."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load_all()
    return globals()[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(_types.ModuleType):
    """This package's module type: once the async API is imported, every public name is bound.

    Importing `containerregistry.aio` sets that attribute here when it completes; the names then go into
    the namespace at once, as they did before they were lazy (`vars(containerregistry)` lists them all
    once a client API is in use: tests/test_public_api.py reads it so). The private sync package,
    `containerregistry._sync`, binds nothing when it is imported: it is lazy itself, and the CLI and the
    sync image engines import from it just the client modules they use (`creg tag ls` the registry
    client, not the content client's upload and download stack), which binding every name here would
    load. The first use of any public name binds them all, as before.
    """

    def __setattr__(self, name: str, value: _Any) -> None:
        super().__setattr__(name, value)
        if name == "aio":
            _load_all()


_sys.modules[__name__].__class__ = _Package
