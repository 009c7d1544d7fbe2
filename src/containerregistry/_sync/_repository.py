# This file is generated from containerregistry/aio/_repository.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""ContainerRepository: one ACR repository, its properties, manifests and tags."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import ResourceNotFoundError, UnsupportedOperationError
from ..protocol.acr import (
    ArtifactManifestOrder,
    ArtifactManifestProperties,
    ArtifactTagOrder,
    ArtifactTagProperties,
    RepositoryProperties,
    changeable_update,
    parse_delete_repository,
    parse_manifest_list,
    parse_tag_list,
)
from ..protocol.reference import Reference, validate_repository
from ._artifact import (
    RegistryArtifact,
    _absent,
    _AcrSession,
    _lacks_route,
    _list_params,
    _names_missing_item,
    _parsed,
)
from ._paging import ItemPaged

if TYPE_CHECKING:
    from ..protocol.results import DeleteRepositoryResult

__all__ = ["ContainerRepository"]


class ContainerRepository:
    """A repository of an ACR registry: its properties, its manifests and tags, and deleting it.

    Get one from `ContainerRegistryClient.get_repository` (no I/O). It shares the client's connection
    pool and token cache; closing the client ends it too.
    """

    def __init__(self, session: _AcrSession, name: str) -> None:
        validate_repository(name)
        self._session = session
        self._name = name
        #: The repository as a name value: it computes the token scopes of this object's requests.
        self._ref = Reference(session.login_server, name)

    @property
    def name(self) -> str:
        """The repository name, e.g. `library/hello-world`."""
        return self._name

    @property
    def registry_endpoint(self) -> str:
        """The registry endpoint, `https://host[:port]`."""
        return self._session.endpoint

    @property
    def fully_qualified_name(self) -> str:
        """`<login server>/<name>`, e.g. `myregistry.azurecr.io/library/hello-world`."""
        return f"{self._session.login_server}/{self._name}"

    def __repr__(self) -> str:
        return f"<ContainerRepository {self.fully_qualified_name}>"

    def get_properties(self) -> RepositoryProperties:
        """The repository's properties (counts, times, locks).

        Raises:
            ResourceNotFoundError: no such repository.
        """
        action = f"get properties of repository {self.fully_qualified_name}"
        body, _ = self._session.request_json(
            "GET",
            self._session.url(self._name),
            scope=(self._ref.scope("metadata_read"),),
            action=action,
        )
        return _parsed(RepositoryProperties._from_wire, body, action)

    def update_properties(
        self,
        properties: RepositoryProperties | None = None,
        *,
        can_delete: bool | None = None,
        can_write: bool | None = None,
        can_read: bool | None = None,
        can_list: bool | None = None,
    ) -> RepositoryProperties:
        """Change the repository's locks; only the attributes given are sent.

        Args:
            properties: its `can_*` that are not None are sent.
            can_delete, can_write, can_read, can_list: override `properties`; None leaves unchanged.

        Returns:
            The repository's properties after the update.

        Raises:
            ValueError: nothing to update.
            ResourceNotFoundError: no such repository.
        """
        patch = changeable_update(
            properties, can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )
        action = f"update properties of repository {self.fully_qualified_name}"
        body, _ = self._session.request_json(
            "PATCH",
            self._session.url(self._name),
            scope=(self._ref.scope("metadata_write"),),
            action=action,
            body=patch,
        )
        return _parsed(RepositoryProperties._from_wire, body, action)

    def list_manifest_properties(
        self,
        *,
        order_by: ArtifactManifestOrder | str = ArtifactManifestOrder.NONE,
        results_per_page: int | None = None,
    ) -> ItemPaged[ArtifactManifestProperties]:
        """The repository's manifests with their properties, page by page.

        Args:
            order_by: `ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING` (newest first),
                `LAST_UPDATED_ON_ASCENDING`, or `NONE` (the registry's order).
            results_per_page: page size (`n`); None lets the registry choose.
        """
        params = _list_params(ArtifactManifestOrder(order_by), results_per_page)
        return self._session.pager(
            self._session.url(self._name, "_manifests", **params),
            scope=(self._ref.scope("metadata_read"),),
            action=f"list manifests of {self.fully_qualified_name}",
            parse=parse_manifest_list,
        )

    def list_tag_properties(
        self,
        *,
        order_by: ArtifactTagOrder | str = ArtifactTagOrder.NONE,
        results_per_page: int | None = None,
    ) -> ItemPaged[ArtifactTagProperties]:
        """Every tag of the repository with its properties, page by page.

        Args:
            order_by: `ArtifactTagOrder.LAST_UPDATED_ON_DESCENDING`, `LAST_UPDATED_ON_ASCENDING`, or
                `NONE` (by name).
            results_per_page: page size (`n`); None lets the registry choose.
        """
        params = _list_params(ArtifactTagOrder(order_by), results_per_page)
        return self._session.pager(
            self._session.url(self._name, "_tags", **params),
            scope=(self._ref.scope("metadata_read"),),
            action=f"list tags of {self.fully_qualified_name}",
            parse=parse_tag_list,
        )

    def get_artifact(self, tag_or_digest: str) -> RegistryArtifact:
        """The artifact named by a tag or digest in this repository (no I/O).

        Raises:
            InvalidReferenceError: `tag_or_digest` is neither a valid tag nor a valid digest.
        """
        return RegistryArtifact(self._session, self._name, tag_or_digest)

    def delete(self, *, missing_ok: bool = True) -> DeleteRepositoryResult:
        """Delete the repository with all its manifests and tags; succeeds when it is already gone.

        Args:
            missing_ok: True (the Azure SDK's convention): a repository that does not exist is no
                error (an empty result). False: raise `ResourceNotFoundError` for it.

        Returns:
            What was deleted (empty when there was nothing).

        Raises:
            OperationNotAllowedError: the repository or something in it is locked.
            ResourceNotFoundError: with `missing_ok=False`, no such repository.
            UnsupportedOperationError: the registry has no repository delete API (it lacks the ACR
                API, e.g. CNCF Distribution); nothing was deleted.
        """
        # Imported here: the result models (frozen dataclasses, slow to define) are not needed by listings.
        from ..protocol.results import DeleteRepositoryResult

        action = f"delete repository {self.fully_qualified_name}"
        try:
            body, _ = self._session.request_json(
                "DELETE",
                self._session.url(self._name),
                scope=(self._ref.scope("delete"),),
                action=action,
                expect=(202, 200, 204),
            )
        except ResourceNotFoundError as exc:
            if _names_missing_item(exc):
                _absent(action, "repository", exc, missing_ok)
                return DeleteRepositoryResult()
            if not _lacks_route(exc):
                raise
            if not self._oci_exists():
                _absent(action, "repository", None, missing_ok)
                return DeleteRepositoryResult()
            raise UnsupportedOperationError(
                f"{action} failed: this registry has no API to delete a repository (it lacks the ACR "
                "API); nothing was deleted. Delete its manifests by digest instead (creg manifest rm "
                f"{self._name}@DIGEST; creg tag ls --plain {self._name} lists the tags), which removes "
                "their tags; the registry's garbage collection then frees the blobs"
            ) from None
        manifests, tags = _parsed(parse_delete_repository, body, action)
        return DeleteRepositoryResult(deleted_manifests=manifests, deleted_tags=tags)

    def _oci_exists(self) -> bool:
        """Whether the repository exists, by the OCI `GET /v2/<name>/tags/list` (404 NAME_UNKNOWN: no)."""
        try:
            response = self._session.send(
                "GET",
                f"{self._session.endpoint}/v2/{self._name}/tags/list?n=1",
                scope=(self._ref.scope("pull"),),
                action=f"look up repository {self.fully_qualified_name}",
                stream=True,
            )
        except ResourceNotFoundError:
            return False
        response.close()
        return True
