"""The copy engine: `_Copier` plans a copy, transfers its blobs and writes its manifests.

This is the async source; `containerregistry.images._sync._copier` is generated from it by scripts/unasync.py.

1. Plan: read the top manifest, then every manifest it references (index children, recursively, and
   referrers when asked), verifying each one's digest; collect the distinct blobs.
2. Blobs: transfer them concurrently (at most `concurrency` at a time), each once: skipped when the
   target has it (HEAD), mounted when source and target are repositories of the same registry, else
   copied (registry to registry: streamed from source to target, never staged, digest checked as it
   streams; a blob above the client's `max_single_get_size` read in ranges on several connections and
   relayed in order, `aio/_ranged_reader.py`; at most `REGISTRY_CONNECTIONS` blob requests in flight
   per registry). If any blob fails, the others are stopped and NO manifest is written.
3. Manifests: children before their index, subjects before their referrers, the top one last,
   always with the exact bytes read from the source (except a platform-filtered index, which is new).
   For a layout target, `index.json` is written last, atomically.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from ..._bounded import loads_json
from ..._common import MAX_MANIFEST_SIZE
from ..._layout import ImageLayoutError
from ...aio._shim import Semaphore, blocking, read_ahead, run_bounded
from ...aio._stream_source import StreamSource
from ...exceptions import DigestValidationError, HttpResponseError, ServiceRequestError
from ...protocol import media_types
from ...protocol.digest import compute_digest
from ...protocol.models import (
    ManifestFormatError,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    Platform,
    parse_manifest,
)
from .._convert import to_oci_manifest
from .._models import ProgressTracker, TransferAborted, TransferProgress, parse_platforms, platform_matches
from .._sightings import BlobSightings
from .._spool import ManifestSpool
from ._stores import _LayoutStore, _Manifest, _references, _RegistryStore, _Store

#: A relayed blob's chunks read ahead of its upload (each up to the stream's chunk size, 1 MiB or less).
_READ_AHEAD_CHUNKS = 8
#: The copy's connection budget: blob requests to one registry at once, over all its workers: a large
#: blob's ranges (each from its GET until its bytes went into the upload, so it bounds the bytes held too:
#: 12 x 8 MiB at most), the one GET of a small blob, an upload. Without it, `concurrency` workers times
#: 8 ranges each (the client's `max_concurrency`) could open 32 connections to one registry and hold
#: 256 MiB. 12 is one large blob's 8 ranges (8 x 25 MB/s per connection fill benchmarks/wan.py's cloud
#: link of 200 MB/s) plus one stream for each of the other 3 default workers. When source and target are
#: one registry it is at least `concurrency + 1`, so workers holding their uploads leave a slot to read.
REGISTRY_CONNECTIONS = 12
#: Indexes nest (an index of indexes); deeper than this is refused as hostile.
_MAX_DEPTH = 8
_DOCKER_CONFIG_TYPES = frozenset({media_types.OCI_CONFIG, media_types.DOCKER_CONFIG})

ProgressHandler = Callable[[TransferProgress], Any]


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
        sightings: BlobSightings | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.source = source
        self.target = target
        self.wanted = parse_platforms(platforms) if platforms is not None else None
        self.include_referrers = include_referrers
        self.concurrency = concurrency
        self.tracker = ProgressTracker(progress)
        self.sightings = sightings
        self.manifests: dict[str, _Manifest] = {}
        # Manifest bytes between plan and write, within a memory budget (the rest in a temporary file).
        self.spool = ManifestSpool()
        self.order: list[str] = []  # push order: children first, referrers after their subject
        self.blobs: dict[str, OciDescriptor] = {}
        self.copied = self.skipped = self.mounted = self.bytes_copied = 0
        self._lock = threading.Lock()  # the sync twin updates the counters from worker threads
        self.first_error: BaseException | None = None
        self._budgets: dict[str, Semaphore] = {}  # per registry endpoint: REGISTRY_CONNECTIONS slots

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
            self._note(blob)
            return
        if isinstance(target, _RegistryStore):
            if (
                isinstance(source, _RegistryStore)
                and target.same_registry(source)
                and source.location.repository != target.location.repository
                and await target.client.mount_blob(blob.digest, source.location.repository)
            ) or await self._mount_seen(target, blob):
                self._count("mounted", 0)
                self.tracker.finished(blob, "mounted")
                self._note(blob)
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
        self._note(blob)

    def _note(self, blob: OciDescriptor) -> None:
        if self.sightings is not None and isinstance(self.target, _RegistryStore):
            target = self.target
            self.sightings.note(target.client.endpoint, blob.digest, target.location.repository)

    async def _mount_seen(self, target: _RegistryStore, blob: OciDescriptor) -> bool:
        """Mount `blob` from a repository of the target registry this run saw it in (a sync, --all-tags)."""
        if self.sightings is None:
            return False
        seen_in = self.sightings.where(
            target.client.endpoint, blob.digest, besides=target.location.repository
        )
        if seen_in is None:
            return False
        try:
            return await target.client.mount_blob(blob.digest, seen_in)
        except (HttpResponseError, ServiceRequestError):
            return False  # the repository went away, or this identity may not read it: upload instead

    def _count(self, kind: str, size: int) -> None:
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)
            self.bytes_copied += size

    async def _registry_to_layout(
        self, source: _RegistryStore, target: _LayoutStore, blob: OciDescriptor
    ) -> None:
        # download_blob_to fetches a large blob in ranges on several connections, written in place
        # and verified against the digest; the writer renames it into the layout (fsync off the loop).
        with target.layout.blob_writer(blob.digest, blob.size) as writer:
            result = await source.client.download_blob_to(
                blob.digest, writer.file, progress=self.tracker.callback(blob)
            )
            await blocking(writer.commit_downloaded, result.size)

    async def _registry_to_registry(
        self, source: _RegistryStore, target: _RegistryStore, blob: OciDescriptor
    ) -> None:
        # Relay the blob: each chunk read from the source goes into the upload as it arrives (no staging
        # in memory or a file). The uploader checks size and digest as it streams and sends the last
        # byte only once the whole blob hashes to `blob.digest`, so a wrong source never gets committed.
        # An interrupted upload resumes: the source is read again from its start up to the registry's
        # offset (hashed, not sent), then the upload goes on from there.
        # A large blob is read in ranges on several connections, yielded in order (`aio/_ranged_reader`):
        # one source connection is slower than the upload. Every GET and the upload hold a slot of their
        # registry's connection budget while in flight.
        reading, uploading = self._budget(source), self._budget(target)

        def reopen() -> AsyncIterator[bytes]:
            ranged = source.client._read_in_ranges(blob.digest, blob.size, reading)
            if ranged is not None:
                return ranged  # the ranges are fetched ahead of the upload already
            # Read ahead of the upload: both connections move at once instead of taking turns.
            return read_ahead(_read_blob(source, blob, reading), _READ_AHEAD_CHUNKS)

        relay = StreamSource(None, size=blob.size, digest=blob.digest, reopen=reopen)
        async with uploading:
            result = await target.client.upload_blob(relay, progress=self.tracker.callback(blob))
        _check_uploaded(result.digest, result.size, blob, str(source.location))

    def _budget(self, store: _RegistryStore) -> Semaphore:
        endpoint = store.client.endpoint
        with self._lock:
            if endpoint not in self._budgets:
                shared = isinstance(self.source, _RegistryStore) and self.target.same_registry(self.source)
                slots = max(REGISTRY_CONNECTIONS, self.concurrency + 1) if shared else REGISTRY_CONNECTIONS
                self._budgets[endpoint] = Semaphore(slots)
            return self._budgets[endpoint]

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


async def _read_blob(source: _RegistryStore, blob: OciDescriptor, budget: Semaphore) -> AsyncIterator[bytes]:
    """The blob's bytes from the source registry on one connection, holding a slot of `budget` (a
    dropped connection resumes with `Range`)."""
    async with budget, source.client.download_blob_streaming(blob.digest) as stream:
        async for chunk in stream.iter_bytes():
            if chunk:
                yield chunk


def _check_uploaded(digest: str, size: int, blob: OciDescriptor, where: str) -> None:
    if digest != blob.digest or size != blob.size:
        raise DigestValidationError(
            f"blob {blob.digest} of {where} does not match its descriptor: read {size} bytes with digest {digest}",
            expected=blob.digest,
            actual=digest,
        )
