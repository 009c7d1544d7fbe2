"""RegistryArtifact: one image or artifact (by tag or digest) of an ACR repository, and its tags.

Also home of `_AcrSession`, what every ACR client of one registry shares: the pipeline (so one
connection pool and one token cache), the `api-version`, and JSON requests to `/acr/v1`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from .._bounded import loads_json
from .._common import login_server_of, scope_for
from ..exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    PermissionDeniedError,
    RegistryProtocolError,
    ResourceNotFoundError,
    UnsupportedOperationError,
)
from ..protocol import media_types
from ..protocol.acr import (
    ArtifactManifestProperties,
    ArtifactTagOrder,
    ArtifactTagProperties,
    changeable_update,
    parse_manifest_response,
    parse_tag_list,
    parse_tag_response,
)
from ..protocol.http import add_query, parse_link_next, redact_url
from ..protocol.reference import validate_digest, validate_repository, validate_tag
from ._paging import AsyncItemPaged
from ._pipeline import AsyncPipeline, read_capped

__all__ = ["RegistryArtifact"]

T = TypeVar("T")

#: Metadata responses above this size are refused rather than buffered (a page of 1,000 manifests is ~1 MiB).
_MAX_METADATA_SIZE = 16 * 1024 * 1024
#: OCI/ACR error codes of a 404 that names a missing item. A 404 of an `/acr/v1` route without an error
#: body (Distribution's `404 page not found`) means the route itself is missing: no ACR API there.
_MISSING_CODES = frozenset({"NAME_UNKNOWN", "MANIFEST_UNKNOWN", "TAG_UNKNOWN", "BLOB_UNKNOWN"})


def _names_missing_item(exc: HttpResponseError) -> bool:
    """True when a 404 says which item is missing (not that the registry lacks the route)."""
    return exc.status_code == 404 and any(code in _MISSING_CODES for code in exc.codes)


def _lacks_route(exc: HttpResponseError) -> bool:
    """True for a 404 without any OCI error entry: the registry has no such API."""
    return exc.status_code == 404 and not exc.errors


def _absent(action: str, what: str, cause: HttpResponseError | None, missing_ok: bool) -> None:
    """A delete of something absent: done when `missing_ok`, else `ResourceNotFoundError` naming it."""
    if missing_ok:
        return
    raise ResourceNotFoundError(
        f"{action} failed: no such {what}",
        status_code=404,
        errors=cause.errors if cause is not None else None,
        method=cause.method if cause is not None else "",
        url=cause.url if cause is not None else "",
    )


class _AcrSession:
    """What the ACR clients of one registry share: the pipeline, the api-version and `/acr/v1` requests."""

    def __init__(self, pipeline: AsyncPipeline, api_version: str) -> None:
        self.pipeline = pipeline
        self.api_version = api_version
        self.login_server = login_server_of(pipeline.endpoint)
        self._origin = urlsplit(pipeline.endpoint).netloc

    @property
    def endpoint(self) -> str:
        """`scheme://host[:port]`: the pipeline's, which a scheme probe may have changed."""
        return self.pipeline.endpoint

    def url(self, *segments: str, **params: str | None) -> str:
        """`<endpoint>/acr/v1/<segments>?api-version=...&<params>` (segments percent-encoded, '/' kept)."""
        path = "/".join(quote(segment, safe="/:") for segment in segments)
        return add_query(f"{self.endpoint}/acr/v1/{path}", {"api-version": self.api_version, **params})

    async def send(
        self,
        method: str,
        url: str,
        *,
        scope: tuple[str, ...],
        action: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        expect: tuple[int, ...] = (200,),
        stream: bool = False,
    ) -> httpx.Response:
        """`pipeline.send`, with authentication failures naming what was asked and the scope it needs."""
        try:
            return await self.pipeline.send(
                method,
                url,
                scope=scope,
                action=action,
                headers=headers,
                content=content,
                expect=expect,
                stream=stream,
            )
        except (ClientAuthenticationError, PermissionDeniedError) as exc:
            raise _with_scope(exc, action, scope) from exc

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        scope: tuple[str, ...],
        action: str,
        body: dict[str, Any] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[Any, httpx.Response]:
        """Send a metadata request and return its decoded JSON body (None when empty) and the response."""
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, separators=(",", ":")).encode()
        response = await self.send(
            method,
            url,
            scope=scope,
            action=action,
            headers=headers,
            content=content,
            expect=expect,
            stream=True,
        )
        raw = await read_capped(response, _MAX_METADATA_SIZE, action)
        if not raw.strip():
            return None, response
        try:
            return loads_json(raw, action), response
        except (ValueError, UnicodeDecodeError):
            raise RegistryProtocolError(
                f"{action} failed: the registry sent invalid JSON ({method} {redact_url(url)})"
            ) from None

    def pager(
        self,
        first_url: str | Callable[[], Awaitable[str]],
        *,
        scope: tuple[str, ...],
        action: str,
        parse: Callable[[Any], list[T]],
        fallback_url: str | None = None,
    ) -> AsyncItemPaged[T]:
        """Items of a `Link`-paged listing; the continuation token is the next page's URL.

        `first_url` may be a coroutine function, called when the first page is fetched (never before).
        `fallback_url` is listed instead when the first page answers 404 (a registry without the ACR
        API: `/v2/_catalog` serves the repository names on any OCI registry).
        """

        async def fetch(token: str | None) -> tuple[list[T], str | None]:
            if token is not None:
                url = self._own_page(token)
            elif isinstance(first_url, str):
                url = first_url
            else:
                url = await first_url()
            try:
                body, response = await self.request_json("GET", url, scope=scope, action=action)
            except ResourceNotFoundError:
                if token is not None or fallback_url is None:
                    raise
                url = fallback_url
                body, response = await self.request_json("GET", url, scope=scope, action=action)
            items = _parsed(parse, body, action)
            return items, self._next_page(response, url)

        return AsyncItemPaged(fetch)

    def _own_page(self, token: str) -> str:
        # A continuation token is a URL: refuse one of another registry, so our credentials stay here.
        parts = urlsplit(token) if isinstance(token, str) else None
        if (
            parts is None
            or parts.netloc != self._origin
            or not parts.path.startswith(("/acr/v1/", "/v2/_catalog"))
        ):
            raise ValueError("continuation_token is not a page of this registry's listing")
        return token

    def _next_page(self, response: httpx.Response, url: str) -> str | None:
        next_url = parse_link_next(response.headers.get("Link"), url)
        # A Link to another origin is ignored: paging never carries our credentials elsewhere.
        if next_url is None or urlsplit(next_url).netloc != self._origin:
            return None
        acr = urlsplit(next_url).path.startswith("/acr/v1/")
        if acr and not any(key == "api-version" for key, _ in parse_qsl(urlsplit(next_url).query)):
            next_url = add_query(next_url, {"api-version": self.api_version})
        return next_url


def _with_scope(
    exc: ClientAuthenticationError | PermissionDeniedError, action: str, scope: tuple[str, ...]
) -> ClientAuthenticationError | PermissionDeniedError:
    message = str(exc)
    if not message.startswith(action):
        message = f"{action} failed: {message}"
    needed = " ".join(scope)
    if needed not in message:
        message = f"{message} (the request needs scope {needed!r})"
    return type(exc)(
        message,
        status_code=exc.status_code,
        errors=exc.errors,
        method=exc.method,
        url=exc.url,
        retry_after=exc.retry_after,
    )


def _parsed(parse: Callable[[Any], T], body: Any, action: str) -> T:
    try:
        return parse(body)
    except (ValueError, TypeError) as exc:
        raise RegistryProtocolError(
            f"{action} failed: the registry sent a malformed response: {exc}"
        ) from None


def _is_digest(tag_or_digest: str) -> bool:
    """True for a digest, False for a tag; raises `InvalidReferenceError` for neither."""
    if isinstance(tag_or_digest, str) and ":" in tag_or_digest:
        validate_digest(tag_or_digest)
        return True
    validate_tag(tag_or_digest)
    return False


class RegistryArtifact:
    """An image or artifact of a repository, named by tag or digest: its manifest's properties and tags.

    Get one from `ContainerRegistryClient.get_artifact` or `ContainerRepository.get_artifact` (no I/O).
    A tag reference is resolved to its digest once, on the first call that needs the digest, and the
    digest endpoints are used from then on (so the object keeps naming the same manifest even if the
    tag moves).
    """

    def __init__(self, session: _AcrSession, repository: str, tag_or_digest: str) -> None:
        validate_repository(repository)
        self._session = session
        self._repository = repository
        self._reference = tag_or_digest
        self._digest: str | None = tag_or_digest if _is_digest(tag_or_digest) else None

    @property
    def repository_name(self) -> str:
        """The repository name."""
        return self._repository

    @property
    def registry_endpoint(self) -> str:
        """The registry endpoint, `https://host[:port]`."""
        return self._session.endpoint

    @property
    def fully_qualified_reference(self) -> str:
        """`<login server>/<repository>:<tag>` or `<login server>/<repository>@<digest>`."""
        separator = "@" if ":" in self._reference else ":"
        return f"{self._session.login_server}/{self._repository}{separator}{self._reference}"

    def __repr__(self) -> str:
        return f"<RegistryArtifact {self.fully_qualified_reference}>"

    def _what(self, reference: str | None = None) -> str:
        return f"{self._session.login_server}/{self._repository}{_ref_suffix(reference or self._reference)}"

    async def _resolve_digest(self) -> str:
        """The manifest digest: the reference itself, or the tag's digest (fetched once, then cached).

        On a registry without the ACR API the tag is resolved with the OCI `HEAD .../manifests/<tag>`.
        """
        if self._digest is None:
            try:
                tag = await self.get_tag_properties(self._reference)
                digest = tag.digest
            except ResourceNotFoundError as exc:
                if not _lacks_route(exc):
                    raise
                found = await self._oci_tag_digest(self._reference)
                if found is None:
                    raise ResourceNotFoundError(
                        f"resolve {self._what()} failed: no such tag",
                        status_code=404,
                        method="HEAD",
                        url=self._oci_manifest_url(self._reference),
                    ) from None
                digest = found
            if not digest:
                raise RegistryProtocolError(f"resolve {self._what()} failed: the registry sent no digest")
            self._digest = digest
        return self._digest

    def _oci_manifest_url(self, reference: str) -> str:
        return f"{self._session.endpoint}/v2/{self._repository}/manifests/{reference}"

    async def _oci_tag_digest(self, tag: str) -> str | None:
        """The digest a tag names, by OCI `HEAD /v2/<name>/manifests/<tag>`; None when there is no such tag."""
        action = f"resolve {self._what(tag)}"
        try:
            response = await self._session.send(
                "HEAD",
                self._oci_manifest_url(tag),
                scope=scope_for(self._repository, "pull"),
                action=action,
                headers={"Accept": media_types.MANIFEST_ACCEPT},
            )
        except ResourceNotFoundError:
            return None  # an OCI route: its 404 is the tag's (a HEAD has no error body to say more)
        digest = response.headers.get("Docker-Content-Digest", "")
        try:
            return validate_digest(digest)
        except ValueError:
            raise RegistryProtocolError(
                f"{action} failed: the registry sent no valid Docker-Content-Digest for the tag "
                f"(HEAD {redact_url(self._oci_manifest_url(tag))})"
            ) from None

    # -- manifest ---------------------------------------------------------------------------------

    async def get_manifest_properties(self) -> ArtifactManifestProperties:
        """The properties of this artifact's manifest.

        Raises:
            ResourceNotFoundError: no such tag or manifest.
        """
        digest = await self._resolve_digest()
        body, _ = await self._session.request_json(
            "GET",
            self._session.url(self._repository, "_manifests", digest),
            scope=scope_for(self._repository, "metadata_read"),
            action=f"get manifest properties of {self._what(digest)}",
        )
        return _parsed(parse_manifest_response, body, f"get manifest properties of {self._what(digest)}")

    async def update_manifest_properties(
        self,
        properties: ArtifactManifestProperties | None = None,
        *,
        can_delete: bool | None = None,
        can_write: bool | None = None,
        can_read: bool | None = None,
        can_list: bool | None = None,
    ) -> ArtifactManifestProperties:
        """Change the manifest's locks; only the attributes given are sent.

        Args:
            properties: its `can_*` that are not None are sent.
            can_delete, can_write, can_read, can_list: override `properties`; None leaves unchanged.

        Returns:
            The manifest's properties after the update.

        Raises:
            ValueError: nothing to update.
            ResourceNotFoundError: no such tag or manifest.
        """
        patch = changeable_update(
            properties, can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )
        digest = await self._resolve_digest()
        action = f"update manifest properties of {self._what(digest)}"
        body, _ = await self._session.request_json(
            "PATCH",
            self._session.url(self._repository, "_manifests", digest),
            scope=scope_for(self._repository, "metadata_write"),
            action=action,
            body=patch,
        )
        return _parsed(parse_manifest_response, body, action)

    async def delete(self, *, missing_ok: bool = True) -> None:
        """Delete the manifest (by digest, with every tag pointing at it); succeeds when it is already gone.

        Works on any OCI registry (`DELETE /v2/<name>/manifests/<digest>`); a tag is resolved through
        the ACR API, or the OCI manifest endpoint on a registry without it.

        Args:
            missing_ok: True (the Azure SDK's convention): a manifest (or tag) that does not exist is
                no error. False: raise `ResourceNotFoundError` for it.

        Raises:
            OperationNotAllowedError: the manifest, a tag of it or the repository is locked
                (`can_delete` or `can_write` is False), or the registry has deletes disabled.
            ResourceNotFoundError: with `missing_ok=False`, nothing to delete.
        """
        action = f"delete {self._what()}"
        try:
            digest = await self._resolve_digest()
        except ResourceNotFoundError as exc:
            if _names_missing_item(exc) or _lacks_route(exc):  # the tag (or repository) is gone
                return _absent(action, "tag" if self._digest is None else "manifest", exc, missing_ok)
            raise
        try:
            await self._session.send(
                "DELETE",
                self._oci_manifest_url(digest),
                scope=scope_for(self._repository, "delete"),
                action=f"delete {self._what(digest)}",
                expect=(202, 200, 204),
            )
        except ResourceNotFoundError as exc:
            # The OCI manifest route exists on every registry: its 404 is the manifest's.
            _absent(f"delete {self._what(digest)}", "manifest", exc, missing_ok)

    # -- tags -------------------------------------------------------------------------------------

    def list_tag_properties(
        self,
        *,
        order_by: ArtifactTagOrder | str = ArtifactTagOrder.NONE,
        results_per_page: int | None = None,
    ) -> AsyncItemPaged[ArtifactTagProperties]:
        """The tags pointing at this artifact's manifest (`GET /acr/v1/<name>/_tags?digest=`).

        Args:
            order_by: `ArtifactTagOrder.LAST_UPDATED_ON_DESCENDING` / `_ASCENDING`, or `NONE` (by name).
            results_per_page: page size (`n`); None lets the registry choose.
        """
        params = _list_params(ArtifactTagOrder(order_by), results_per_page)

        async def first_url() -> str:
            # Resolved when the first page is fetched: creating the listing does no I/O.
            digest = await self._resolve_digest()
            return self._session.url(self._repository, "_tags", digest=digest, **params)

        return self._session.pager(
            first_url,
            scope=scope_for(self._repository, "metadata_read"),
            action=f"list tags of {self._what()}",
            parse=parse_tag_list,
        )

    async def get_tag_properties(self, tag: str) -> ArtifactTagProperties:
        """The properties of a tag of this repository (one request).

        Raises:
            ResourceNotFoundError: no such tag.
        """
        validate_tag(tag)
        action = f"get tag properties of {self._what(tag)}"
        body, _ = await self._session.request_json(
            "GET",
            self._session.url(self._repository, "_tags", tag),
            scope=scope_for(self._repository, "metadata_read"),
            action=action,
        )
        return _parsed(parse_tag_response, body, action)

    async def update_tag_properties(
        self,
        tag: str,
        properties: ArtifactTagProperties | None = None,
        *,
        can_delete: bool | None = None,
        can_write: bool | None = None,
        can_read: bool | None = None,
        can_list: bool | None = None,
    ) -> ArtifactTagProperties:
        """Change a tag's locks; only the attributes given are sent.

        Args:
            tag: the tag.
            properties: its `can_*` that are not None are sent.
            can_delete, can_write, can_read, can_list: override `properties`; None leaves unchanged.

        Returns:
            The tag's properties after the update.

        Raises:
            ValueError: nothing to update.
            ResourceNotFoundError: no such tag.
        """
        validate_tag(tag)
        patch = changeable_update(
            properties, can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )
        action = f"update tag properties of {self._what(tag)}"
        body, _ = await self._session.request_json(
            "PATCH",
            self._session.url(self._repository, "_tags", tag),
            scope=scope_for(self._repository, "metadata_write"),
            action=action,
            body=patch,
        )
        return _parsed(parse_tag_response, body, action)

    async def delete_tag(self, tag: str, *, missing_ok: bool = True) -> None:
        """Delete a tag (the manifest stays); succeeds when the tag is already gone.

        Uses the ACR API; on a registry without it, the OCI `DELETE /v2/<name>/manifests/<tag>` (OCI
        Distribution 1.1, where the registry supports it).

        Args:
            missing_ok: True (the Azure SDK's convention): a tag that does not exist is no error.
                False: raise `ResourceNotFoundError` for it.

        Raises:
            OperationNotAllowedError: the tag or the repository is locked.
            ResourceNotFoundError: with `missing_ok=False`, no such tag.
            UnsupportedOperationError: the registry cannot delete a tag alone (CNCF Distribution 2.x):
                nothing was deleted; the message names the manifest to delete instead (with all its tags).
        """
        validate_tag(tag)
        action = f"delete tag {self._what(tag)}"
        try:
            await self._session.request_json(
                "DELETE",
                self._session.url(self._repository, "_tags", tag),
                scope=scope_for(self._repository, "delete"),
                action=action,
                expect=(202, 200, 204),
            )
            return
        except ResourceNotFoundError as exc:
            if _names_missing_item(exc):
                return _absent(action, "tag", exc, missing_ok)
            if not _lacks_route(exc):
                raise
        await self._delete_tag_oci(tag, action, missing_ok)

    async def _delete_tag_oci(self, tag: str, action: str, missing_ok: bool) -> None:
        """`delete_tag` on a registry without the ACR API: OCI's delete by tag, where there is one."""
        try:
            await self._session.send(
                "DELETE",
                self._oci_manifest_url(tag),
                scope=scope_for(self._repository, "delete"),
                action=action,
                expect=(202, 200, 204),
            )
            return
        except ResourceNotFoundError as exc:
            if exc.errors and not _names_missing_item(exc):
                raise
            return _absent(action, "tag", exc, missing_ok)
        except HttpResponseError as exc:
            # Distribution 2.x: 400 DIGEST_INVALID (a tag is not a digest); others 405 UNSUPPORTED.
            if exc.status_code not in (400, 405):
                raise
            refusal = exc
        digest = await self._oci_tag_digest(tag)
        if digest is None:
            return _absent(action, "tag", None, missing_ok)
        answer = " ".join([str(refusal.status_code), *refusal.codes])
        raise UnsupportedOperationError(
            f"{action} failed: this registry cannot delete a tag alone (it has no ACR tag API and "
            f"answered {answer} to DELETE /v2/{self._repository}/manifests/{tag}); nothing was deleted. "
            f"It can delete the manifest the tag names, which removes all its tags "
            f"(creg manifest rm {self._repository}@{digest})"
        )


def _ref_suffix(reference: str) -> str:
    return f"@{reference}" if ":" in reference else f":{reference}"


def _list_params(order: Any, results_per_page: int | None) -> dict[str, str | None]:
    """Query parameters of an ACR listing: `orderby` (omitted for NONE) and `n`."""
    if results_per_page is not None and (
        isinstance(results_per_page, bool) or not isinstance(results_per_page, int) or results_per_page < 1
    ):
        raise ValueError(f"results_per_page must be a positive integer, not {results_per_page!r}")
    return {
        "orderby": None if order.value == "none" else order.value,
        "n": None if results_per_page is None else str(results_per_page),
    }
