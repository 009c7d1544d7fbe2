"""Whole-image operations: push, pull and copy images and indexes between registries and OCI layouts; prune.

This is the async source; `containerregistry.images._sync._copy` is generated from it by scripts/unasync.py.

One engine copies between two stores (a registry repository or an OCI layout directory) in three steps:

1. Plan: read the top manifest, then every manifest it references (index children, recursively, and
   referrers when asked), verifying each one's digest; collect the distinct blobs.
2. Blobs: transfer them concurrently (at most `concurrency` at a time), each once: skipped when the
   target has it (HEAD), mounted when source and target are repositories of the same registry, else
   copied. If any blob fails, the others are stopped and NO manifest is written.
3. Manifests: children before their index, subjects before their referrers, the top one last,
   always with the exact bytes read from the source (except a platform-filtered index, which is new).
   For a layout target, `index.json` is written last, atomically.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from ..._bounded import loads_json
from ..._common import MAX_MANIFEST_SIZE
from ..._layout import REF_NAME, ImageLayoutError, OciLayout
from ...aio._content_client import ContainerRegistryContentClient
from ...aio._registry_client import ContainerRegistryClient
from ...aio._shim import run_bounded
from ...exceptions import (
    DigestValidationError,
    HttpResponseError,
    InvalidReferenceError,
    OperationNotAllowedError,
    ServiceRequestError,
)
from ...protocol import media_types
from ...protocol.acr import ArtifactManifestOrder, ArtifactManifestProperties
from ...protocol.digest import compute_digest
from ...protocol.models import (
    ManifestFormatError,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    Platform,
    parse_manifest,
)
from ...transport import RetryPolicy
from .._convert import to_oci_manifest
from .._models import (
    CopyImageResult,
    ImageLocation,
    LayoutLocation,
    ProgressTracker,
    PrunedManifest,
    PruneResult,
    RegistryLocation,
    TransferAborted,
    TransferProgress,
    as_location,
    parse_platforms,
    platform_matches,
    target_tag_for_registry,
)
from .._spool import ManifestSpool

__all__ = ["copy_image", "prune", "pull_image", "push_image"]

_LOGGER = logging.getLogger("containerregistry")
#: Registry-to-registry copies stage blobs up to this size in memory, larger ones in a temporary file.
_MEMORY_STAGE_LIMIT = 16 * 1024 * 1024
#: Indexes nest (an index of indexes); deeper than this is refused as hostile.
_MAX_DEPTH = 8
_DOCKER_CONFIG_TYPES = frozenset({media_types.OCI_CONFIG, media_types.DOCKER_CONFIG})

ProgressHandler = Callable[[TransferProgress], Any]


# ---------------------------------------------------------------------------------------------------------
# Stores


@dataclass
class _Manifest:
    """A manifest of the plan: what it references; its exact bytes wait in the copy's spool."""

    descriptor: OciDescriptor
    spool: ManifestSpool = field(repr=False)
    blobs: list[OciDescriptor] = field(default_factory=list)
    children: list[OciDescriptor] = field(default_factory=list)
    is_referrer: bool = False

    @property
    def content(self) -> bytes:
        return self.spool.get(self.descriptor.digest)


class _RegistryStore:
    def __init__(self, location: RegistryLocation, client: ContainerRegistryContentClient) -> None:
        self.location = location
        self.client = client

    def same_registry(self, other: _RegistryStore | _LayoutStore) -> bool:
        return isinstance(other, _RegistryStore) and other.client.endpoint == self.client.endpoint

    async def resolve(self) -> tuple[OciDescriptor, bytes, str | None]:
        """The top manifest: descriptor, bytes, and the tag it was found under."""
        reference = self.location.digest or self.location.tag or "latest"
        result = await self.client.get_manifest(reference)
        media_type = result.media_type or _media_type_of(result.content)
        descriptor = OciDescriptor(media_type=media_type, digest=result.digest, size=len(result.content))
        tag = None if self.location.digest else (self.location.tag or "latest")
        return descriptor, result.content, tag

    async def read_manifest(self, descriptor: OciDescriptor) -> bytes:
        result = await self.client.get_manifest(descriptor.digest)  # verifies the digest
        if len(result.content) != descriptor.size:
            raise DigestValidationError(
                f"manifest {descriptor.digest} in {self.location} is {len(result.content)} bytes, "
                f"its descriptor says {descriptor.size}",
                expected=descriptor.digest,
            )
        return result.content

    async def referrers(self, digest: str) -> list[OciDescriptor]:
        return [d async for d in self.client.list_referrers(digest)]

    async def has_blob(self, blob: OciDescriptor) -> bool:
        return await self.client.blob_exists(blob.digest)

    async def write_manifest(self, manifest: _Manifest, tag: str | None) -> None:
        await self.client.set_manifest(manifest.content, tag=tag, media_type=manifest.descriptor.media_type)


class _LayoutStore:
    def __init__(self, location: LayoutLocation, layout: OciLayout) -> None:
        self.location = location
        self.layout = layout

    def same_registry(self, other: _RegistryStore | _LayoutStore) -> bool:
        return False

    async def resolve(self) -> tuple[OciDescriptor, bytes, str | None]:
        descriptor = self.layout.resolve(self.location.tag)
        content = self.layout.read_blob(descriptor.digest, size=descriptor.size)
        tag = self.location.tag
        if tag is None and descriptor.annotations is not None:
            tag = descriptor.annotations.get(REF_NAME)
        return descriptor, content, tag

    async def read_manifest(self, descriptor: OciDescriptor) -> bytes:
        return self.layout.read_blob(descriptor.digest, size=descriptor.size)

    async def referrers(self, digest: str) -> list[OciDescriptor]:
        # A layout has no referrers API: referrers are the index.json entries whose subject is `digest`.
        found = []
        for entry in self.layout.read_index().manifests:
            if entry.digest == digest or entry.size > MAX_MANIFEST_SIZE:
                continue
            try:
                parsed = parse_manifest(
                    self.layout.read_blob(entry.digest, size=entry.size), entry.media_type
                )
            except (ImageLayoutError, ManifestFormatError, DigestValidationError):
                continue
            if parsed is not None and parsed.subject is not None and parsed.subject.digest == digest:
                found.append(entry)
        return found

    async def has_blob(self, blob: OciDescriptor) -> bool:
        return self.layout.has_blob(blob.digest, blob.size)


_Store = _RegistryStore | _LayoutStore


def _media_type_of(content: bytes) -> str:
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return media_types.OCI_MANIFEST
    if isinstance(body, dict) and isinstance(body.get("mediaType"), str):
        return str(body["mediaType"])
    return (
        media_types.OCI_INDEX if isinstance(body, dict) and "manifests" in body else media_types.OCI_MANIFEST
    )


def _references(
    content: bytes, media_type: str, where: str
) -> tuple[list[OciDescriptor], list[OciDescriptor]]:
    """(blobs, child manifests) a manifest references. Unknown manifest types reference nothing we copy,
    except the ORAS artifact manifest's `blobs`."""
    try:
        parsed = parse_manifest(content, media_type)
    except ManifestFormatError as exc:
        raise ManifestFormatError(f"{where}: {exc}") from exc
    if isinstance(parsed, OciImageIndex):
        return [], list(parsed.manifests)
    if isinstance(parsed, OciImageManifest):
        return [parsed.config, *parsed.layers], []
    if media_type == media_types.ORAS_ARTIFACT_MANIFEST:
        try:
            body = loads_json(content, f"read {where}")
        except ValueError as exc:
            raise ManifestFormatError(f"{where}: invalid JSON") from exc
        blobs = body.get("blobs") if isinstance(body, dict) else None
        if isinstance(blobs, list):
            try:
                return [OciDescriptor.from_dict(b, path=f"blobs[{i}]") for i, b in enumerate(blobs)], []
            except ManifestFormatError as exc:
                raise ManifestFormatError(f"{where}: {exc}") from exc
    return [], []


# ---------------------------------------------------------------------------------------------------------
# The engine


class _Copier:
    def __init__(
        self,
        source: _Store,
        target: _Store,
        *,
        platforms: Sequence[str] | None,
        include_referrers: bool,
        concurrency: int,
        progress: ProgressHandler | None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.source = source
        self.target = target
        self.wanted = parse_platforms(platforms) if platforms is not None else None
        self.include_referrers = include_referrers
        self.concurrency = concurrency
        self.tracker = ProgressTracker(progress)
        self.manifests: dict[str, _Manifest] = {}
        # Manifest bytes between plan and write, within a memory budget (the rest in a temporary file).
        self.spool = ManifestSpool()
        self.order: list[str] = []  # push order: children first, referrers after their subject
        self.blobs: dict[str, OciDescriptor] = {}
        self.copied = self.skipped = self.mounted = self.bytes_copied = 0
        self._lock = threading.Lock()  # the sync twin updates the counters from worker threads
        self.first_error: BaseException | None = None

    # -- plan ---------------------------------------------------------------------------------

    async def plan(self) -> tuple[_Manifest, str | None, bool]:
        descriptor, content, tag = await self.source.resolve()
        filtered = False
        if self.wanted is not None:
            content, descriptor, filtered = await self._filter_platforms(descriptor, content)
        top = await self._add(descriptor, content, depth=0, is_referrer=False)
        return top, tag, filtered

    async def _filter_platforms(
        self, descriptor: OciDescriptor, content: bytes
    ) -> tuple[bytes, OciDescriptor, bool]:
        assert self.wanted is not None
        parsed = parse_manifest(content, descriptor.media_type)
        wanted_text = ", ".join("/".join(p for p in w if p) for w in self.wanted)
        if isinstance(parsed, OciImageIndex):
            chosen = [d for d in parsed.manifests if platform_matches(d.platform, self.wanted)]
            if not chosen:
                available = ", ".join(str(d.platform) for d in parsed.manifests if d.platform) or "none"
                raise ValueError(
                    f"no manifest in {self.source.location} matches {wanted_text} (available: {available})"
                )
            if len(chosen) == len(parsed.manifests):
                return content, descriptor, False  # nothing filtered out: keep the original index
            parsed.manifests = chosen
            new = parsed.to_bytes()
            media_type = descriptor.media_type
            return new, OciDescriptor(media_type=media_type, digest=compute_digest(new), size=len(new)), True
        if isinstance(parsed, OciImageManifest) and parsed.config.media_type in _DOCKER_CONFIG_TYPES:
            # A single image: check its config's platform rather than copying the wrong one silently.
            config = await self._read_small_blob(parsed.config)
            try:
                body = loads_json(config, f"read the config of {self.source.location}")
                os_name, arch, variant = body.get("os"), body.get("architecture"), body.get("variant")
            except (ValueError, AttributeError):
                return content, descriptor, False
            if isinstance(os_name, str) and isinstance(arch, str):
                platform = Platform(
                    architecture=arch, os=os_name, variant=variant if isinstance(variant, str) else None
                )
                if not platform_matches(platform, self.wanted):
                    raise ValueError(
                        f"{self.source.location} is a single {platform} image, not {wanted_text}"
                    )
        return content, descriptor, False

    async def _read_small_blob(self, blob: OciDescriptor) -> bytes:
        if blob.size > MAX_MANIFEST_SIZE:
            return b""
        if isinstance(self.source, _LayoutStore):
            return self.source.layout.read_blob(blob.digest, size=blob.size)
        return (await self.source.client.download_blob_content(blob.digest)).content

    async def _add(
        self, descriptor: OciDescriptor, content: bytes, *, depth: int, is_referrer: bool
    ) -> _Manifest:
        if depth > _MAX_DEPTH or descriptor.digest in self.manifests:
            return await self._add_parsed(descriptor, [], [], depth=depth, is_referrer=is_referrer)
        blobs, children = self._parse(descriptor, content)
        return await self._add_parsed(descriptor, blobs, children, depth=depth, is_referrer=is_referrer)

    def _parse(
        self, descriptor: OciDescriptor, content: bytes
    ) -> tuple[list[OciDescriptor], list[OciDescriptor]]:
        """What a manifest references; its bytes go to the spool (so only a few are in memory at once)."""
        where = f"manifest {descriptor.digest} of {self.source.location}"
        blobs, children = _references(content, descriptor.media_type, where)
        self.spool.put(descriptor.digest, content)
        return blobs, children

    async def _add_parsed(
        self,
        descriptor: OciDescriptor,
        blobs: list[OciDescriptor],
        children: list[OciDescriptor],
        *,
        depth: int,
        is_referrer: bool,
    ) -> _Manifest:
        if depth > _MAX_DEPTH:
            raise ManifestFormatError(
                f"{self.source.location}: manifests nest deeper than {_MAX_DEPTH} levels"
            )
        if descriptor.digest in self.manifests:
            return self.manifests[descriptor.digest]
        manifest = _Manifest(descriptor, self.spool, blobs, children, is_referrer)
        self.manifests[descriptor.digest] = manifest
        for blob in blobs:
            self.blobs.setdefault(blob.digest, blob)
        wanted = list({c.digest: c for c in children if c.digest not in self.manifests}.values())
        # Each reader parses its child and spools the bytes: what comes back is only descriptors.
        fetched = await run_bounded([self._reader(child) for child in wanted], self.concurrency)
        for child, child_blobs, grandchildren in fetched:
            await self._add_parsed(child, child_blobs, grandchildren, depth=depth + 1, is_referrer=False)
        self.order.append(descriptor.digest)
        if self.include_referrers:
            for referrer in await self.source.referrers(descriptor.digest):
                if referrer.digest not in self.manifests:
                    referrer_content = await self.source.read_manifest(referrer)
                    await self._add(referrer, referrer_content, depth=depth + 1, is_referrer=True)
        return manifest

    def _reader(self, descriptor: OciDescriptor) -> Callable[[], Any]:
        async def read() -> tuple[OciDescriptor, list[OciDescriptor], list[OciDescriptor]]:
            content = await self.source.read_manifest(descriptor)
            blobs, children = self._parse(descriptor, content)
            return descriptor, blobs, children

        return read

    # -- blobs --------------------------------------------------------------------------------

    async def transfer_blobs(self) -> None:
        blobs = list(self.blobs.values())
        self.tracker.plan(blobs)
        try:
            await run_bounded([self._blob_task(blob) for blob in blobs], self.concurrency, on_stop=self._stop)
        except BaseException:
            if self.first_error is not None:
                raise self.first_error from None
            raise

    def _stop(self) -> None:
        # A blob failed or the caller was interrupted (Ctrl-C): the transfers still running raise
        # TransferAborted at their next chunk (their progress callback), instead of running to the end.
        self.tracker.aborted = True

    def _blob_task(self, blob: OciDescriptor) -> Callable[[], Any]:
        async def task() -> None:
            try:
                await self._transfer(blob)
            except TransferAborted:
                raise
            except BaseException as exc:
                if self.first_error is None:
                    self.first_error = exc
                self.tracker.aborted = True
                raise

        return task

    async def _transfer(self, blob: OciDescriptor) -> None:
        source, target = self.source, self.target
        if await target.has_blob(blob):
            self._count("skipped", 0)
            self.tracker.finished(blob, "skipped")
            return
        if isinstance(target, _RegistryStore):
            if (
                isinstance(source, _RegistryStore)
                and target.same_registry(source)
                and source.location.repository != target.location.repository
                and await target.client.mount_blob(blob.digest, source.location.repository)
            ):
                self._count("mounted", 0)
                self.tracker.finished(blob, "mounted")
                return
            if isinstance(source, _LayoutStore):
                path = source.layout.blob_path(blob.digest)
                if not path.is_file():
                    raise ImageLayoutError(f"oci:{source.layout.root}: blob {blob.digest} is missing")
                result = await target.client.upload_blob(path, progress=self.tracker.callback(blob))
                _check_uploaded(result.digest, result.size, blob, str(source.location))
            else:
                await self._registry_to_registry(source, target, blob)
        elif isinstance(source, _LayoutStore):
            target.layout.copy_blob_from(source.layout, blob, self.tracker.callback(blob))
        else:
            await self._registry_to_layout(source, target, blob)
        self._count("copied", blob.size)
        self.tracker.finished(blob, "done")

    def _count(self, kind: str, size: int) -> None:
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)
            self.bytes_copied += size

    async def _registry_to_layout(
        self, source: _RegistryStore, target: _LayoutStore, blob: OciDescriptor
    ) -> None:
        with target.layout.blob_writer(blob.digest, blob.size) as writer:
            async with source.client.download_blob_streaming(
                blob.digest, progress=self.tracker.callback(blob)
            ) as stream:
                async for chunk in stream.iter_bytes():
                    writer.write(chunk)
            writer.commit()

    async def _registry_to_registry(
        self, source: _RegistryStore, target: _RegistryStore, blob: OciDescriptor
    ) -> None:
        # Stage the blob (the upload needs a replayable body to resume): small ones in memory, large
        # ones in an anonymous temporary file, verified against the digest before the upload starts.
        # The stream verifies the digest when it ends (DigestValidationError), so no second hash here.
        staged: bytes | BinaryIO
        received = 0
        with tempfile.TemporaryFile() as spool:
            buffer = bytearray()
            in_memory = blob.size <= _MEMORY_STAGE_LIMIT
            async with source.client.download_blob_streaming(
                blob.digest, progress=self.tracker.callback(blob, half=0)
            ) as stream:
                async for chunk in stream.iter_bytes():
                    received += len(chunk)
                    if received > blob.size:
                        break
                    if in_memory:
                        buffer += chunk
                    else:
                        spool.write(chunk)
            if received != blob.size:
                raise DigestValidationError(
                    f"blob {blob.digest} of {source.location} is not {blob.size} bytes as its descriptor says",
                    expected=blob.digest,
                )
            if in_memory:
                staged = bytes(buffer)
            else:
                spool.flush()
                spool.seek(0)
                staged = spool
            result = await target.client.upload_blob(staged, progress=self.tracker.callback(blob, half=1))
        _check_uploaded(result.digest, result.size, blob, str(source.location))

    # -- manifests ----------------------------------------------------------------------------

    def convert_to_oci(self, top: _Manifest) -> _Manifest:
        """Rewrite Docker v2 manifests (and indexes of them) with OCI media types, children first.

        Blobs keep their bytes; converted manifests get new digests. Referrers are kept as they are
        (their `subject` names the original, signed digest). Returns the top manifest as written.
        """
        converted: dict[str, OciDescriptor] = {}
        manifests: dict[str, _Manifest] = {}
        order: list[str] = []
        for digest in self.order:
            manifest = self.manifests[digest]
            where = f"manifest {digest} of {self.source.location}"
            new = (
                None
                if manifest.is_referrer
                else to_oci_manifest(manifest.content, manifest.descriptor.media_type, converted, where)
            )
            if new is not None:
                content, media_type = new
                old = manifest.descriptor
                descriptor = OciDescriptor(
                    media_type=media_type,
                    digest=compute_digest(content),
                    size=len(content),
                    artifact_type=old.artifact_type,
                    platform=old.platform,
                )
                converted[digest] = descriptor
                was_top = manifest is top
                self.spool.put(descriptor.digest, content)
                manifest = _Manifest(descriptor, self.spool, manifest.blobs, manifest.children, False)
                if was_top:
                    top = manifest
            manifests[manifest.descriptor.digest] = manifest
            order.append(manifest.descriptor.digest)
        self.manifests, self.order = manifests, order
        return top

    async def write_manifests(self, top: _Manifest, tag: str | None) -> None:
        target = self.target
        if isinstance(target, _RegistryStore):
            for digest in self.order:
                manifest = self.manifests[digest]
                if manifest is not top:
                    await target.write_manifest(manifest, None)
            await target.write_manifest(top, tag)
            return
        for digest in self.order:
            manifest = self.manifests[digest]
            if not target.layout.has_blob(digest, manifest.descriptor.size):
                target.layout.write_blob(digest, manifest.content)
        entries: list[tuple[OciDescriptor, str | None]] = [
            (m.descriptor, None) for m in self.manifests.values() if m.is_referrer
        ]
        entries.append((top.descriptor, tag))
        target.layout.add_to_index(entries)


def _check_uploaded(digest: str, size: int, blob: OciDescriptor, where: str) -> None:
    if digest != blob.digest or size != blob.size:
        raise DigestValidationError(
            f"blob {blob.digest} of {where} does not match its descriptor: read {size} bytes with digest {digest}",
            expected=blob.digest,
            actual=digest,
        )


# ---------------------------------------------------------------------------------------------------------
# Public functions


@dataclass
class _ClientOptions:
    transport: httpx.AsyncBaseTransport | None
    timeout: float | httpx.Timeout | None
    retry: RetryPolicy | None
    verify: bool | str
    insecure: bool
    trusted_token_hosts: Iterable[str] | None = None

    def client(self, location: RegistryLocation, credential: Any) -> ContainerRegistryContentClient:
        # Scheme-less stays scheme-less: the client then probes https, and http for loopback/insecure.
        return ContainerRegistryContentClient(
            f"{location.scheme}://{location.registry}" if location.scheme else location.registry,
            location.repository,
            credential,
            transport=self.transport,
            timeout=self.timeout,
            retry=self.retry,
            verify=self.verify,
            insecure=self.insecure,
            trusted_token_hosts=self.trusted_token_hosts,
        )


def _open_store(location: ImageLocation, credential: Any, options: _ClientOptions, *, create: bool) -> _Store:
    if isinstance(location, LayoutLocation):
        layout = OciLayout(location.path, create=create)
        layout.read_index()  # a malformed index.json is refused before anything is written
        return _LayoutStore(location, layout)
    return _RegistryStore(location, options.client(location, credential))


async def _copy(
    source: str | ImageLocation,
    target: str | ImageLocation,
    *,
    credential: Any,
    source_credential: Any,
    target_credential: Any,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    progress: ProgressHandler | None,
    options: _ClientOptions,
    require: str,
    convert_to_oci: bool = True,
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
    created = (
        Path(dst.path)
        if isinstance(dst, LayoutLocation) and not Path(dst.path).exists()  # noqa: ASYNC240  # issue 14: layout I/O off the loop
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
        )
    except Exception:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


async def _copy_stores(
    src: ImageLocation,
    dst: ImageLocation,
    *,
    credential: Any,
    source_credential: Any,
    target_credential: Any,
    platforms: Sequence[str] | None,
    include_referrers: bool,
    concurrency: int,
    progress: ProgressHandler | None,
    options: _ClientOptions,
    convert_to_oci: bool,
) -> CopyImageResult:
    source_store = _open_store(
        src, source_credential if source_credential is not None else credential, options, create=False
    )
    try:
        target_store = _open_store(
            dst, target_credential if target_credential is not None else credential, options, create=True
        )
    except BaseException:
        if isinstance(source_store, _RegistryStore):
            await source_store.client.close()
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
        await copier.write_manifests(top, tag)
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
            if isinstance(store, _RegistryStore):
                await store.client.close()


async def _refuse_locked_target(
    target: RegistryLocation, tag: str | None, digest: str, options: _ClientOptions, credential: Any
) -> None:
    """Raise OperationNotAllowedError when the ACR API says the target repository or tag is write-locked.

    Registries without the ACR API, and identities that may not read its metadata, are not asked
    twice: any error of the look-up leaves the decision to the registry (the manifest PUT).
    """
    endpoint = f"{target.scheme}://{target.registry}" if target.scheme else target.registry
    async with ContainerRegistryClient(
        endpoint,
        credential,
        transport=options.transport,
        timeout=options.timeout,
        retry=options.retry,
        verify=options.verify,
        insecure=options.insecure,
        trusted_token_hosts=options.trusted_token_hosts,
    ) as client:
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
    credential: Any = None,
    source_credential: Any = None,
    target_credential: Any = None,
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
        options=_ClientOptions(transport, timeout, retry, verify, insecure, trusted_token_hosts),
        require="",
        convert_to_oci=convert_to_oci,
    )


async def push_image(
    source: str | ImageLocation,
    target: str | ImageLocation,
    *,
    credential: Any = None,
    source_credential: Any = None,
    target_credential: Any = None,
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
        options=_ClientOptions(transport, timeout, retry, verify, insecure, trusted_token_hosts),
        require="push",
    )


async def pull_image(
    source: str | ImageLocation,
    destination: str | ImageLocation,
    *,
    credential: Any = None,
    source_credential: Any = None,
    target_credential: Any = None,
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
        options=_ClientOptions(transport, timeout, retry, verify, insecure, trusted_token_hosts),
        require="pull",
        convert_to_oci=convert_to_oci,
    )


# ---------------------------------------------------------------------------------------------------------
# Prune


def _entry(manifest: ArtifactManifestProperties, reason: str = "") -> PrunedManifest:
    return PrunedManifest(
        digest=manifest.digest,
        tags=list(manifest.tags),
        last_updated_on=manifest.last_updated_on,
        reason=reason,
    )


def _lock_reason(
    manifest: ArtifactManifestProperties, repository: str, locks: dict[str, str] | None = None
) -> str | None:
    """Why a delete of `manifest` would be refused (the lock, and the command that lifts it), or None.

    Args:
        locks: lock reasons that apply beyond the manifest's own: `""` for the repository, and
            manifest digests for their locked tags.
    """
    locks = locks or {}
    if "" in locks:
        return locks[""]
    names = [
        name
        for name, value in (("deleteEnabled", manifest.can_delete), ("writeEnabled", manifest.can_write))
        if value is False
    ]
    if names:
        return (
            f"locked: manifest {' and '.join(f'{name}=false' for name in names)}"
            f" (lift with: creg manifest update {repository}@{manifest.digest} --delete --write)"
        )
    return locks.get(manifest.digest)


async def _external_locks(client: ContainerRegistryClient, repository: str) -> dict[str, str]:
    """The repository's own lock (key `""`) and its locked tags (by manifest digest): either makes the
    registry refuse a manifest delete, so a dry run must know them as the real run would."""
    locks: dict[str, str] = {}
    repo = client.get_repository(repository)
    properties = await repo.get_properties()
    names = [
        n
        for n, v in (("deleteEnabled", properties.can_delete), ("writeEnabled", properties.can_write))
        if v is False
    ]
    if names:
        locks[""] = (
            f"locked: repository {' and '.join(f'{n}=false' for n in names)}"
            f" (lift with: creg repo update {repository} --delete --write)"
        )
    async for tag in repo.list_tag_properties():
        names = [
            n for n, v in (("deleteEnabled", tag.can_delete), ("writeEnabled", tag.can_write)) if v is False
        ]
        if names and tag.digest not in locks:
            locks[tag.digest] = (
                f"locked: tag {tag.name} {' and '.join(f'{n}=false' for n in names)}"
                f" (lift with: creg tag update {repository}:{tag.name} --delete --write)"
            )
    return locks


async def prune(
    endpoint: str,
    repository: str,
    *,
    keep: int,
    credential: Any = None,
    dry_run: bool = False,
    tag_pattern: str | None = None,
    older_than: timedelta | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
) -> PruneResult:
    """Delete a repository's manifests beyond the newest `keep` (by last update), skipping locked ones.

    Uses the ACR metadata API (ACR and the emulator). Manifests are listed newest first; the platform
    manifests of an index are not counted on their own: they follow their index (kept with it, and
    deleted with it unless another kept manifest still refers to them). Among the candidates (all
    top-level manifests, or only those with a tag matching `tag_pattern`), the newest `keep` are kept;
    the older ones are deleted unless `older_than` protects them or they are locked.

    Args:
        endpoint: the registry, e.g. `https://myregistry.azurecr.io`.
        repository: the repository name.
        keep: how many of the newest candidates to keep (0 deletes every candidate).
        credential: see `containerregistry.credentials`.
        dry_run: only report what would be deleted.
        tag_pattern: a glob (`v1.*`, `*-rc*`): only manifests with a matching tag are candidates;
            the others (untagged ones included) are kept.
        older_than: only delete manifests last updated longer ago than this.
        transport, timeout, retry, verify, insecure, trusted_token_hosts: client options (see
            `ContainerRegistryClient`).

    Returns:
        A `PruneResult`: `deleted` (newest first; with `dry_run`, what would be deleted), `kept` and
        `skipped` (locked, or the registry refused), each with a reason.

    Raises:
        ValueError: `keep` is negative.
        HttpResponseError, ServiceRequestError: listing the manifests failed.
    """
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    cutoff = datetime.now(timezone.utc) - older_than if older_than is not None else None
    result = PruneResult(dry_run=dry_run)
    async with ContainerRegistryClient(
        endpoint,
        credential,
        transport=transport,
        timeout=timeout,
        retry=retry,
        verify=verify,
        insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
    ) as client:
        listing = client.get_repository(repository).list_manifest_properties(
            order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING
        )
        manifests = [m async for m in listing]
        locks = await _external_locks(client, repository)
        parents: dict[str, list[str]] = {}
        for manifest in manifests:
            for related in manifest.related_artifacts:
                parents.setdefault(related.digest, []).append(manifest.digest)
        by_digest = {m.digest: m for m in manifests}
        doomed: list[ArtifactManifestProperties] = []
        seen = 0
        for manifest in manifests:
            if manifest.digest in parents:
                continue  # decided with its index below
            if tag_pattern is not None and not any(
                fnmatch.fnmatchcase(t, tag_pattern) for t in manifest.tags
            ):
                result.kept.append(_entry(manifest, f"no tag matches {tag_pattern!r}"))
                continue
            seen += 1
            if seen <= keep:
                result.kept.append(_entry(manifest, f"among the newest {keep}"))
            elif cutoff is not None and (
                manifest.last_updated_on is None or manifest.last_updated_on > cutoff
            ):
                result.kept.append(_entry(manifest, f"updated within the last {older_than}"))
            elif (reason := _lock_reason(manifest, repository, locks)) is not None:
                result.skipped.append(_entry(manifest, reason))
            else:
                doomed.append(manifest)
        # Children go with their index, unless a manifest that stays still refers to them.
        staying = {m.digest for m in manifests} - {m.digest for m in doomed}
        children: list[tuple[ArtifactManifestProperties, str]] = []
        for child_digest, owners in parents.items():
            child = by_digest.get(child_digest)
            if child is None:
                continue
            if any(owner in staying for owner in owners):
                result.kept.append(_entry(child, f"referenced by {next(o for o in owners if o in staying)}"))
            else:
                children.append((child, owners[0]))
        for manifest in doomed:
            deleted = await _prune_one(client, repository, manifest, "", result, dry_run)
            for child, owner in children:
                if owner == manifest.digest:
                    if not deleted:
                        # The index stays (the registry refused): its platform manifests must stay too.
                        result.kept.append(_entry(child, f"referenced by {owner}, which stays"))
                    elif (reason := _lock_reason(child, repository, locks)) is not None:
                        result.skipped.append(_entry(child, reason))
                    else:
                        await _prune_one(
                            client, repository, child, f"platform manifest of {owner}", result, dry_run
                        )
    return result


async def _prune_one(
    client: ContainerRegistryClient,
    repository: str,
    manifest: ArtifactManifestProperties,
    reason: str,
    result: PruneResult,
    dry_run: bool,
) -> bool:
    if not dry_run:
        try:
            await client.get_artifact(repository, manifest.digest).delete()
        except OperationNotAllowedError as exc:
            result.skipped.append(_entry(manifest, f"the registry refused: {exc}"))
            return False
    result.deleted.append(_entry(manifest, reason))
    return True
