"""Blob uploads of the emulator (OCI distribution-spec "pushing blobs"): sessions, chunks, resumption and
commit, monolithic POST, cross-repository mounts.

`UploadApi` owns the in-memory side of an upload (the running hash of each session and its lock) and the
locks that serialise committing a blob file against deleting it; the session rows and files are
`Storage`'s. Every write reaches the disk before the session's offset says so, so a crash or a dropped
connection leaves a prefix the client can resume from.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import re
import shutil
import uuid
from typing import Any, Protocol

from aiohttp import web

from ..protocol.digest import Hasher, parse_digest
from ._blobio import commit_file, receive_body, rehash_file
from ._common import authorize_all, check_write, require_digest, require_name
from ._errors import DISK_FULL_ERRNOS, OciError
from ._storage import Storage, UploadRecord

__all__ = ["Authorizer", "UploadApi", "blob_created"]

_UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?([0-9]{1,18})-([0-9]{1,18})(?:/(?:[0-9]{1,18}|\*))?")


class Authorizer(Protocol):
    """What the app needs of the auth layer (`emulator.auth.EmulatorAuth` or `OpenAuth`)."""

    async def authorize(
        self, request: web.Request, resource_type: str, resource_name: str, actions: tuple[str, ...]
    ) -> None: ...


class UploadApi:
    """Handlers of `/v2/<name>/blobs/uploads/...` (and the blob locks the other blob handlers share)."""

    def __init__(self, storage: Storage, auth: Authorizer) -> None:
        self.storage = storage
        self.auth = auth
        # Upload id -> hash of the bytes stored so far. Lost on restart: then rebuilt from the file.
        self._hashers: dict[str, Hasher] = {}
        self._upload_locks: dict[str, asyncio.Lock] = {}
        # Serialises commit+link against unlink+remove of the same blob file.
        self._blob_locks = [asyncio.Lock() for _ in range(64)]

    def blob_lock(self, digest: str) -> asyncio.Lock:
        """The lock that serialises committing the blob file of `digest` against removing it."""
        return self._blob_locks[hash(digest) % len(self._blob_locks)]

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
                if size is not None and source_repo is not None and source_repo.read_enabled:
                    self.storage.link_blob(name, mount, size)
                    return blob_created(name, mount)
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
        return blob_created(name, digest)

    async def _commit(self, name: str, temp: Any, digest: str, size: int) -> None:
        async with self.blob_lock(digest):
            await commit_file(temp, self.storage.blob_path(digest))
            self.storage.link_blob(name, digest, size)

    def _session(self, name: str, upload_id: str) -> UploadRecord:
        row = self.storage.get_upload(upload_id) if _UPLOAD_ID_RE.fullmatch(upload_id) else None
        if row is None or row.repo != name:
            raise OciError(
                404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", {"uuid": upload_id[:64]}
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
        self._session(name, upload_id)
        # A PATCH of this upload may still be storing the bytes of a request its client gave up on (the
        # client then asks the offset at once): answer only once it settled, so the offset is final.
        async with self._upload_lock(upload_id):
            row = self._session(name, upload_id)
        return web.Response(status=204, headers=self._session_headers(name, upload_id, row.offset))

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
            offset = await self._append(request, name, upload_id, row.offset)
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
            offset = row.offset
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
        return blob_created(name, digest)

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


def blob_created(name: str, digest: str) -> web.Response:
    return web.Response(
        status=201, headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
    )
