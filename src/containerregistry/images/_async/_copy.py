"""Whole-image transfers: `copy_image`, `push_image` and `pull_image` between registries and OCI layouts.

This is the async source; `containerregistry.images._sync._copy` is generated from it by scripts/unasync.py.

Each call checks its arguments, opens the two stores (`_stores.py`), refuses a write-locked registry
target before any blob moves, runs the engine (`_copier.py`: plan, blobs, manifests) and returns a
`CopyImageResult`. A layout the call created is removed again when the copy fails.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import httpx

from ...aio._shim import blocking
from ...auth import AsyncCredential
from ...exceptions import (
    DigestValidationError,
    HttpResponseError,
    InvalidReferenceError,
    OperationNotAllowedError,
    ServiceRequestError,
)
from ...transport import RetryPolicy
from .._models import (
    CopyImageResult,
    ImageLocation,
    LayoutLocation,
    RegistryLocation,
    as_location,
    parse_platforms,
    target_tag_for_registry,
)
from .._sightings import BlobSightings
from ._copier import ProgressHandler, _Copier
from ._stores import SharedClient, _ClientOptions, _Manifest, _open_store, _RegistryStore

__all__ = ["copy_image", "pull_image", "push_image"]

_LOGGER = logging.getLogger("containerregistry.images")


async def _copy(
    source: str | ImageLocation,
    target: str | ImageLocation,
    *,
    credential: AsyncCredential | None,
    source_credential: AsyncCredential | None,
    target_credential: AsyncCredential | None,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    progress: ProgressHandler | None,
    options: _ClientOptions,
    require: str,
    convert_to_oci: bool = True,
    sightings: BlobSightings | None = None,
) -> CopyImageResult:
    src = as_location(source)
    dst = as_location(target)
    if platforms is not None:
        parse_platforms(platforms)  # bad input is refused before anything is opened or created
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if require == "push" and not isinstance(dst, RegistryLocation):
        raise InvalidReferenceError(
            f"push_image needs a registry reference as target, not {dst}: use copy_image"
        )
    if require == "pull" and not isinstance(src, RegistryLocation):
        raise InvalidReferenceError(
            f"pull_image needs a registry reference as source, not {src}: use copy_image"
        )
    if isinstance(dst, RegistryLocation) and dst.digest and dst.tag:
        raise InvalidReferenceError(f"target {dst}: give a tag or a digest, not both")
    # A layout this call creates is removed again when the copy fails: no half-made layout is left.
    # (An interrupt keeps it: the blobs that landed let the same command resume.)
    # (Both the check and the removal touch the file system: off the loop.)
    created = (
        Path(dst.path)
        if isinstance(dst, LayoutLocation) and not await blocking(os.path.exists, dst.path)
        else None
    )
    try:
        return await _copy_stores(
            src,
            dst,
            credential=credential,
            source_credential=source_credential,
            target_credential=target_credential,
            platforms=platforms,
            include_referrers=include_referrers,
            concurrency=concurrency,
            progress=progress,
            options=options,
            convert_to_oci=convert_to_oci,
            sightings=sightings,
        )
    except Exception:
        if created is not None:
            await blocking(shutil.rmtree, created, True)
        raise


async def _copy_stores(
    src: ImageLocation,
    dst: ImageLocation,
    *,
    credential: AsyncCredential | None,
    source_credential: AsyncCredential | None,
    target_credential: AsyncCredential | None,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    progress: ProgressHandler | None,
    options: _ClientOptions,
    convert_to_oci: bool,
    sightings: BlobSightings | None,
) -> CopyImageResult:
    source_store = await _open_store(
        src, source_credential if source_credential is not None else credential, options, create=False
    )
    try:
        target_store = await _open_store(
            dst, target_credential if target_credential is not None else credential, options, create=True
        )
    except BaseException:
        await source_store.close()
        raise
    copier: _Copier | None = None
    try:
        copier = _Copier(
            source_store,
            target_store,
            platforms=platforms,
            include_referrers=include_referrers,
            concurrency=concurrency,
            progress=progress,
            sightings=sightings,
        )
        top, source_tag, filtered = await copier.plan()
        if isinstance(dst, RegistryLocation):
            tag = target_tag_for_registry(source_tag, dst)
            if dst.digest and dst.digest != top.descriptor.digest:
                raise DigestValidationError(
                    f"target {dst} names digest {dst.digest}, but the image is {top.descriptor.digest}",
                    expected=dst.digest,
                    actual=top.descriptor.digest,
                )
        else:
            tag = dst.tag or source_tag
        source_digest = top.descriptor.digest
        if isinstance(dst, RegistryLocation):
            # A locked target is refused before any blob moves, not after the upload at the manifest PUT.
            await _refuse_locked_target(
                dst,
                tag,
                top.descriptor.digest,
                options,
                target_credential if target_credential is not None else credential,
            )
        if convert_to_oci and isinstance(dst, LayoutLocation):
            top = copier.convert_to_oci(top)  # before any blob moves: an unconvertible image fails first
        await copier.transfer_blobs()
        await _write_manifests(copier, top, tag)
        return CopyImageResult(
            digest=top.descriptor.digest,
            media_type=top.descriptor.media_type,
            source=str(src),
            target=str(dst),
            tag=tag,
            manifests=len(copier.manifests),
            referrers=sum(1 for m in copier.manifests.values() if m.is_referrer),
            blobs_copied=copier.copied,
            blobs_skipped=copier.skipped,
            blobs_mounted=copier.mounted,
            bytes_copied=copier.bytes_copied,
            platform_filtered=filtered,
            converted_from=source_digest if top.descriptor.digest != source_digest else None,
        )
    finally:
        if copier is not None:
            copier.spool.close()
        for store in (source_store, target_store):
            await store.close()


#: Manifest writes of one copy when the target forgets a blob a concurrent upload raced with (see below).
_BLOB_RACE_ATTEMPTS = 3


def lost_a_blob(exc: HttpResponseError) -> bool:
    """The registry refused a manifest for a blob it should hold (CNCF Distribution's upload race)."""
    return exc.status_code == 400 and bool({"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"} & set(exc.codes))


async def _write_manifests(copier: _Copier, top: _Manifest, tag: str | None) -> None:
    """Write the manifests; when the target says it lacks a blob, check every blob again and retry.

    CNCF Distribution loses a blob when two uploads of it commit at once (two copies or pushes sharing
    a layer, into one repository): the manifest PUT that follows fails with 400 MANIFEST_BLOB_UNKNOWN
    (often with DIGEST_INVALID) although both uploads were acknowledged. Every blob is HEADed again,
    what is missing is uploaded, and the manifests are written again, at most `_BLOB_RACE_ATTEMPTS`
    times. The result's counters stay those of the first pass (bytes count what was moved).
    """
    for attempt in range(1, _BLOB_RACE_ATTEMPTS + 1):
        try:
            await copier.write_manifests(top, tag)
            return
        except HttpResponseError as exc:
            if attempt == _BLOB_RACE_ATTEMPTS or not isinstance(copier.target, _RegistryStore):
                raise
            if not lost_a_blob(exc):
                raise
            _LOGGER.info("%s: the registry lost a blob uploaded concurrently; checking blobs again", exc)
            counts = copier.copied, copier.skipped, copier.mounted
            await copier.transfer_blobs()
            copier.copied, copier.skipped, copier.mounted = counts


async def _refuse_locked_target(
    target: RegistryLocation,
    tag: str | None,
    digest: str,
    options: _ClientOptions,
    credential: AsyncCredential | None,
) -> None:
    """Raise OperationNotAllowedError when the ACR API says the target repository or tag is write-locked.

    Registries without the ACR API, and identities that may not read its metadata, are not asked
    twice: any error of the look-up leaves the decision to the registry (the manifest PUT).
    """
    async with options.registry_client(target, credential) as client:
        repository = client.get_repository(target.repository)
        try:
            properties = await repository.get_properties()
        except (HttpResponseError, ServiceRequestError):
            return
        if properties.can_write is False:
            raise OperationNotAllowedError(
                f"repository {target.registry}/{target.repository} is locked (writeEnabled=false): nothing"
                f" was pushed; lift the lock with: creg repo update {target.repository} --write",
                status_code=405,
            )
        if not tag:
            return
        try:
            tag_properties = await client.get_artifact(target.repository, tag).get_tag_properties(tag)
        except (HttpResponseError, ServiceRequestError):
            return
        if tag_properties.can_write is False and tag_properties.digest != digest:
            raise OperationNotAllowedError(
                f"tag {target.registry}/{target.repository}:{tag} is locked (writeEnabled=false): nothing"
                f" was pushed; lift the lock with: creg tag update {target.repository}:{tag} --write",
                status_code=405,
            )


async def copy_image(
    source: str | ImageLocation,
    target: str | ImageLocation,
    *,
    credential: AsyncCredential | None = None,
    source_credential: AsyncCredential | None = None,
    target_credential: AsyncCredential | None = None,
    platforms: Sequence[str] | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    progress: ProgressHandler | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    convert_to_oci: bool = True,
    client: SharedClient | None = None,
) -> CopyImageResult:
    """Copy an image, OCI index or Docker manifest list (recursively) from `source` to `target`.

    Each side is a registry reference (`host[:port]/repo[:tag|@digest]`) or an OCI layout
    (`oci:DIR[:tag]`); see `parse_image_location`. Blobs move concurrently, each once; blobs the target
    has are skipped (HEAD); between repositories of one registry they are mounted, not copied. Manifest
    bytes are copied exactly, so digests are preserved (except Docker v2 manifests written to a layout,
    see `convert_to_oci`). Manifests are written only after all blobs
    arrived: if any blob fails, the target gets no manifest at all.

    The target tag is the target's, else the source's (`latest` for a registry reference without tag
    or digest); a layout target gets it as the `org.opencontainers.image.ref.name` of its `index.json`
    entry, replacing an entry with the same name.

    Args:
        source: where the image is.
        target: where to put it.
        credential: credential for both sides (see `containerregistry.credentials`).
        source_credential: credential for the source, overriding `credential`.
        target_credential: credential for the target, overriding `credential`.
        platforms: copy only these platforms of an index (`["linux/amd64", "linux/arm64/v8"]`; an entry
            without variant matches any variant). When this leaves out any child, a NEW index holding
            only the chosen children is written, so the target's index digest differs from the source's
            (`result.platform_filtered` is True). None copies every platform and keeps the index as is.
            For a single image, the filter only checks that its platform is one of them.
        include_referrers: also copy the referrers (signatures, SBOMs...) of every manifest copied.
        concurrency: blobs transferred at the same time.
        progress: called with a `TransferProgress` as blobs advance. The async API calls it on the event
            loop; the sync API may call it from worker threads, concurrently (the overall counters are
            updated under a lock, but the callback itself must be thread-safe).
        transport, timeout, retry, verify, insecure, trusted_token_hosts: options of the registry
            clients (see `ContainerRegistryContentClient`).
        client: an open `ContainerRegistryClient` or `ContainerRegistryContentClient` to reuse: the
            locations on its registry go through its connection pool, token cache and credential
            (`credential` and the options above then apply to other registries), so a loop of copies
            fetches each token once. It stays open: closing it is the caller's business.
        convert_to_oci: for an OCI layout target, rewrite Docker v2 manifests and manifest lists with
            OCI media types, as skopeo does when it writes `oci:` (True, the default): skopeo, podman
            and buildah only find OCI-typed images in a layout. Blob bytes are kept, but converted
            manifests get new digests (`result.converted_from` is the original top digest). False
            keeps every manifest byte for byte (skopeo's `--preserve-digests`). Registry targets
            always get the exact bytes.

    Returns:
        A `CopyImageResult`.

    Raises:
        InvalidReferenceError: a malformed location.
        ImageLayoutError: a layout is missing, malformed or unsafe, or has no such image.
        DigestValidationError: content does not match its digest.
        ManifestFormatError: a malformed manifest.
        HttpResponseError, ServiceRequestError: a registry request failed.
        ValueError: no manifest matches `platforms`.
    """
    return await _copy(
        source,
        target,
        credential=credential,
        source_credential=source_credential,
        target_credential=target_credential,
        platforms=platforms,
        include_referrers=include_referrers,
        concurrency=concurrency,
        progress=progress,
        options=_ClientOptions.of(
            client,
            transport=transport,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            trusted_token_hosts=trusted_token_hosts,
        ),
        require="",
        convert_to_oci=convert_to_oci,
    )


async def copy_image_noting(
    source: RegistryLocation,
    target: RegistryLocation,
    sightings: BlobSightings,
    *,
    source_credential: AsyncCredential | None,
    target_credential: AsyncCredential | None,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    options: _ClientOptions,
) -> CopyImageResult:
    """`copy_image` for a mirror run: notes where blobs are in the target registry, mounts from there,
    and goes through the run's clients (`options`: its pipelines, so no copy fetches tokens anew)."""
    return await _copy(
        source,
        target,
        credential=None,
        source_credential=source_credential,
        target_credential=target_credential,
        platforms=platforms,
        include_referrers=include_referrers,
        concurrency=concurrency,
        progress=None,
        options=options,
        require="",
        sightings=sightings,
    )


async def push_image(
    source: str | ImageLocation,
    target: str | ImageLocation,
    *,
    credential: AsyncCredential | None = None,
    source_credential: AsyncCredential | None = None,
    target_credential: AsyncCredential | None = None,
    platforms: Sequence[str] | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    progress: ProgressHandler | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    client: SharedClient | None = None,
) -> CopyImageResult:
    """Push an image to a registry: `copy_image` whose target must be a registry reference.

    Typically the source is an OCI layout (`oci:DIR[:tag]`). Arguments, result and errors are those of
    `copy_image`.

    Raises:
        InvalidReferenceError: the target is not a registry reference (and see `copy_image`).
    """
    return await _copy(
        source,
        target,
        credential=credential,
        source_credential=source_credential,
        target_credential=target_credential,
        platforms=platforms,
        include_referrers=include_referrers,
        concurrency=concurrency,
        progress=progress,
        options=_ClientOptions.of(
            client,
            transport=transport,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            trusted_token_hosts=trusted_token_hosts,
        ),
        require="push",
    )


async def pull_image(
    source: str | ImageLocation,
    destination: str | ImageLocation,
    *,
    credential: AsyncCredential | None = None,
    source_credential: AsyncCredential | None = None,
    target_credential: AsyncCredential | None = None,
    platforms: Sequence[str] | None = None,
    include_referrers: bool = False,
    concurrency: int = 4,
    progress: ProgressHandler | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
    convert_to_oci: bool = True,
    client: SharedClient | None = None,
) -> CopyImageResult:
    """Pull an image from a registry: `copy_image` whose source must be a registry reference.

    Typically the destination is an OCI layout (`oci:DIR[:tag]`, created when missing), where Docker
    v2 images are stored with OCI media types unless `convert_to_oci=False`. Arguments, result and
    errors are those of `copy_image`.

    Raises:
        InvalidReferenceError: the source is not a registry reference (and see `copy_image`).
    """
    return await _copy(
        source,
        destination,
        credential=credential,
        source_credential=source_credential,
        target_credential=target_credential,
        platforms=platforms,
        include_referrers=include_referrers,
        concurrency=concurrency,
        progress=progress,
        options=_ClientOptions.of(
            client,
            transport=transport,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            trusted_token_hosts=trusted_token_hosts,
        ),
        require="pull",
        convert_to_oci=convert_to_oci,
    )
