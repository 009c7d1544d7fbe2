# This file is generated from containerregistry/images/_async/_archives.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""Images to, from and between tar archives: `copy_archive`, and its two common cases `push_archive`
(archive -> registry) and `pull_archive` (registry -> archive).

This is the async source; `containerregistry.images._sync._archives` is generated from it by scripts/unasync.py.
Archives are `oci-archive:FILE[:tag]` (a tar of an OCI layout, as skopeo writes) and
`docker-archive:FILE[:ref]` (what `docker save` writes, also gzip-compressed; ours is also an OCI layout,
as docker 25+ writes). The other side is a registry, an OCI layout (`oci:DIR[:tag]`) or another archive.

Nothing is extracted to disk: blobs go from the tar member straight into the upload, the layout or the
other tar, and from the download straight into the tar. Every manifest and blob is verified against its
digest (and a docker-archive's uncompressed layers against the config's `diff_ids`). A tar target is
written to `FILE.partial` and renamed only when all of it arrived, so a failed copy leaves no archive; a
layout the copy created is removed again. Blobs move `concurrency` at a time: out of a plain tar each member
is read in place, and into a tar each blob has its place reserved ahead (its size is known) and is
written there as it arrives; only a compressed tar is read as one stream, one blob after another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from ..._sync._shim import run_bounded
from ...auth import Credential
from ...exceptions import DigestValidationError, InvalidReferenceError
from ...protocol.models import OciDescriptor, OciImageIndex, OciImageManifest, parse_manifest
from ...transport import RetryPolicy
from .._archive import (
    DOCKER_ARCHIVE,
    ArchiveError,
    ArchiveLocation,
    is_archive_location,
    parse_archive_location,
)
from .._inspect import choose_platform
from .._layout import OciLayout
from .._models import (
    CopyImageResult,
    LayoutLocation,
    RegistryLocation,
    as_location,
    target_tag_for_registry,
)
from .._spool import ManifestSpool
from ._archive_stores import (
    _ArchiveSink,
    _ArchiveSource,
    _LayoutSink,
    _Plan,
    _plan,
    _RegistrySink,
    _Sink,
    _Source,
)
from ._copy import _refuse_locked_target
from ._stores import SharedClient, _ClientOptions, _LayoutStore, _RegistryStore

__all__ = ["copy_archive", "pull_archive", "push_archive"]


ArchiveSide = str | ArchiveLocation | RegistryLocation | LayoutLocation


# -- moving blobs ---------------------------------------------------------------------------------


class _Counts:
    def __init__(self) -> None:
        self.copied = self.skipped = self.bytes = 0
        self._lock = threading.Lock()  # the sync twin moves blobs from worker threads

    def done(self, blob: OciDescriptor) -> None:
        with self._lock:
            self.copied += 1
            self.bytes += blob.size


def _move_blobs(source: _Source, sink: _Sink, plan: _Plan, concurrency: int, counts: _Counts) -> None:
    where = str(source.location)
    needed: list[OciDescriptor] = []
    for blob in plan.blobs:
        if sink.has_blob(blob):
            counts.skipped += 1
        else:
            needed.append(blob)

    if isinstance(sink, _ArchiveSink):
        sink.reserve(needed)
    if isinstance(source, _ArchiveSource) and source.reader.sequential:
        # A compressed tar is read front to back once: its blobs come in the order they are stored.
        by_member = {source.member(b.digest): b for b in needed}
        for member, file in source.reader.stream(list(by_member)):
            sink.put_file(by_member[member], file, f"{where} ({member})")
            counts.done(by_member[member])
        return

    def task(blob: OciDescriptor) -> Any:
        def run() -> None:
            if isinstance(source, _RegistryStore):
                assert isinstance(sink, _ArchiveSink)  # registry to registry or layout: copy_image
                sink.put_download(blob, source)
            elif isinstance(source, _LayoutStore):
                with source.layout.open_blob(blob.digest) as file:
                    sink.put_file(blob, file, where)
            else:
                member = source.member(blob.digest)
                with source.reader.open_member(member) as file:
                    sink.put_file(blob, file, f"{where} ({member})")
            counts.done(blob)

        return run

    run_bounded([task(b) for b in needed], concurrency)


# -- the copy -------------------------------------------------------------------------------------


def _side(value: ArchiveSide) -> ArchiveLocation | RegistryLocation | LayoutLocation:
    if is_archive_location(value):
        return parse_archive_location(value)  # type: ignore[arg-type]
    assert not isinstance(value, ArchiveLocation)
    return as_location(value)


def copy_archive(
    source: ArchiveSide,
    target: ArchiveSide,
    *,
    credential: Credential | None = None,
    platforms: Sequence[str] | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> CopyImageResult:
    """Copy an image where at least one side is an archive: `oci-archive:FILE[:tag]` or
    `docker-archive:FILE[:ref]` (plain, or gzip-compressed as `docker save | gzip` writes it, as a
    source). The other side is a registry reference, an OCI layout `oci:DIR[:tag]` or an archive.

    An oci-archive or layout gets the image as it is (an index with all its platforms, digests
    preserved); a registry too. A docker-archive source's image gets an OCI manifest (its config and
    layer bytes unchanged, layers typed by their compression). A docker-archive target holds one image:
    from an index, the only one or the one `platforms` names; `docker load` and skopeo read it.
    The target's name is its own, else the source's (a tag, an archive's name, a docker RepoTag).

    Args:
        platforms: at most one `os/arch[/variant]`: that image of an index (so a new, single image).
        include_referrers: also copy the referrers of every manifest (an oci-archive stores them as
            unnamed entries of its index.json, as a layout does); a docker-archive has no place for them.
        concurrency: blobs moved at once (a tar target reserves each blob's place and writes them as
            they arrive), and manifests read at once while planning (a level at a time, as
            `copy_image` reads). A compressed tar is read as one stream: its blobs move one at a time.
        credential, transport, timeout, retry, verify, insecure, trusted_token_hosts: the registry
            side's client options (see `ContainerRegistryContentClient`).
        client: an open `ContainerRegistryClient` or `ContainerRegistryContentClient` to reuse: a registry
            side on its registry goes through its connection pool, token cache and credential (the
            options above then apply to other registries), so a loop of archive copies fetches each
            token once. It stays open: closing it is the caller's business.

    Raises:
        ArchiveError: an unreadable, corrupt or truncated archive; several images and none named; a
            docker-archive asked to hold referrers or an index.
        DigestValidationError: a member or blob does not match its digest (or a layer its `diff_id`).
        InvalidReferenceError: neither side is an archive, or a malformed location.
        PlatformNotFoundError: a docker-archive target from an index with several images and no platform.
        ValueError: more than one platform, or `concurrency` < 1.
    """
    src, dst = _side(source), _side(target)
    if not isinstance(src, ArchiveLocation) and not isinstance(dst, ArchiveLocation):
        raise InvalidReferenceError(f"neither {src} nor {dst} is an archive: use copy_image")
    if platforms is not None and len(platforms) > 1:
        raise ValueError("an archive copy takes one platform (or none)")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if include_referrers:
        for side in (src, dst):
            if isinstance(side, ArchiveLocation) and side.kind == DOCKER_ARCHIVE:
                raise ArchiveError(
                    f"{side}: a docker-archive holds one image and no referrers; use oci-archive: to keep them"
                )
    if isinstance(dst, ArchiveLocation) and dst.path.lower().endswith((".gz", ".tgz", ".zst")):
        raise ArchiveError(
            f"{dst}: creg writes uncompressed tar archives, and this name says compressed; write"
            f" {dst.kind}:FILE.tar and compress it afterwards (gzip FILE.tar)"
        )
    if isinstance(dst, RegistryLocation) and dst.digest and dst.tag:
        raise InvalidReferenceError(f"target {dst}: give a tag or a digest, not both")
    options = _ClientOptions.of(
        client,
        transport=transport,
        timeout=timeout,
        retry=retry,
        verify=verify,
        insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
    )
    source_store: _Source
    if isinstance(src, ArchiveLocation):
        source_store = _ArchiveSource(src)
    elif isinstance(src, LayoutLocation):
        source_store = _LayoutStore(src, OciLayout(src.path))
    else:
        source_store = _RegistryStore(src, options.client(src, credential))
    target_store = (
        _RegistryStore(dst, options.client(dst, credential)) if isinstance(dst, RegistryLocation) else None
    )
    spool = ManifestSpool()  # the planned manifests' bytes, within a memory budget, until written
    try:
        return _copy(
            source_store,
            spool,
            src,
            dst,
            target_store,
            platforms,
            include_referrers,
            concurrency,
            options,
            credential,
        )
    finally:
        spool.close()
        source_store.close()
        if target_store is not None:
            target_store.close()


def _copy(
    source: _Source,
    spool: ManifestSpool,
    src: ArchiveLocation | RegistryLocation | LayoutLocation,
    dst: ArchiveLocation | RegistryLocation | LayoutLocation,
    target_store: _RegistryStore | None,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    options: _ClientOptions,
    credential: Credential | None,
) -> CopyImageResult:
    found, content, source_tag = source.resolve()
    top = found
    docker_target = isinstance(dst, ArchiveLocation) and dst.kind == DOCKER_ARCHIVE
    parsed = parse_manifest(content, top.media_type)
    if isinstance(parsed, OciImageIndex) and (docker_target or platforms):
        chosen = choose_platform(parsed, platforms[0] if platforms else None, str(src))
        content = source.read_manifest(chosen)
        top = OciDescriptor(media_type=chosen.media_type, digest=chosen.digest, size=chosen.size)
        parsed = parse_manifest(content, top.media_type)
    if docker_target and not isinstance(parsed, OciImageManifest):
        raise ArchiveError(
            f"{src} is not an image manifest ({top.media_type}): a docker-archive holds images"
        )
    plan = _plan(source, top, content, spool, include_referrers, concurrency, str(src))
    sink: _Sink
    if isinstance(dst, RegistryLocation):
        assert target_store is not None
        tag = (
            target_tag_for_registry(source_tag, dst)
            if (dst.tag or source_tag)
            else (None if dst.digest else "latest")
        )
        if dst.digest and dst.digest != top.digest:
            raise DigestValidationError(f"target {dst} names digest {dst.digest}, the image is {top.digest}")
        _refuse_locked_target(dst, tag, top.digest, options, credential)
        sink = _RegistrySink(target_store)
    elif isinstance(dst, LayoutLocation):
        tag = dst.tag or source_tag
        sink = _LayoutSink(dst)
    else:
        tag = dst.name or source_tag
        repo_tag = None
        if docker_target:
            if dst.name:
                repo_tag = dst.name
            elif isinstance(source, _ArchiveSource) and source.repo_tag:
                repo_tag = source.repo_tag
            elif isinstance(src, RegistryLocation):
                repo_tag = f"{src.registry}/{src.repository}:{src.tag or 'latest'}"
        sink = _ArchiveSink(dst, repo_tag)
    counts = _Counts()
    try:
        _move_blobs(source, sink, plan, concurrency, counts)
        sink.finish(plan, top, tag)
    except BaseException as exc:
        # A tar is never left half-written; a layout this copy made is removed (an interrupt keeps
        # it: the blobs that landed let the same command resume).
        if isinstance(sink, _ArchiveSink) or isinstance(exc, Exception):
            sink.abort()
        raise
    return CopyImageResult(
        digest=top.digest,
        media_type=top.media_type,
        source=str(src),
        target=str(dst),
        tag=tag,
        manifests=len(plan.manifests),
        referrers=len(plan.referrers),
        blobs_copied=counts.copied,
        blobs_skipped=counts.skipped,
        blobs_mounted=0,
        bytes_copied=counts.bytes,
        platform_filtered=top.digest != found.digest,
    )


def push_archive(
    source: str | ArchiveLocation,
    target: str | RegistryLocation,
    *,
    credential: Credential | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> CopyImageResult:
    """Push the image of an archive (`oci-archive:FILE[:tag]` or `docker-archive:FILE[:ref]`, plain or
    gzip-compressed) to a registry: `copy_archive` with a registry target.

    An oci-archive's manifests are pushed byte for byte (digests preserved). A docker-archive's image
    gets an OCI manifest (its config and layer bytes unchanged, layers typed by their compression).
    The target tag is the target's, else the archive's name for the image. `client=` is that of
    `copy_archive`.

    Raises:
        ArchiveError: unreadable archive, or it holds several images and none was named.
        DigestValidationError: a member does not match its digest (or a layer its `diff_id`).
    """
    if not is_archive_location(source):
        raise ArchiveError(f"{source!r} is not an archive location (oci-archive:FILE or docker-archive:FILE)")
    dst = as_location(target) if not isinstance(target, RegistryLocation) else target
    if not isinstance(dst, RegistryLocation):
        raise InvalidReferenceError(f"target {dst} must be a registry reference")
    return copy_archive(
        source,
        dst,
        credential=credential,
        include_referrers=include_referrers,
        concurrency=concurrency,
        transport=transport,
        timeout=timeout,
        retry=retry,
        verify=verify,
        insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
        client=client,
    )


def pull_archive(
    source: str | RegistryLocation,
    target: str | ArchiveLocation,
    *,
    credential: Credential | None = None,
    platforms: Sequence[str] | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> CopyImageResult:
    """Write a registry image into an archive (`oci-archive:FILE[:tag]` or `docker-archive:FILE[:ref]`):
    `copy_archive` with a registry source.

    An oci-archive gets the image as it is (an index with all its platforms, digests preserved). A
    docker-archive holds one image: from an index, the only one or the one `platforms` names (one
    platform); `docker load` and skopeo read it, and it is an OCI layout too. `client=` is that of
    `copy_archive`.

    Raises:
        PlatformNotFoundError: docker-archive from an index with several images and no platform.
        DigestValidationError: a blob does not match its digest (the archive is not written).
    """
    src = as_location(source)
    if not isinstance(src, RegistryLocation):
        raise InvalidReferenceError(f"source {src} must be a registry reference")
    if not is_archive_location(target):
        raise ArchiveError(f"{target!r} is not an archive location (oci-archive:FILE or docker-archive:FILE)")
    return copy_archive(
        src,
        target,
        credential=credential,
        platforms=platforms,
        include_referrers=include_referrers,
        concurrency=concurrency,
        transport=transport,
        timeout=timeout,
        retry=retry,
        verify=verify,
        insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
        client=client,
    )
