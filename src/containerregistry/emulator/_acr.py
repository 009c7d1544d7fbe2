"""ACR metadata API `/acr/v1/...` (PROTOCOL.md section 5) with ACR's JSON field names and locks."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from aiohttp import web

from ._common import (
    attributes_json,
    check_delete,
    json_attributes_body,
    link_header,
    page,
    parse_n,
    read_limited,
    refuse_ignored_body,
    require_digest,
    require_name,
    require_tag,
)
from ._errors import OciError
from ._json import loads_json
from ._oci import OciApi
from ._storage import RepositoryRecord, StoredManifest, TagRecord, now

__all__ = ["AcrApi"]

_PATH_RE = re.compile(r"(?P<name>.+?)(?:/(?P<kind>_tags|_manifests)(?:/(?P<ref>[^/]+))?)?")
_PATCH_LIMIT = 64 << 10
_ORDERS = ("none", "timedesc", "timeasc")


def _no_repo(name: str) -> OciError:
    return OciError(404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name})


class AcrApi:
    """Handlers for `/acr/v1/...`, sharing storage and auth with the OCI handlers."""

    def __init__(self, oci: OciApi) -> None:
        self.oci = oci
        self.storage = oci.storage
        self.auth = oci.auth

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("tail", "")
        method = request.method
        if method != "PATCH":
            refuse_ignored_body(request)
        if path == "_catalog":
            if method != "GET":
                raise OciError(405, "UNSUPPORTED", f"{method} is not supported here")
            return await self.catalog(request)
        match = _PATH_RE.fullmatch(path)
        if match is None:
            raise OciError(404, "NOT_FOUND", "unknown endpoint")
        name = require_name(match["name"])
        kind, ref = match["kind"], match["ref"]
        action = {"GET": "metadata_read", "PATCH": "metadata_write", "DELETE": "delete"}.get(method)
        allowed = ("GET",) if kind is not None and ref is None else ("GET", "PATCH", "DELETE")
        if action is None or method not in allowed:
            raise OciError(405, "UNSUPPORTED", f"{method} is not supported here")
        if ref is not None:
            if kind == "_tags":
                require_tag(ref)
            elif ":" in ref:
                require_digest(ref)
            else:
                require_tag(ref)
        await self.auth.authorize(request, "repository", name, (action,))
        repo = self.storage.get_repository(name)
        if repo is None:
            raise _no_repo(name)
        registry = request.host
        if kind is None:
            return await self.repository(request, registry, name, repo)
        if kind == "_tags":
            if ref is None:
                return self.list_tags(request, registry, name)
            return await self.tag(request, registry, name, ref, repo)
        if ref is None:
            return self.list_manifests(request, registry, name)
        return await self.manifest(request, registry, name, ref, repo)

    async def catalog(self, request: web.Request) -> web.Response:
        await self.auth.authorize(request, "registry", "catalog", ("*",))
        n = parse_n(request)
        names, more = page(self.storage.list_repositories(), n, request.query.get("last"))
        headers = {}
        if more and names:
            headers["Link"] = link_header("/acr/v1/_catalog", {"last": names[-1], "n": str(n), "orderby": ""})
        return web.json_response({"repositories": names}, headers=headers)

    # -- repository -------------------------------------------------------------------------------

    def _repository_json(self, registry: str, name: str, repo: RepositoryRecord) -> dict[str, Any]:
        manifests, tags = self.storage.repository_counts(name)
        return {
            "registry": registry,
            "imageName": name,
            "createdTime": repo.created,
            "lastUpdateTime": repo.updated,
            "manifestCount": manifests,
            "tagCount": tags,
            "changeableAttributes": attributes_json(repo),
        }

    async def repository(
        self, request: web.Request, registry: str, name: str, repo: RepositoryRecord
    ) -> web.Response:
        if request.method == "GET":
            return web.json_response(self._repository_json(registry, name, repo))
        if request.method == "PATCH":
            attributes = await _patch_body(request)
            self.storage.set_attributes("repositories", {"name": name}, attributes, now())
            updated = self.storage.get_repository(name)
            assert updated is not None
            return web.json_response(self._repository_json(registry, name, updated))
        manifests = self.storage.manifests(name)
        check_delete(repo, *manifests, *self.storage.tags(name))
        manifests_deleted, tags_deleted, orphans = self.storage.delete_repository(name)
        for digest in orphans:
            async with self.oci.blob_lock(digest):
                if not self.storage.blob_linked_anywhere(digest):
                    self.storage.blob_path(digest).unlink(missing_ok=True)
        return web.json_response(
            {"manifestsDeleted": manifests_deleted, "tagsDeleted": tags_deleted}, status=202
        )

    # -- tags -------------------------------------------------------------------------------------

    def _tag_json(self, row: TagRecord) -> dict[str, Any]:
        return {
            "name": row.name,
            "digest": row.digest,
            "createdTime": row.created,
            "lastUpdateTime": row.updated,
            "signed": False,
            "changeableAttributes": attributes_json(row),
        }

    def list_tags(self, request: web.Request, registry: str, name: str) -> web.Response:
        n = parse_n(request)
        orderby = _orderby(request)
        digest = request.query.get("digest")
        if digest is not None:
            require_digest(digest)
        rows = _ordered(self.storage.tags(name, digest=digest, include_hidden=False), orderby, "name")
        by_name = {row.name: row for row in rows}
        names, more = page([row.name for row in rows], n, request.query.get("last"))
        headers = {}
        if more and names:
            params = {"last": names[-1], "n": str(n), "orderby": "" if orderby == "none" else orderby}
            if digest is not None:
                params["digest"] = digest
            headers["Link"] = link_header(f"/acr/v1/{name}/_tags", params)
        body = {"registry": registry, "imageName": name, "tags": [self._tag_json(by_name[t]) for t in names]}
        return web.json_response(body, headers=headers)

    async def tag(
        self, request: web.Request, registry: str, name: str, tag: str, repo: RepositoryRecord
    ) -> web.Response:
        row = self.storage.get_tag(name, tag)
        if row is None:
            raise OciError(404, "TAG_UNKNOWN", "the specified tag does not exist", {"tag": tag})
        if request.method == "GET":
            return web.json_response({"registry": registry, "imageName": name, "tag": self._tag_json(row)})
        if request.method == "PATCH":
            attributes = await _patch_body(request)
            row = self.storage.get_tag(name, tag)  # re-read: the body read awaited
            if row is None:
                raise OciError(404, "TAG_UNKNOWN", "the specified tag does not exist", {"tag": tag})
            self.storage.set_attributes("tags", {"repo": name, "name": tag}, attributes, now())
            updated = self.storage.get_tag(name, tag)
            assert updated is not None
            return web.json_response(
                {"registry": registry, "imageName": name, "tag": self._tag_json(updated)}
            )
        check_delete(repo, row)
        self.storage.delete_tag(name, tag)
        return web.Response(status=202)

    # -- manifests ----------------------------------------------------------------------------

    def _manifest_json(self, name: str, row: StoredManifest, tags: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "digest": row.digest,
            "imageSize": row.image_size,
            "createdTime": row.created,
            "lastUpdateTime": row.updated,
        }
        for key, column in (("architecture", "architecture"), ("os", "os")):
            if getattr(row, column) is not None:
                result[key] = getattr(row, column)
        result["mediaType"] = row.media_type
        if row.config_media_type is not None:
            result["configMediaType"] = row.config_media_type
        result["tags"] = tags
        result["references"] = [
            {k: v for k, v in (("digest", r.child), ("architecture", r.architecture), ("os", r.os)) if v}
            for r in self.storage.references(name, row.digest)
        ]
        result["changeableAttributes"] = attributes_json(row)
        return result

    def list_manifests(self, request: web.Request, registry: str, name: str) -> web.Response:
        n = parse_n(request)
        orderby = _orderby(request)
        rows = _ordered(self.storage.manifests(name, include_hidden=False), orderby, "digest")
        by_digest = {row.digest: row for row in rows}
        digests, more = page([row.digest for row in rows], n, request.query.get("last"))
        tag_map = self.storage.tag_names_by_digest(name)
        headers = {}
        if more and digests:
            params = {"last": digests[-1], "n": str(n), "orderby": "" if orderby == "none" else orderby}
            headers["Link"] = link_header(f"/acr/v1/{name}/_manifests", params)
        manifests = [self._manifest_json(name, by_digest[d], tag_map.get(d, [])) for d in digests]
        return web.json_response(
            {"registry": registry, "imageName": name, "manifests": manifests}, headers=headers
        )

    async def manifest(
        self, request: web.Request, registry: str, name: str, reference: str, repo: RepositoryRecord
    ) -> web.Response:
        row, _ = self.oci.resolve(name, reference)
        digest = row.digest
        if request.method == "PATCH":
            attributes = await _patch_body(request)
            row, _ = self.oci.resolve(name, digest)
            self.storage.set_attributes("manifests", {"repo": name, "digest": digest}, attributes, now())
            row, _ = self.oci.resolve(name, digest)
        elif request.method == "DELETE":
            if ":" not in reference:
                raise OciError(400, "DIGEST_INVALID", "manifests are deleted by digest")
            check_delete(repo, row, *self.storage.tags(name, digest=digest))
            self.storage.delete_manifest(name, digest)
            return web.Response(status=202)
        tags = self.storage.tag_names_by_digest(name).get(digest, [])
        return web.json_response(
            {"registry": registry, "imageName": name, "manifest": self._manifest_json(name, row, tags)}
        )


async def _patch_body(request: web.Request) -> dict[str, bool]:
    body = await read_limited(request, _PATCH_LIMIT, "request body")
    try:
        doc = loads_json(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OciError(400, "BAD_REQUEST", f"the body must be JSON: {exc}") from None
    return json_attributes_body(doc)


def _orderby(request: web.Request) -> str:
    value = request.query.get("orderby", "") or "none"
    if value.lower() not in _ORDERS:
        raise OciError(
            400, "BAD_REQUEST", "orderby must be one of none, timedesc, timeasc", {"orderby": value[:50]}
        )
    return value.lower()


_Rec = TypeVar("_Rec", TagRecord, StoredManifest)


def _ordered(rows: list[_Rec], orderby: str, key: str) -> list[_Rec]:
    if orderby == "none":
        return sorted(rows, key=lambda r: getattr(r, key))
    # Ties (same timestamp) are broken by name so paging with `last` is stable.
    ordered = sorted(rows, key=lambda r: (r.updated, getattr(r, key)))
    return ordered[::-1] if orderby == "timedesc" else ordered
