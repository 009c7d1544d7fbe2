"""OCI Distribution v1.1 endpoints (PROTOCOL.md section 2) over `Storage`."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import re
import shutil
import sqlite3
import uuid
from typing import Any, Protocol

from aiohttp import web

from ..exceptions import InvalidReferenceError
from ..protocol import media_types as mt
from ..protocol.digest import Hasher, new_hasher, parse_digest
from ..protocol.reference import validate_digest
from ._acr_manifests import check_docker_media_type, read_size_in_bytes
from ._blobio import commit_file, read_small_file, receive_body, rehash_file
from ._common import (
    authorize_all,
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
from ._errors import DISK_FULL_ERRNOS, OciError
from ._json import JsonTooDeepError, loads_json
from ._storage import ManifestRecord, Storage

__all__ = ["MANIFEST_LIMIT", "Authorizer", "OciApi"]

MANIFEST_LIMIT = 4 << 20
_CONFIG_LIMIT = 1 << 20
_UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# `<name>/<endpoint>`; the name is lazy so a repository called `x/blobs` still parses.
_V2_PATH_RE = re.compile(
    r"(?P<name>.+?)/(?:blobs/uploads/(?P<upload>[^/]*)|(?P<kind>blobs|manifests|referrers)/(?P<ref>[^/]+)"
    r"|(?P<tags>tags/list))"
)
_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?([0-9]{1,18})-([0-9]{1,18})(?:/(?:[0-9]{1,18}|\*))?")
_RANGE_RE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")


class Authorizer(Protocol):
    """What the app needs of the auth layer (`emulator.auth.EmulatorAuth` or `OpenAuth`)."""

    async def authorize(
        self, request: web.Request, resource_type: str, resource_name: str, actions: tuple[str, ...]
    ) -> None: ...


def _not_found(code: str, message: str, detail: Any = None) -> OciError:
    return OciError(404, code, message, detail)


class OciApi:
    """Handlers for `/v2/...`. One instance per app; state lives in `Storage` plus in-memory hash states."""

    def __init__(self, storage: Storage, auth: Authorizer, *, strict_oci: bool = False) -> None:
        self.storage = storage
        self.auth = auth
        self.strict_oci = strict_oci  # refuse what ACR accepts beyond the OCI spec (`sizeInBytes`)
        # Upload id -> hash of the bytes stored so far. Lost on restart: then rebuilt from the file.
        self._hashers: dict[str, Hasher] = {}
        self._upload_locks: dict[str, asyncio.Lock] = {}
        # Serialises commit+link against unlink+remove of the same blob file.
        self._blob_locks = [asyncio.Lock() for _ in range(64)]

    def blob_lock(self, digest: str) -> asyncio.Lock:
        return self._blob_locks[hash(digest) % len(self._blob_locks)]

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
                return await self.start_upload(request, name)
            handler = {
                "GET": self.upload_status,
                "HEAD": self.upload_status,
                "PATCH": self.upload_patch,
                "PUT": self.upload_put,
                "DELETE": self.upload_cancel,
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
                return await self.start_upload(request, name)
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
        all_tags = [row["name"] for row in self.storage.tags(name, include_hidden=False)]
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

    # -- uploads ----------------------------------------------------------------------------------

    def _location(self, name: str, upload_id: str, offset: int) -> str:
        # Like ACR: relative, with an opaque `_state` (informational here; the session is server-side).
        state = base64.urlsafe_b64encode(
            json.dumps({"name": name, "uuid": upload_id, "offset": offset}).encode()
        ).decode()
        return f"/v2/{name}/blobs/uploads/{upload_id}?_state={state.rstrip('=')}"

    def _session_headers(self, name: str, upload_id: str, offset: int) -> dict[str, str]:
        return {
            "Location": self._location(name, upload_id, offset),
            "Range": f"0-{max(offset - 1, 0)}",
            "Docker-Upload-UUID": upload_id,
        }

    async def start_upload(self, request: web.Request, name: str) -> web.Response:
        mount = request.query.get("mount")
        source = request.query.get("from") if mount is not None else None
        needs: list[tuple[str, str, tuple[str, ...]]] = [("repository", name, ("pull", "push"))]
        if source is not None:
            # One challenge for both scopes, as Distribution does: clients answer one per request.
            needs.append(("repository", require_name(source), ("pull",)))
        await authorize_all(self.auth, request, needs)
        check_write(self.storage.get_repository(name))
        digest = request.query.get("digest")
        if mount is not None:
            require_digest(mount)
            if source is not None:
                source_repo = self.storage.get_repository(source)
                size = self.storage.blob_size(source, mount) if source_repo is not None else None
                if size is not None and source_repo is not None and source_repo["read_enabled"]:
                    self.storage.link_blob(name, mount, size)
                    return _blob_created(name, mount)
            # Source lacks the blob (or no `from`): a new session, as the spec allows.
        elif digest is not None:
            require_digest(digest)
            return await self._monolithic(request, name, digest)
        upload_id = str(uuid.uuid4())
        self.storage.create_upload(upload_id, name)
        self._hashers[upload_id] = Hasher()
        return web.Response(status=202, headers=self._session_headers(name, upload_id, 0))

    async def _monolithic(self, request: web.Request, name: str, digest: str) -> web.Response:
        algorithm, _ = parse_digest(digest)
        temp = self.storage.upload_path(f"post-{uuid.uuid4()}")
        hasher = Hasher(algorithm)
        try:
            self._check_space(request)
            size = await receive_body(request, temp, 0, hasher)
            if request.content_length is not None and size != request.content_length:
                raise OciError(400, "SIZE_INVALID", "the body ended before Content-Length bytes")
            if hasher.digest != digest:
                raise OciError(
                    400,
                    "DIGEST_INVALID",
                    "provided digest did not match uploaded content",
                    {"digest": digest},
                )
            await self._commit(name, temp, digest, size)
        finally:
            temp.unlink(missing_ok=True)
        return _blob_created(name, digest)

    async def _commit(self, name: str, temp: Any, digest: str, size: int) -> None:
        async with self.blob_lock(digest):
            await commit_file(temp, self.storage.blob_path(digest))
            self.storage.link_blob(name, digest, size)

    def _session(self, name: str, upload_id: str) -> sqlite3.Row:
        row = self.storage.get_upload(upload_id) if _UPLOAD_ID_RE.fullmatch(upload_id) else None
        if row is None or row["repo"] != name:
            raise _not_found(
                "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id[:64]}
            )
        return row

    def _upload_lock(self, upload_id: str) -> asyncio.Lock:
        lock = self._upload_locks.get(upload_id)
        if lock is None:
            lock = self._upload_locks[upload_id] = asyncio.Lock()
        return lock

    async def _hasher(self, upload_id: str, offset: int) -> tuple[Hasher, int]:
        hasher = self._hashers.get(upload_id)
        if hasher is not None and hasher.size == offset:
            return hasher, offset
        # After a restart (or a request that died mid-write) the in-memory state is gone or ahead of
        # the recorded offset: rebuild it from the bytes on disk.
        hasher, offset = await rehash_file(self.storage.upload_path(upload_id), offset)
        self._hashers[upload_id] = hasher
        self.storage.set_upload_offset(upload_id, offset)
        return hasher, offset

    async def upload_status(self, request: web.Request, name: str, upload_id: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("pull", "push"))
        row = self._session(name, upload_id)
        return web.Response(status=204, headers=self._session_headers(name, upload_id, row["offset"]))

    async def _append(self, request: web.Request, name: str, upload_id: str, offset: int) -> int:
        """Check Content-Range against `offset`, store the body; return the new offset."""
        # First reconcile with the disk (after a restart the file may hold less than the row says).
        hasher, offset = await self._hasher(upload_id, offset)
        content_range = request.headers.get("Content-Range")
        if content_range is not None:
            match = _CONTENT_RANGE_RE.fullmatch(content_range.strip())
            start, end = (int(match[1]), int(match[2])) if match else (-1, -1)
            length = request.content_length
            if (
                match is None
                or start != offset
                or end < start
                or (length is not None and length != end - start + 1)
            ):
                raise OciError(
                    416,
                    "RANGE_INVALID",
                    f"Content-Range {content_range[:60]!r} does not continue the upload at offset {offset}",
                    headers=self._session_headers(name, upload_id, offset),
                )
        try:
            self._check_space(request)
            stored = await receive_body(request, self.storage.upload_path(upload_id), offset, hasher)
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                # Keeping the partial file would keep the disk full until the client cancels. The file
                # goes first: SQLite itself needs free space to delete the row.
                self.storage.upload_path(upload_id).unlink(missing_ok=True)
                self.storage.delete_upload(upload_id)
                self._forget(upload_id)
            else:
                self._keep_prefix(upload_id, hasher)
            raise
        except BaseException:
            self._keep_prefix(upload_id, hasher)
            raise
        offset += stored
        self.storage.set_upload_offset(upload_id, offset)
        return offset

    def _check_space(self, request: web.Request) -> None:
        """Refuse a body that cannot fit before reading a byte of it."""
        length = request.content_length
        if length is None:
            return
        try:
            free = shutil.disk_usage(self.storage.uploads_dir).free
        except OSError:
            return
        if length > free:
            # Handled like a write that hit a full disk: 507, and the session is dropped.
            raise OSError(errno.ENOSPC, f"{length} bytes announced, {free} bytes free")

    def _keep_prefix(self, upload_id: str, hasher: Hasher) -> None:
        # The bytes that reached the disk are a valid prefix; record them so the client can resume.
        # The hash state is dropped: after a failed write it may be ahead of the file, so the next
        # request re-hashes what is really on disk (up to this offset).
        self.storage.set_upload_offset(upload_id, hasher.size)
        self._hashers.pop(upload_id, None)

    async def upload_patch(self, request: web.Request, name: str, upload_id: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("pull", "push"))
        self._session(name, upload_id)
        # A session opened before the repository was locked must not finish into it.
        check_write(self.storage.get_repository(name))
        async with self._upload_lock(upload_id):
            row = self._session(name, upload_id)
            offset = await self._append(request, name, upload_id, row["offset"])
        return web.Response(status=202, headers=self._session_headers(name, upload_id, offset))

    async def upload_put(self, request: web.Request, name: str, upload_id: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("pull", "push"))
        self._session(name, upload_id)
        # A session opened before the repository was locked must not finish into it.
        check_write(self.storage.get_repository(name))
        digest = request.query.get("digest")
        if digest is None:
            raise OciError(
                400, "DIGEST_INVALID", "the digest query parameter is required to finish an upload"
            )
        require_digest(digest)
        async with self._upload_lock(upload_id):
            row = self._session(name, upload_id)
            offset = row["offset"]
            has_body = request.content_length not in (None, 0) or request.headers.get("Transfer-Encoding")
            if has_body or request.headers.get("Content-Range"):
                offset = await self._append(request, name, upload_id, offset)
            hasher, offset = await self._hasher(upload_id, offset)
            algorithm, _ = parse_digest(digest)
            path = self.storage.upload_path(upload_id)
            if algorithm != hasher.algorithm:
                hasher, offset = await rehash_file(path, offset, algorithm)
            if hasher.digest != digest:
                # The session stays: the client may have sent the wrong digest and can retry the PUT.
                raise OciError(
                    400,
                    "DIGEST_INVALID",
                    "provided digest did not match uploaded content",
                    {"digest": digest},
                )
            await self._commit(name, path, digest, offset)
            self.storage.delete_upload(upload_id)
            self._forget(upload_id)
        return _blob_created(name, digest)

    async def upload_cancel(self, request: web.Request, name: str, upload_id: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("pull", "push"))
        self._session(name, upload_id)
        async with self._upload_lock(upload_id):
            self._session(name, upload_id)
            self.storage.delete_upload(upload_id)
            self._forget(upload_id)
        return web.Response(status=204)

    def _forget(self, upload_id: str) -> None:
        self._hashers.pop(upload_id, None)
        self._upload_locks.pop(upload_id, None)

    # -- manifests ----------------------------------------------------------------------------

    def resolve(self, name: str, reference: str) -> tuple[sqlite3.Row, sqlite3.Row | None]:
        """(manifest row, tag row or None) for a tag or digest; 404 MANIFEST_UNKNOWN when absent."""
        tag_row = None
        if ":" in reference:
            digest = require_digest(reference)
        else:
            require_tag(reference)
            tag_row = self.storage.get_tag(name, reference)
            if tag_row is None:
                raise _not_found("MANIFEST_UNKNOWN", "manifest unknown to registry", {"tag": reference})
            digest = tag_row["digest"]
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
            body=manifest["content"],
            headers={
                "Content-Type": manifest["media_type"],
                "Docker-Content-Digest": manifest["digest"],
                "ETag": f'"{manifest["digest"]}"',
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
        record = await self._parse_manifest(request, name, body, digest)
        # Lock checks and the write happen without an await in between, so they cannot interleave.
        repo = self.storage.get_repository(name)
        existing = self.storage.get_manifest(name, digest)
        tag_row = self.storage.get_tag(name, tag) if tag is not None else None
        check_write(repo, existing)
        if tag_row is not None and tag_row["digest"] != digest:
            check_write(tag_row)
        self.storage.put_manifest(name, record, tag)
        headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
        if record.subject:
            headers["OCI-Subject"] = record.subject
        return web.Response(status=201, headers=headers)

    async def _parse_manifest(
        self, request: web.Request, name: str, body: bytes, digest: str
    ) -> ManifestRecord:
        try:
            doc = loads_json(body)
        except JsonTooDeepError as exc:
            raise _invalid(f"the manifest is not acceptable: {exc}") from None
        except (ValueError, UnicodeDecodeError):
            raise _invalid("the manifest is not valid JSON") from None
        if not isinstance(doc, dict):
            raise _invalid("the manifest must be a JSON object")
        header_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip()
        check_docker_media_type(header_type, doc)  # ACR's rules: see _acr_manifests
        if not self.strict_oci:
            doc = read_size_in_bytes(doc)
        field_type = doc.get("mediaType")
        if field_type is not None and (not isinstance(field_type, str) or not field_type):
            raise _invalid("mediaType must be a string")
        if field_type and header_type and header_type != field_type:
            raise _invalid(
                f"Content-Type {header_type[:100]!r} does not match the manifest's mediaType {field_type[:100]!r}"
            )
        media_type = field_type or header_type or (mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST)
        version = doc.get("schemaVersion")
        if "schemaVersion" in doc and (version != 2 or isinstance(version, bool)):
            raise _invalid("schemaVersion must be 2")
        for key in ("artifactType",):
            if key in doc and not isinstance(doc[key], str):
                raise _invalid(f"{key} must be a string")
        annotations = doc.get("annotations")
        if annotations is not None and not (
            isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values())
        ):
            raise _invalid("annotations must be an object of strings")
        subject = _descriptor(doc["subject"], "subject") if "subject" in doc else None
        is_index = media_type in mt.INDEX_MEDIA_TYPES or (
            media_type not in mt.MANIFEST_MEDIA_TYPES and "manifests" in doc and "config" not in doc
        )
        record = ManifestRecord(
            digest=digest,
            media_type=media_type,
            content=body,
            image_size=len(body),
            artifact_type=doc.get("artifactType"),
            subject=subject["digest"] if subject else None,
            annotations=annotations,
        )
        if is_index:
            children = _descriptor_list(doc.get("manifests"), "manifests", required=True)
            for child in children:
                if self.storage.get_manifest(name, child["digest"]) is None:
                    raise OciError(
                        400,
                        "MANIFEST_BLOB_UNKNOWN",
                        "manifest references a manifest unknown to the repository",
                        {"digest": child["digest"]},
                    )
                platform = child.get("platform")
                arch = os_ = None
                if isinstance(platform, dict):
                    arch = (
                        platform.get("architecture")
                        if isinstance(platform.get("architecture"), str)
                        else None
                    )
                    os_ = platform.get("os") if isinstance(platform.get("os"), str) else None
                record.references.append((child["digest"], arch, os_))
            return record
        known_image = media_type in (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST)
        config = None
        if "config" in doc or known_image:
            config = _descriptor(doc.get("config"), "config")
        blobs = [config] if config else []
        blobs += _descriptor_list(doc.get("layers"), "layers", required=known_image)
        blobs += _descriptor_list(doc.get("blobs"), "blobs", required=False)
        for blob in blobs:
            if blob.get("urls"):
                continue  # a foreign layer lives elsewhere by design
            size = self.storage.blob_size(name, blob["digest"])
            if size is None:
                raise OciError(
                    400,
                    "MANIFEST_BLOB_UNKNOWN",
                    "manifest references a blob unknown to the repository",
                    {"digest": blob["digest"]},
                )
            record.image_size += size
        if config is not None:
            record.config_media_type = config["mediaType"]
            if config["mediaType"] in (mt.OCI_CONFIG, mt.DOCKER_CONFIG) and not config.get("urls"):
                data = await read_small_file(self.storage.blob_path(config["digest"]), _CONFIG_LIMIT)
                record.architecture, record.os = _platform_of(data)
        return record

    async def delete_manifest(self, request: web.Request, name: str, reference: str) -> web.Response:
        await self.auth.authorize(request, "repository", name, ("delete",))
        repo = self.storage.get_repository(name)
        if repo is None:
            raise _not_found("NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        manifest, tag = self.resolve(name, reference)
        if tag is not None:
            # OCI 1.1 and ACR: deleting by tag removes the tag only.
            check_delete(repo, tag)
            self.storage.delete_tag(name, tag["name"])
            return web.Response(status=202)
        tags = self.storage.tags(name, digest=manifest["digest"])
        check_delete(repo, manifest, *tags)
        self.storage.delete_manifest(name, manifest["digest"])
        return web.Response(status=202)

    async def referrers(self, request: web.Request, name: str, digest: str) -> web.Response:
        require_digest(digest)
        await self.auth.authorize(request, "repository", name, ("pull",))
        wanted = request.query.get("artifactType")
        descriptors = []
        for row in self.storage.referrers(name, digest):
            artifact_type = row["artifact_type"] or row["config_media_type"]
            if wanted is not None and artifact_type != wanted:
                continue
            descriptor: dict[str, Any] = {
                "mediaType": row["media_type"],
                "digest": row["digest"],
                "size": row["size"],
            }
            if artifact_type:
                descriptor["artifactType"] = artifact_type
            if row["annotations"]:
                descriptor["annotations"] = json.loads(row["annotations"])
            descriptors.append(descriptor)
        headers = {"OCI-Filters-Applied": "artifactType"} if wanted is not None else {}
        body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}
        return web.Response(body=json.dumps(body).encode(), content_type=mt.OCI_INDEX, headers=headers)


def _blob_created(name: str, digest: str) -> web.Response:
    return web.Response(
        status=201, headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
    )


def _invalid(message: str) -> OciError:
    return OciError(400, "MANIFEST_INVALID", message)


def _descriptor(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where}: mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise _invalid(f"{where}: digest must be a string")
    try:
        validate_digest(digest)
    except InvalidReferenceError as exc:
        raise _invalid(f"{where}: {exc}") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}: size must be a non-negative integer")
    urls = value.get("urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
        raise _invalid(f"{where}: urls must be a list of strings")
    return value


def _descriptor_list(value: Any, where: str, *, required: bool) -> list[dict[str, Any]]:
    if value is None:
        if required:
            raise _invalid(f"{where} is required")
        return []
    if not isinstance(value, list):
        raise _invalid(f"{where} must be a list")
    return [_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _platform_of(config: bytes | None) -> tuple[str | None, str | None]:
    if config is None:
        return None, None
    try:
        doc = loads_json(config)
    except JsonTooDeepError as exc:
        raise _invalid(f"the image config is not acceptable: {exc}") from None
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    arch, os_ = doc.get("architecture"), doc.get("os")
    return (arch if isinstance(arch, str) else None, os_ if isinstance(os_, str) else None)


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
