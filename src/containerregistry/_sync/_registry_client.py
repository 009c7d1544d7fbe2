# This file is generated from containerregistry/aio/_registry_client.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""ContainerRegistryClient: an ACR registry's repositories, with Entra ID, token and anonymous auth."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from .._options import ClientOptions
from .._sdk_keywords import sdk_client_options
from ..auth import Credential
from ..protocol.acr import DEFAULT_API_VERSION, parse_catalog
from ..protocol.http import add_query
from ..protocol.reference import validate_repository
from ..transport import RetryPolicy
from ._artifact import RegistryArtifact, _AcrSession
from ._flat import _FlatMethods
from ._paging import ItemPaged
from ._pipeline import Pipeline
from ._repository import ContainerRepository

if TYPE_CHECKING:
    from ..protocol.results import DeleteRepositoryResult

__all__ = ["ContainerRegistryClient"]

_CATALOG_SCOPE = ("registry:catalog:*",)


class ContainerRegistryClient(_FlatMethods):
    """The repositories of an Azure Container Registry (or an ACR-compatible registry such as the emulator).

    Args:
        endpoint: `https://myregistry.azurecr.io` (a bare host gets https; loopback hosts http).
        credential: None for anonymous access (registries that allow anonymous pull); an Entra ID
            credential (any object with `get_token(*scopes)`, e.g. azure-identity's
            `DefaultAzureCredential`; async credentials for the async client), exchanged for an ACR
            refresh token; a `BasicCredential` (admin user or repository-scoped token); a
            `RefreshTokenCredential`; or a `DockerConfigCredential` (typed `Credential`).
        audience: the Entra ID audience (see `ContainerRegistryAudience`); default
            `https://containerregistry.azure.net`.
        api_version: the ACR data-plane API version sent as `api-version` (default `2021-07-01`).
        transport: an httpx transport to use instead of the default fast one (retries still wrap it), or
            an azure-core transport (`RequestsTransport()`, `AioHttpTransport()` for the async client).
        http_client: an httpx client to use as is.
        timeout: seconds or an `httpx.Timeout`.
        retry: the retry policy for idempotent requests.
        verify: TLS verification: True, False, or a CA bundle path.
        insecure: allow sending credentials over plain http to a host that is not loopback.
        trusted_token_hosts: token servers outside the registry's host and registrable domain that may
            receive a password, identity or refresh token, e.g. `("auth.example.com",)`; `host` means any
            port, `host:port` one. Never applies to Entra ID tokens, which go only to the registry.
        options: a `ClientOptions` holding the credential and connection options at once; the keywords
            above that are given (not at their defaults) replace its fields.

    Repositories and artifacts from `get_repository` / `get_artifact` share this client's connection
    pool and token cache. Use the client as a context manager, or call `close()`.

    It also has the flat methods of azure-containerregistry's client (`get_tag_properties(repository,
    tag)`, `upload_blob(repository, data)`, ...: see `_FlatMethods`) and takes its keywords
    (`connection_verify=`, `retry_total=`, `credential_scopes=`, ...), so SDK code runs with only its
    import changed.

    Raises:
        InvalidReferenceError: the endpoint is malformed.
    """

    def __init__(
        self,
        endpoint: str,
        credential: Credential | None = None,
        *,
        audience: str | None = None,
        api_version: str | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        insecure: bool = False,
        trusted_token_hosts: Iterable[str] | None = None,
        options: ClientOptions | None = None,
        _pipeline: Pipeline | None = None,  # another client's (it stays the owner's to close)
        **sdk_keywords: Any,
    ) -> None:
        sdk = sdk_client_options(
            sdk_keywords,
            transport=transport,
            verify=verify,
            timeout=timeout,
            retry=retry,
            audience=audience,
            kind=httpx.BaseTransport,
        )
        transport, verify, timeout, retry, audience = (
            sdk.transport,
            sdk.verify,
            sdk.timeout,
            sdk.retry,
            sdk.audience,
        )
        self._owns_pipeline = _pipeline is None
        pipeline = _pipeline or Pipeline(
            endpoint,
            ClientOptions.merged(
                options,
                credential=credential,
                audience=None if audience is None else str(audience),
                transport=transport,
                timeout=timeout,
                retry=retry,
                verify=verify,
                insecure=insecure,
                trusted_token_hosts=trusted_token_hosts,
            ),
            http_client=http_client,
        )
        self._session = _AcrSession(pipeline, api_version or DEFAULT_API_VERSION)

    @property
    def endpoint(self) -> str:
        """The registry endpoint, `https://host[:port]`."""
        return self._session.endpoint

    @property
    def login_server(self) -> str:
        """The registry's login server, `host[:port]` (the registry part of image references)."""
        return self._session.login_server

    @property
    def api_version(self) -> str:
        """The ACR data-plane API version sent as `api-version`."""
        return self._session.api_version

    def __repr__(self) -> str:
        return f"<ContainerRegistryClient {self.endpoint}>"

    def list_repository_names(self, *, results_per_page: int | None = None) -> ItemPaged[str]:
        """The names of the registry's repositories, in lexical order, fetched page by page.

        Args:
            results_per_page: page size (`n`); None lets the registry choose.

        Raises:
            ClientAuthenticationError: the credential may not list the catalog (`registry:catalog:*`).
        """
        if results_per_page is not None and (
            isinstance(results_per_page, bool)
            or not isinstance(results_per_page, int)
            or results_per_page < 1
        ):
            raise ValueError(f"results_per_page must be a positive integer, not {results_per_page!r}")
        first = self._session.url("_catalog", n=None if results_per_page is None else str(results_per_page))
        fallback = f"{self.endpoint}/v2/_catalog"
        if results_per_page is not None:
            fallback = add_query(fallback, n=str(results_per_page))
        return self._session.pager(
            first,
            scope=_CATALOG_SCOPE,
            action=f"list repositories of {self.login_server}",
            parse=parse_catalog,
            fallback_url=fallback,
        )

    def get_repository(self, name: str) -> ContainerRepository:
        """The repository `name` (no I/O).

        Raises:
            InvalidReferenceError: `name` is not a valid repository name.
        """
        return ContainerRepository(self._session, name)

    def get_artifact(self, repository: str, tag_or_digest: str) -> RegistryArtifact:
        """The artifact `repository:tag` or `repository@digest` (no I/O).

        Raises:
            InvalidReferenceError: a malformed repository name, tag or digest.
        """
        return RegistryArtifact(self._session, repository, tag_or_digest)

    def delete_repository(self, repository: str, *, missing_ok: bool = True) -> DeleteRepositoryResult:
        """Delete a repository with all its manifests and tags; succeeds when it is already gone.

        Args:
            missing_ok: True (the Azure SDK's convention): a repository that does not exist is no
                error (an empty result). False: raise `ResourceNotFoundError` for it.

        Returns:
            What was deleted (empty when there was nothing).

        Raises:
            OperationNotAllowedError: the repository or something in it is locked.
            ResourceNotFoundError: with `missing_ok=False`, no such repository.
            UnsupportedOperationError: the registry has no repository delete API (no ACR API);
                nothing was deleted.
        """
        validate_repository(repository)
        return self.get_repository(repository).delete(missing_ok=missing_ok)

    def get_acr_refresh_token(self) -> str | None:
        """The refresh token this client holds for the registry, obtaining one when needed.

        For an Entra ID credential this is the ACR refresh token from `/oauth2/exchange` (about 3
        hours); for a `RefreshTokenCredential` its own token. Use it to log in Docker:
        `docker login <login server> -u 00000000-0000-0000-0000-000000000000 -p <token>`.

        Returns:
            The token, or None when the credential gets no refresh token (anonymous, or a registry
            that issues none for this credential).
        """
        return self._session.pipeline.get_refresh_token()

    def close(self) -> None:
        """Close the connection pool (shared with the repositories and artifacts this client made)."""
        if self._owns_pipeline:
            self._session.pipeline.close()

    def __enter__(self) -> ContainerRegistryClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
