# This file is generated from containerregistry/images/_async/_mirror.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""Mirroring whole repositories: `mirror_repository` (`creg copy --all-tags`) and `sync_mirrors` (`creg sync`).

This is the async source; `containerregistry.images._sync._mirror` is generated from it by scripts/unasync.py.
Incremental: a tag whose target already has the digest the copy would write is skipped (and, with
referrers, only when the target also holds every referrer of it). Each tag is copied pinned to the
digest read at the start (`repo@sha256:...`), by `copy_image`, which writes manifests only after
every blob arrived, so an interrupted run leaves no half-image, and a re-run resumes: finished tags
are skipped by digest and blobs already there are skipped by HEAD. Tags are copied concurrently
(`image_concurrency`), each with `concurrency` blobs at once. A failed tag is reported and the others
go on. A run (one mirror, or every job of a sync) opens one client pipeline per registry and credential
(`_RunClients`) and every listing, check and tag copy goes through it, so it fetches each token once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from ..._sync._content_client import ContainerRegistryContentClient
from ..._sync._shim import run_bounded
from ...auth import Credential
from ...exceptions import RegistryError, ResourceNotFoundError
from ...protocol.reference import parse_reference
from ...transport import RetryPolicy
from .._mirror import (
    MirrorItem,
    MirrorResult,
    SyncConfig,
    SyncReport,
    TagFilter,
    expected_digest,
    in_shard,
    select_tags,
)
from .._models import RegistryLocation, as_location
from .._sightings import BlobSightings
from ._copy import copy_image_noting
from ._stores import SharedClient, _ClientOptions

__all__ = ["mirror_repository", "sync_mirrors"]

_LOGGER = logging.getLogger("containerregistry.images")

MirrorProgress = Callable[[MirrorItem], None]


def _repository(text: str | RegistryLocation, what: str) -> RegistryLocation:
    location = as_location(text)
    if not isinstance(location, RegistryLocation):
        raise ValueError(f"{what} {location} must be a registry repository (host/repo), not a layout")
    if location.tag or location.digest:
        raise ValueError(f"{what} {location} must be a repository without a tag or digest")
    return location


def _at(location: RegistryLocation, suffix: str) -> RegistryLocation:
    reference = parse_reference(f"{location.registry}/{location.repository}{suffix}")
    return RegistryLocation(reference, scheme=location.scheme)


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _shown(text: str) -> str:
    """`text` as results show repositories (`host/repo`, no scheme), or as given when it does not parse."""
    try:
        return str(as_location(text))
    except ValueError:
        return text


def _digest_or_none(client: ContainerRegistryContentClient, tag: str) -> str | None:
    try:
        return (client.get_manifest(tag)).digest
    except ResourceNotFoundError:
        return None


def _referrer_digests(client: ContainerRegistryContentClient, digest: str) -> set[str]:
    found = set()
    for descriptor in client.list_referrers(digest):
        found.add(descriptor.digest)
    return found


class _RunClients:
    """The registry clients of one run (a mirror, or all the jobs of a sync).

    The first client asked for a registry and credential opens a pipeline (connection pool, token
    cache) that every later client of that registry and credential shares, the tag copies' too
    (`options`); the run closes them at its end. A `client=` of the caller serves its registry instead.
    """

    def __init__(self, options: _ClientOptions) -> None:
        self.options = options
        self._opened: list[ContainerRegistryContentClient] = []

    def client(
        self, location: RegistryLocation, credential: Credential | None
    ) -> ContainerRegistryContentClient:
        """A client of `location`'s repository on the run's pipeline (closing it leaves that open)."""
        if self.options.pipeline_for(location, credential) is None:
            opened = self.options.client(location, credential)
            self._opened.append(opened)
            self.options = self.options.with_pipeline(opened._pipeline, credential)
        return self.options.client(location, credential)

    def close(self) -> None:
        opened, self._opened = self._opened, []
        for client in opened:
            client.close()


def mirror_repository(
    source: str | RegistryLocation,
    target: str | RegistryLocation,
    *,
    tags: TagFilter | Sequence[str] | None = None,
    credential: Credential | None = None,
    source_credential: Credential | None = None,
    target_credential: Credential | None = None,
    platforms: Sequence[str] | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    image_concurrency: int = 2,
    dry_run: bool = False,
    progress: MirrorProgress | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> MirrorResult:
    """Copy the tags of repository `source` to repository `target` (`host/repo` each), skipping what is there.

    Args:
        tags: a `TagFilter`, an explicit list of tags, or None for every tag.
        platforms, include_referrers, concurrency: as for `copy_image` (per tag).
        image_concurrency: tags copied at the same time.
        dry_run: only say what would be copied (reads both sides, writes nothing).
        progress: called with each `MirrorItem` as soon as its tag is done (from worker threads in
            the sync API).
        credential, source_credential, target_credential, transport, timeout, retry, verify,
            insecure, trusted_token_hosts: as for `copy_image`.
        client: an open `ContainerRegistryClient` or `ContainerRegistryContentClient` to reuse, as for
            `copy_image`: the side(s) on its registry, the listing, the digest checks and every tag's
            copy go through its connection pool, token cache and credential, so a loop of runs fetches
            each token once (without it, one run opens one client per side and every tag's copy goes
            through those). It stays open: closing it is the caller's business.

    Returns:
        A `MirrorResult`, one `MirrorItem` per selected tag (in natural tag order). Errors of single
        tags are reported in their item (`action="failed"`); an unreadable source repository raises.
    """
    src = _repository(source, "source")
    dst = _repository(target, "target")
    run = _RunClients(
        _ClientOptions.of(
            client,
            transport=transport,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            trusted_token_hosts=trusted_token_hosts,
        )
    )
    try:
        return _mirror(
            src,
            dst,
            run,
            BlobSightings(),
            tags=tags,
            source_credential=source_credential if source_credential is not None else credential,
            target_credential=target_credential if target_credential is not None else credential,
            platforms=platforms,
            include_referrers=include_referrers,
            concurrency=concurrency,
            image_concurrency=image_concurrency,
            dry_run=dry_run,
            progress=progress,
        )
    finally:
        run.close()


def _mirror(
    src: RegistryLocation,
    dst: RegistryLocation,
    run: _RunClients,
    sightings: BlobSightings,
    *,
    tags: TagFilter | Sequence[str] | None,
    source_credential: Credential | None,
    target_credential: Credential | None,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    image_concurrency: int,
    dry_run: bool,
    progress: MirrorProgress | None,
) -> MirrorResult:
    """`mirror_repository` through the run's clients, noting blobs in the run's `sightings`."""
    if image_concurrency < 1:
        raise ValueError("image_concurrency must be at least 1")
    src_credential, dst_credential = source_credential, target_credential
    with run.client(src, src_credential) as src_client, run.client(dst, dst_credential) as dst_client:
        clients = run.options  # both sides' pipelines: every tag's copy goes through them
        listed = [tag for tag in src_client.list_tags()]
        if tags is None or isinstance(tags, TagFilter):
            chosen = select_tags(listed, tags)
        else:
            if isinstance(tags, str):
                raise TypeError("tags must be a TagFilter or a list of tags, not a string")
            missing = [t for t in tags if t not in listed]
            if missing:
                raise ResourceNotFoundError(f"{src} has no tag(s) {', '.join(missing)}", status_code=404)
            chosen = list(dict.fromkeys(tags))

        def one(tag: str) -> MirrorItem:
            src_ref, dst_ref = f"{src}:{tag}", f"{dst}:{tag}"
            digest = None
            try:
                found = src_client.get_manifest(tag)
                digest = found.digest
                wanted = expected_digest(found.content, found.media_type, platforms) or digest
                present = _digest_or_none(dst_client, tag)
                up_to_date = present == wanted
                if up_to_date and include_referrers:
                    theirs = _referrer_digests(src_client, digest)
                    up_to_date = theirs <= _referrer_digests(dst_client, wanted)
                if up_to_date:
                    item = MirrorItem(tag, src_ref, dst_ref, digest, "up-to-date")
                elif dry_run:
                    item = MirrorItem(tag, src_ref, dst_ref, digest, "would copy")
                else:
                    result = copy_image_noting(
                        _at(src, f"@{digest}"),
                        _at(dst, f":{tag}"),
                        sightings,
                        source_credential=src_credential,
                        target_credential=dst_credential,
                        platforms=platforms,
                        include_referrers=include_referrers,
                        concurrency=concurrency,
                        options=clients,
                    )
                    item = MirrorItem(
                        tag,
                        src_ref,
                        dst_ref,
                        digest,
                        "copied",
                        bytes_copied=result.bytes_copied,
                        blobs_copied=result.blobs_copied,
                    )
            except (RegistryError, OSError, ValueError) as exc:
                _LOGGER.debug("mirror %s -> %s failed", src_ref, dst_ref, exc_info=True)
                item = MirrorItem(tag, src_ref, dst_ref, digest, "failed", error=_describe(exc))
            if progress is not None:
                progress(item)
            return item

        def task(tag: str) -> Callable[[], Any]:
            def run() -> MirrorItem:
                return one(tag)

            return run

        items = run_bounded([task(tag) for tag in chosen], image_concurrency)
    return MirrorResult(source=str(src), target=str(dst), items=list(items))


def sync_mirrors(
    config: SyncConfig,
    *,
    shard: tuple[int, int] | None = None,
    dry_run: bool = False,
    credential: Credential | None = None,
    progress: MirrorProgress | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> SyncReport:
    """Run the jobs of a sync config (`load_sync_config`), one repository after the other.

    Args:
        shard: `(I, N)` runs only the jobs of shard I of N (`in_shard`): N workers started with
            0/N ... N-1/N mirror every job exactly once between them, without coordination.
        dry_run: only say what would be copied.
        credential: for every registry (the docker config's credentials are per host anyway).
        client: an open client to reuse for the jobs on its registry (see `mirror_repository`): the
            whole run shares its connection pool and token cache. It stays open.

    Returns:
        A `SyncReport`; a job whose source cannot be listed has its `error` set, the others still run.
    """
    run = _RunClients(  # a client of the wrong type is refused before any job runs
        _ClientOptions.of(
            client,
            transport=transport,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            trusted_token_hosts=trusted_token_hosts,
        )
    )
    jobs = config.jobs
    if shard is not None:
        jobs = [job for job in jobs if in_shard(job, *shard)]
    results = []
    # One run's jobs share what they saw: a blob uploaded for one target repository is mounted into
    # the next repository of that registry that needs it, not uploaded again. They share the run's
    # clients too: jobs on one registry fetch each token once.
    sightings = BlobSightings()
    try:
        for job in jobs:
            try:
                result = _mirror(
                    _repository(job.source, "source"),
                    _repository(job.target, "target"),
                    run,
                    sightings,
                    tags=job.tags,
                    source_credential=credential,
                    target_credential=credential,
                    platforms=job.platforms,
                    include_referrers=job.referrers,
                    concurrency=config.concurrency,
                    image_concurrency=config.image_concurrency,
                    dry_run=dry_run,
                    progress=progress,
                )
            except (RegistryError, OSError, ValueError) as exc:
                _LOGGER.debug("sync %s -> %s failed", job.source, job.target, exc_info=True)
                result = MirrorResult(
                    source=_shown(job.source), target=_shown(job.target), error=_describe(exc)
                )
            results.append(result)
    finally:
        run.close()
    return SyncReport(
        results=results,
        dry_run=dry_run,
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
        jobs_total=len(config.jobs),
    )
