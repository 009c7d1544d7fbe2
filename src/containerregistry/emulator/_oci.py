"""Routing of the OCI Distribution v1.1 endpoints (PROTOCOL.md section 2) and the read/delete handlers.

`OciApi.dispatch` maps each `/v2/...` request to its handler. This module serves the base endpoint, the
catalog, tag lists, blob reads and deletes, manifest reads, writes and deletes, and referrers. Blob
uploads are `_uploads.UploadApi`'s; what a manifest must look like to be stored is `_manifests`'.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from ..protocol import media_types as mt
from ..protocol.digest import Hasher, new_hasher
from ._common import (
    check_delete,
    check_read,
    check_write,
    is_valid_tag,
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
from ._manifests import parse_manifest
from ._storage import Storage, StoredManifest, TagRecord
from ._uploads import Authorizer, UploadApi

__all__ = ["MANIFEST_LIMIT", "Authorizer", "OciApi"]

MANIFEST_LIMIT = 4 << 20
# `<name>/<endpoint>`; the name is lazy so a repository called `x/blobs` still parses.
_V2_PATH_RE = re.compile(
    r"(?P<name>.+?)/(?:blobs/uploads/(?P<upload>[^/]*)|(?P<kind>blobs|manifests|referrers)/(?P<ref>[^/]+)"
    r"|(?P<tags>tags/list))"
)
_RANGE_RE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")


def _not_found(code: str, message: str, detail: Any = None) -> OciError:
    return OciError(404, code, message, detail)


class OciApi:
    """Handlers for `/v2/...`. One instance per app; state lives in `Storage` plus in-memory hash states."""

    def __init__(self, storage: Storage, auth: Authorizer, *, strict_oci: bool = False) -> None:
        self.storage = storage
        self.auth = auth
        self.strict_oci = strict_oci  # refuse what ACR accepts beyond the OCI spec (`sizeInBytes`)
        self.uploads = UploadApi(storage, auth)

    def blob_lock(self, digest: str) -> asyncio.Lock:
        """The lock that serialises committing the blob file of `digest` against removing it."""
        return self.uploads.blob_lock(digest)

    # -- dispatch ---------------------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("tail", "")
        method = request.method
        # PATCH/PUT carry blob chunks or manifests; POST may carry a whole blob (?digest=).
        if method not in ("PATCH", "PUT") and not (method == "POST" and "digest" in request.query):
            refuse_ignored_body(request)
        if path == "":
            if method not in ("GET", "HEAD"):
                raise OciError(405, "UNSUPPORTED", f"{method} is not supported here")
            await self.auth.authorize(request, "", "", ())
            return web.json_response({})
        if path == "_catalog":
            if method not in ("GET", "HEAD"):
                raise OciError(405, "UNSUPPORTED", f"{method} is not supported here")
            return await self.catalog(request)
        match = _V2_PATH_RE.fullmatch(path)
        if match is None:
            raise OciError(404, "NOT_FOUND", "unknown endpoint")
        name = require_name(match["name"])
        if match["upload"] is not None:
            upload = match["upload"]
            if upload == "":
                if method != "POST":
                    raise OciError(405, "UNSUPPORTED", f"{method} is not supported here")
                return await self.uploads.start_upload(request, name)
            handler = {
                "GET": self.uploads.upload_status,
                "HEAD": self.uploads.upload_status,
                "PATCH": self.uploads.upload_patch,
                "PUT": self.uploads.upload_put,
                "DELETE": self.uploads.upload_cancel,
            }.get(method)
            if handler is None:
                raise OciError(405, "UNSUPPORTED", f"{method} is not supported on an upload")
            return await handler(request, name, upload)
        if match["tags"] is not None:
            if method not in ("GET", "HEAD"):
                raise OciError(405, "UNSUPPORTED", f"{method} is not supported here")
            return await self.tags_list(request, name)
        kind, ref = match["kind"], match["ref"]
        if kind == "blobs":
            if method == "POST" and ref == "uploads":
                return await self.uploads.start_upload(request, name)
            if method in ("GET", "HEAD"):
                return await self.get_blob(request, name, ref)
            if method == "DELETE":
                return await self.delete_blob(request, name, ref)
        elif kind == "manifests":
            if method in ("GET", "HEAD"):
                return await self.get_manifest(request, name, ref)
            if method == "PUT":
                return await self.put_manifest(request, name, ref)
            if method == "DELETE":
                return await self.delete_manifest(request, name, ref)
        elif kind == "referrers" and method in ("GET", "HEAD"):
            return await self.referrers(request, name, ref)
        raise OciError(405, "UNSUPPORTED", f"{method} is not supported on {kind}")

    # -- base and catalog ---------------------------------------------------------------------

    async def catalog(self, request: web.Request) -> web.Response:
        await self.auth.authorize(request, "registry", "catalog", ("*",))
        n = parse_n(request)
        last = request.query.get("last")
        names, more = page(self.storage.list_repositories(), n, last)
        headers = {}
        if more and names:
            headers["Link"] = link_header("/v2/_catalog", {"n": str(n), "last": names[-1]})
        return web.json_response({"repositories": names}, headers=headers)

    async def tags_list(self, request: web.Request, name: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("pull",))
        repo = self.storage.get_repository(name)
        if repo is None:
            raise _not_found("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        check_read(repo)
        n = parse_n(request)
        last = request.query.get("last")
        all_tags = [row.name for row in self.storage.tags(name, include_hidden=False)]
        tags, more = page(all_tags, n, last)
        headers = {}
        if more and tags:
            headers["Link"] = link_header(f"/v2/{name}/tags/list", {"n": str(n), "last": tags[-1]})
        return web.json_response({"name": name, "tags": tags}, headers=headers)

    # -- blobs ------------------------------------------------------------------------------------

    async def get_blob(self, request: web.Request, name: str, digest: str) -> web.StreamResponse:
        require_digest(digest)
        await self.auth.authorize(request, "repository", name, ("pull",))
        repo = self.storage.get_repository(name)
        size = self.storage.blob_size(name, digest) if repo is not None else None
        if size is None:
            raise _not_found("BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
        check_read(repo)
        _check_range(request.headers.get("Range"), size)
        headers = {
            "Docker-Content-Digest": digest,
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "Cache-Control": "max-age=31536000",
        }
        # FileResponse serves the validated Range and uses sendfile (zero-copy) on plain sockets.
        return web.FileResponse(self.storage.blob_path(digest), chunk_size=1 << 20, headers=headers)

    async def delete_blob(self, request: web.Request, name: str, digest: str) -> web.Response:
        require_digest(digest)
        await self.auth.authorize(request, "repository", name, ("delete",))
        repo = self.storage.get_repository(name)
        if repo is None or self.storage.blob_size(name, digest) is None:
            raise _not_found("BLOB_UNKNOWN", "blob unknown to registry", {"digest": digest})
        check_delete(repo)
        async with self.blob_lock(digest):
            _, orphan = self.storage.unlink_blob(name, digest)
            if orphan:
                self.storage.blob_path(digest).unlink(missing_ok=True)
        return web.Response(status=202, headers={"Docker-Content-Digest": digest})

    # -- manifests ----------------------------------------------------------------------------

    def resolve(self, name: str, reference: str) -> tuple[StoredManifest, TagRecord | None]:
        """(manifest row, tag row or None) for a tag or digest; 404 MANIFEST_UNKNOWN when absent."""
        tag_row = None
        if ":" in reference:
            digest = require_digest(reference)
        else:
            require_tag(reference)
            tag_row = self.storage.get_tag(name, reference)
            if tag_row is None:
                raise _not_found("MANIFEST_UNKNOWN", "manifest unknown to registry", {"tag": reference})
            digest = tag_row.digest
        manifest = self.storage.get_manifest(name, digest)
        if manifest is None:
            raise _not_found("MANIFEST_UNKNOWN", "manifest unknown to registry", {"digest": digest})
        return manifest, tag_row

    async def get_manifest(self, request: web.Request, name: str, reference: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("pull",))
        repo = self.storage.get_repository(name)
        if repo is None:
            raise _not_found("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        if ":" not in reference and not is_valid_tag(reference):
            # No manifest can be under a name that cannot be a tag; 404 is the spec's only failure here.
            raise _not_found("MANIFEST_UNKNOWN", "manifest unknown to registry", {"tag": reference[:200]})
        manifest, tag = self.resolve(name, reference)
        check_read(repo, manifest, tag)
        return web.Response(
            body=manifest.content,
            headers={
                "Content-Type": manifest.media_type,
                "Docker-Content-Digest": manifest.digest,
                "ETag": f'"{manifest.digest}"',
            },
        )

    async def put_manifest(self, request: web.Request, name: str, reference: str) -> web.Response:
        tag: str | None = None
        if ":" in reference:
            require_digest(reference)
        else:
            tag = require_tag(reference)
        await self.auth.authorize(request, "repository", name, ("pull", "push"))
        body = await read_limited(request, MANIFEST_LIMIT, "manifest")
        if reference.startswith(("sha256:", "sha512:")):
            hasher = new_hasher(reference)
            hasher.update(body)
            if hasher.digest != reference:
                raise OciError(
                    400,
                    "DIGEST_INVALID",
                    "the manifest does not match the digest in the URL",
                    {"digest": reference},
                )
            digest = reference
        else:
            hasher = Hasher()
            hasher.update(body)
            digest = hasher.digest
        header_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip()
        record = await parse_manifest(
            self.storage, name, body, digest, header_type, strict_oci=self.strict_oci
        )
        # Lock checks and the write happen without an await in between, so they cannot interleave.
        repo = self.storage.get_repository(name)
        existing = self.storage.get_manifest(name, digest)
        tag_row = self.storage.get_tag(name, tag) if tag is not None else None
        check_write(repo, existing)
        if tag_row is not None and tag_row.digest != digest:
            check_write(tag_row)
        self.storage.put_manifest(name, record, tag)
        headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
        if record.subject:
            headers["OCI-Subject"] = record.subject
        return web.Response(status=201, headers=headers)

    async def delete_manifest(self, request: web.Request, name: str, reference: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("delete",))
        repo = self.storage.get_repository(name)
        if repo is None:
            raise _not_found("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        manifest, tag = self.resolve(name, reference)
        if tag is not None:
            # OCI 1.1 and ACR: deleting by tag removes the tag only.
            check_delete(repo, tag)
            self.storage.delete_tag(name, tag.name)
            return web.Response(status=202)
        tags = self.storage.tags(name, digest=manifest.digest)
        check_delete(repo, manifest, *tags)
        self.storage.delete_manifest(name, manifest.digest)
        return web.Response(status=202)

    async def referrers(self, request: web.Request, name: str, digest: str) -> web.Response:
        require_digest(digest)
        await self.auth.authorize(request, "repository", name, ("pull",))
        wanted = request.query.get("artifactType")
        descriptors = []
        for row in self.storage.referrers(name, digest):
            artifact_type = row.artifact_type or row.config_media_type
            if wanted is not None and artifact_type != wanted:
                continue
            descriptor: dict[str, Any] = {
                "mediaType": row.media_type,
                "digest": row.digest,
                "size": row.size,
            }
            if artifact_type:
                descriptor["artifactType"] = artifact_type
            if row.annotations:
                descriptor["annotations"] = json.loads(row.annotations)
            descriptors.append(descriptor)
        headers = {"OCI-Filters-Applied": "artifactType"} if wanted is not None else {}
        body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}
        return web.Response(body=json.dumps(body).encode(), content_type=mt.OCI_INDEX, headers=headers)


def _check_range(header: str | None, size: int) -> None:
    """Accept `bytes=a-b`, `bytes=a-`, `bytes=-n` within the blob; anything else is a 416 with an OCI body."""
    if header is None:
        return
    match = _RANGE_RE.fullmatch(header.strip())
    ok = False
    if match and (match[1] or match[2]):
        if match[1]:
            start = int(match[1])
            ok = start < size and (not match[2] or int(match[2]) >= start)
        else:
            ok = int(match[2]) > 0 and size > 0
    if not ok:
        raise OciError(
            416,
            "RANGE_INVALID",
            f"unsatisfiable or malformed Range {header[:60]!r} for a blob of {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )
