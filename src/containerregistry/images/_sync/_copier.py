# This file is generated from containerregistry/images/_async/_copier.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""The copy engine: `_Copier` plans a copy, transfers its blobs and writes its manifests.

This is the async source; `containerregistry.images._sync._copier` is generated from it by scripts/unasync.py.

1. Plan: the platform filter first (`choose_platforms`, and a single image's config checked), then
   `read_plan` (`_plan_reads.py`) reads every manifest the top one references (index children,
   recursively, and referrers when asked), a level at a time with each level's reads concurrent,
   verifying each one's digest; the pure `plan_copy` (`images/_copy_plan.py`) turns what was read into
   the distinct blobs and the manifest write order, or refuses. The source and target are `_Store`s
   (`_stores.py`).
2. Blobs: transfer them concurrently (at most `concurrency` at a time), each once: skipped when the
   target has it (HEAD), mounted when source and target are repositories of the same registry, else
   copied (registry to registry: streamed from source to target, never staged, digest checked as it
   streams; a blob above the client's `max_single_get_size` read in ranges on several connections and
   relayed in order, `aio/_ranged_reader.py`; registry to layout (pull): `download_blob_to`'s ranged
   download into the layout's file; layout to registry (push): one upload). At most
   `REGISTRY_CONNECTIONS` blob GETs and uploads are in flight per registry, over all workers: each
   transfer's first request waits for a slot, its further ranges take only slots free at that moment
   (so transfers sharing a budget never deadlock). If any blob fails, the others are stopped and NO
   manifest is written.
3. Manifests: children before their index, subjects before their referrers, the top one last,
   always with the exact bytes read from the source (except a platform-filtered index, which is new).
   For a layout target, `index.json` is written last, atomically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..._common import MAX_MANIFEST_SIZE
from ..._sync._shim import Semaphore, blocking, blocking_open, read_ahead, run_bounded
from ..._sync._stream_source import StreamSource
from ...exceptions import DigestValidationError
from ...protocol.digest import compute_digest
from ...protocol.models import OciDescriptor
from .._convert import to_oci_manifest
from .._copy_plan import check_config_platform, choose_platforms
from .._layout import ImageLayoutError, LayoutBlobWriter
from .._models import ProgressTracker, TransferAborted, TransferProgress, parse_platforms
from .._sightings import BlobSightings
from .._spool import ManifestSpool
from ._plan_reads import planned_manifests, read_plan
from ._stores import _LayoutStore, _Manifest, _RegistryStore, _Store

#: A relayed blob's chunks read ahead of its upload (each up to the stream's chunk size, 1 MiB or less).
_READ_AHEAD_CHUNKS = 8
#: The copy's connection budget: blob requests to one registry at once, over all its workers: a large
#: blob's ranges (relayed: each from its GET until its bytes went into the upload; pulled: each while it is
#: written to the layout), the one GET of a small blob, an upload. Without it, `concurrency` workers times
#: 8 ranges each (the client's `max_concurrency`) could open 32 connections to one registry and hold
#: 256 MiB. 12 is one large blob's 8 ranges (8 x 25 MB/s fill benchmarks/wan.py's cloud link of 200 MB/s)
#: plus one stream for each of the other 3 default workers. Bytes a relay holds: one large blob's ranges,
#: at most 8 x 8 MiB (its `max_concurrency`); several large blobs at once, at most 12 x 8 MiB. Measured on
#: the cloud link: relays the same with 8, 12 and 16 (within noise); a pull (scenario 2) ~10% slower
#: within 8 (2.25 s vs 2.03 s, medians of 5 runs on a loaded machine, mostly a longer tail on the last
#: range) and as fast as unbounded within 12. When source and target are one registry it is at least
#: `concurrency + 1`, so workers holding their uploads leave a slot to read.
REGISTRY_CONNECTIONS = 12

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

    def plan(self) -> tuple[_Manifest, str | None, bool]:
        """Read the manifests, a level at a time, and plan the copy (`plan_copy`): the top one, its tag, and
        whether the platform filter made a new index.

        Within a level (an index's children; the referrer lists of a level's manifests, then the referrers
        they name) the reads run concurrently, at most `concurrency` at a time. Nothing deeper than
        `MAX_DEPTH` levels is read: the plan refuses it.
        """
        source = self.source
        where = str(source.location)
        descriptor, content, tag = source.resolve()
        filtered = False
        if self.wanted is not None:
            choice = choose_platforms(descriptor, content, self.wanted, where)
            choice.check()
            if choice.config is not None:
                config = self._read_small_blob(choice.config)
                refusal = check_config_platform(config, self.wanted, where)
                if refusal is not None:
                    raise refusal.error()
            descriptor, content, filtered = choice.descriptor, choice.content, choice.filtered
        plan = read_plan(
            source,
            descriptor,
            content,
            self.spool,
            include_referrers=self.include_referrers,
            concurrency=self.concurrency,
            where=where,
        )
        plan.check()
        self.manifests = planned_manifests(plan, self.spool)
        self.order = list(plan.order)
        self.blobs = {blob.digest: blob for blob in plan.blobs}
        return self.manifests[descriptor.digest], tag, filtered

    def _read_small_blob(self, blob: OciDescriptor) -> bytes:
        if blob.size > MAX_MANIFEST_SIZE:
            return b""
        return self.source.read_small_blob(blob)

    # -- blobs --------------------------------------------------------------------------------

    def transfer_blobs(self) -> None:
        blobs = list(self.blobs.values())
        self.tracker.plan(blobs)
        try:
            run_bounded([self._blob_task(blob) for blob in blobs], self.concurrency, on_stop=self._stop)
        except BaseException:
            if self.first_error is not None:
                raise self.first_error from None
            raise

    def _stop(self) -> None:
        # A blob failed or the caller was interrupted (Ctrl-C): the transfers still running raise
        # TransferAborted at their next chunk (their progress callback), instead of running to the end.
        self.tracker.aborted = True

    def _blob_task(self, blob: OciDescriptor) -> Callable[[], Any]:
        def task() -> None:
            try:
                self._transfer(blob)
            except TransferAborted:
                raise
            except BaseException as exc:
                if self.first_error is None:
                    self.first_error = exc
                self.tracker.aborted = True
                raise

        return task

    def _transfer(self, blob: OciDescriptor) -> None:
        source, target = self.source, self.target
        if target.has_blob(blob):
            self._count("skipped", 0)
            self.tracker.finished(blob, "skipped")
            self._note(blob)
            return
        if target.mount_blob(blob, source) or target.mount_seen(blob, self.sightings):
            self._count("mounted", 0)
            self.tracker.finished(blob, "mounted")
            self._note(blob)
            return
        # How the bytes move depends on the pair of stores.
        if isinstance(target, _RegistryStore) and isinstance(source, _LayoutStore):
            path = source.layout.blob_path(blob.digest)
            if not path.is_file():
                raise ImageLayoutError(f"oci:{source.layout.root}: blob {blob.digest} is missing")
            with self._budget(target):
                result = target.client.upload_blob(path, progress=self.tracker.callback(blob))
            _check_uploaded(result.digest, result.size, blob, str(source.location))
        elif isinstance(target, _RegistryStore) and isinstance(source, _RegistryStore):
            self._registry_to_registry(source, target, blob)
        elif isinstance(target, _LayoutStore) and isinstance(source, _LayoutStore):
            target.layout.copy_blob_from(source.layout, blob, self.tracker.callback(blob))
        elif isinstance(target, _LayoutStore) and isinstance(source, _RegistryStore):
            self._registry_to_layout(source, target, blob)
        else:
            raise TypeError(f"cannot copy a blob from {source.location} to {target.location}")
        self._count("copied", blob.size)
        self.tracker.finished(blob, "done")
        self._note(blob)

    def _note(self, blob: OciDescriptor) -> None:
        self.target.note_seen(blob, self.sightings)

    def _count(self, kind: str, size: int) -> None:
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)
            self.bytes_copied += size

    def _registry_to_layout(self, source: _RegistryStore, target: _LayoutStore, blob: OciDescriptor) -> None:
        # download_blob_to fetches a large blob in ranges on several connections, written in place
        # and verified against the digest; the writer renames it into the layout (fsync off the loop).
        # Each of its requests holds a slot of the source's budget (the first waits for one, the
        # further ranges take free ones).
        # The writer's directories and partial file are made off the loop too.
        writer = blocking_open(
            target.layout.blob_writer, blob.digest, blob.size, close=LayoutBlobWriter.discard
        )
        with writer:
            result = source.client._download_to(
                blob.digest, writer.file, self.tracker.callback(blob), None, self._budget(source)
            )
            blocking(writer.commit_downloaded, result.size)

    def _registry_to_registry(
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

        def reopen() -> Iterator[bytes]:
            ranged = source.client._read_in_ranges(blob.digest, blob.size, reading)
            if ranged is not None:
                return ranged  # the ranges are fetched ahead of the upload already
            # Read ahead of the upload: both connections move at once instead of taking turns.
            return read_ahead(_read_blob(source, blob, reading), _READ_AHEAD_CHUNKS)

        relay = StreamSource(None, size=blob.size, digest=blob.digest, reopen=reopen)
        with uploading:
            result = target.client.upload_blob(relay, progress=self.tracker.callback(blob))
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

    def write_manifests(self, top: _Manifest, tag: str | None) -> None:
        self.target.write_manifests(self.manifests, self.order, top, tag)


def _read_blob(source: _RegistryStore, blob: OciDescriptor, budget: Semaphore) -> Iterator[bytes]:
    """The blob's bytes from the source registry on one connection, holding a slot of `budget` (a
    dropped connection resumes with `Range`)."""
    with budget, source.client.download_blob_streaming(blob.digest) as stream:
        for chunk in stream.iter_bytes():
            if chunk:
                yield chunk


def _check_uploaded(digest: str, size: int, blob: OciDescriptor, where: str) -> None:
    if digest != blob.digest or size != blob.size:
        raise DigestValidationError(
            f"blob {blob.digest} of {where} does not match its descriptor: read {size} bytes with digest {digest}",
            expected=blob.digest,
            actual=digest,
        )
