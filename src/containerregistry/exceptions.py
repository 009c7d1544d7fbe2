"""Errors raised by containerregistry.

Hierarchy::

    RegistryError
    ├── HttpResponseError               the registry answered, and said no
    │   ├── ClientAuthenticationError   401
    │   │   └── UntrustedTokenServerError   a token server the credential may not go to
    │   ├── PermissionDeniedError       403
    │   ├── ResourceNotFoundError       404
    │   ├── OperationNotAllowedError    405 (a locked image, deletes disabled)
    │   └── TooManyRequestsError        429
    ├── ServiceRequestError             no usable answer: connect/read failures after retries
    │   └── RegistryProtocolError       the registry answered nonsense: malformed JSON, no upload
    │                                   Location, a bad digest header or Content-Range, a body over
    │                                   its size cap or undecodable
    ├── DigestValidationError           (also a ValueError) content does not match its digest
    ├── InvalidReferenceError           (also a ValueError) a malformed name, tag or digest
    ├── ManifestFormatError             (also a ValueError) a manifest, index or descriptor of the wrong shape
    ├── ManifestTooLargeError           (also a ValueError, as in the Azure SDK) a manifest above the 4 MiB limit
    ├── ImageLayoutError                (also a ValueError) an OCI layout directory is missing, malformed or unsafe
    ├── InsecureTransportError          credentials would be sent over plain http
    ├── UnsupportedOperationError       the registry has no API for this (e.g. ACR's on Distribution)
    └── UnsafePathError                 a local file would be written through a symlink

Messages say what was asked, of which registry, and why it failed. They never contain secrets.

When azure-core is loaded, an error raised is also an instance of azure-core's class of the same role
(`HttpResponseError`, `ClientAuthenticationError`, `ResourceNotFoundError`, `ServiceRequestError`), so
code written for the Azure SDK (`except azure.core.exceptions.ResourceNotFoundError:`) catches it; see
`containerregistry._azure_core`. Nothing of azure-core is imported for this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._azure_core import azure_twin

__all__ = [
    "ClientAuthenticationError",
    "DigestValidationError",
    "ErrorDetail",
    "HttpResponseError",
    "ImageLayoutError",
    "InsecureTransportError",
    "InvalidReferenceError",
    "ManifestFormatError",
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
]


class RegistryError(Exception):
    """Base class of every error this library raises on purpose."""

    def __new__(cls, *args: Any, **kwargs: Any) -> RegistryError:
        return super().__new__(azure_twin(cls), *args)


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an OCI error body: `{"code", "message", "detail"}`."""

    code: str
    message: str = ""
    detail: Any = None


class HttpResponseError(RegistryError):
    """The registry answered with an error status.

    Attributes:
        status_code: the HTTP status.
        errors: the OCI error entries of the body (may be empty).
        method, url: the request that failed (query strings are dropped; they may carry state).
        retry_after: seconds the server asked to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: list[ErrorDetail] | None = None,
        method: str = "",
        url: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.errors = list(errors or [])
        self.method = method
        self.url = url
        self.retry_after = retry_after

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]


class ClientAuthenticationError(HttpResponseError):
    """401: the credential was missing, wrong or expired, or lacks the scope named in the message."""


class UntrustedTokenServerError(ClientAuthenticationError):
    """The registry's challenge named a token server the credential may not be sent to.

    A password, identity or refresh token goes only to a token server on the registry's own host or
    registrable domain, or one listed in ``trusted_token_hosts``; an Entra ID token is exchanged only
    at the registry's own origin. Nothing was sent. Attributes: ``registry`` and ``token_host``.
    """

    def __init__(self, message: str, *, registry: str, token_host: str, url: str = "") -> None:
        super().__init__(message, status_code=401, url=url)
        self.registry = registry
        self.token_host = token_host


class PermissionDeniedError(HttpResponseError):
    """403: authenticated, but not allowed."""


class ResourceNotFoundError(HttpResponseError):
    """404: the repository, tag, manifest, blob or upload session does not exist."""


class OperationNotAllowedError(HttpResponseError):
    """405: the operation is disallowed (a locked repository, manifest or tag; deletes disabled)."""


class TooManyRequestsError(HttpResponseError):
    """429: rate limited, still after the retry budget."""


class ServiceRequestError(RegistryError):
    """No usable response: connection refused, reset or timed out after the retries allowed."""


class RegistryProtocolError(ServiceRequestError):
    """The registry (or its token server, or a credential helper) answered, but with nonsense.

    Malformed or truncated JSON, JSON of the wrong shape (a tag list that is not a list of strings),
    an upload answer without a usable `Location`, a missing or malformed `Docker-Content-Digest` or
    `Content-Range`, a resumed download that starts at another offset than asked, an unusable redirect,
    a body above its size cap (counted in decoded bytes, so a compressed bomb is stopped early), a
    `Content-Encoding` that cannot be decoded, or JSON nested too deeply to parse. The message says
    what was asked, of which registry, and what was wrong with the answer.

    A subclass of `ServiceRequestError` (which it replaces for these cases), so code written as
    `except ServiceRequestError` still catches it, and so does azure-core's `ServiceRequestError`
    when azure-core is loaded.
    """


class DigestValidationError(RegistryError, ValueError):
    """Content does not match the digest it was asked for or announced."""

    def __init__(self, message: str, *, expected: str = "", actual: str = "") -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class InvalidReferenceError(RegistryError, ValueError):
    """A malformed reference, repository name, tag or digest. Raised before any I/O."""


class ManifestFormatError(RegistryError, ValueError):
    """A manifest, index or descriptor does not have the shape the OCI image spec requires.

    The message names the offending field with its path, e.g. `manifests[2].platform.os`. Also a
    `ValueError`, as it was before it joined this tree. Importable from `containerregistry`,
    `containerregistry.protocol.models` and here.
    """


class ManifestTooLargeError(RegistryError, ValueError):
    """A manifest larger than the limit (4 MiB by default) was refused without reading it whole."""


class ImageLayoutError(RegistryError, ValueError):
    """An OCI image layout directory is missing, malformed or unsafe, or has no such image.

    Importable from `containerregistry.images`, `containerregistry.aio.images` and here.
    """


class InsecureTransportError(RegistryError):
    """Credentials would be sent over plain http to a non-loopback host; pass `insecure=True` to allow it."""


class UnsupportedOperationError(RegistryError):
    """The registry has no API for the operation (nothing was changed); the message says what it can do.

    For example, deleting a tag or a repository on a registry without the ACR API: CNCF Distribution
    answers `404 page not found` for `/acr/v1/...` and cannot delete a tag alone, only the manifest
    (with all its tags).
    """


class UnsafePathError(RegistryError):
    """A local file would be written through a symbolic link or a non-regular file; nothing was written."""
