"""containerregistry: fast sync and async clients, a CLI and a local emulator for container registries.

The sync API lives here; `containerregistry.aio` has the same names with `async def` methods.
"""

from __future__ import annotations

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
    ManifestFormatError,
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
