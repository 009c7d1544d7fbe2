"""The two stores a whole-image copy moves between, and what the engine reads from a manifest.

This is the async source; `containerregistry.images._sync._stores` is generated from it by scripts/unasync.py.

Owns `_Store`, the one protocol the copy engine reads and writes through, and its two implementations:
`_RegistryStore` (a repository, through a `ContainerRegistryContentClient`) and `_LayoutStore` (an OCI
layout directory). What differs by kind (how the top manifest is found, where referrers come from, whether a
blob can be mounted, how manifests are written and what closing means) lives in the store; the engine
branches on the concrete kinds only to choose how a blob's bytes move between a pair of them. Also owns
`_Manifest` (a planned manifest whose bytes wait in the copy's spool), `_references`
(the blobs and child manifests one manifest names), `_ClientOptions` (the client options of the image
functions) and `_open_store`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from ..._bounded import loads_json
from ..._common import MAX_MANIFEST_SIZE, login_server_of, registry_endpoint
from ..._options import ClientOptions
from ...aio._content_client import ContainerRegistryContentClient
from ...aio._pipeline import AsyncPipeline
from ...aio._registry_client import ContainerRegistryClient
from ...aio._shim import blocking
from ...auth import AsyncCredential
from ...exceptions import DigestValidationError, HttpResponseError, ServiceRequestError
from ...protocol import media_types
from ...protocol.models import (
    ManifestFormatError,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    parse_manifest,
)
from ...transport import RetryPolicy
from .._layout import REF_NAME, ImageLayoutError, OciLayout
from .._models import ImageLocation, LayoutLocation, RegistryLocation
from .._sightings import BlobSightings
from .._spool import ManifestSpool

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


class _Store(Protocol):
    """Where a whole-image copy reads an image from and writes it to (a repository, an OCI layout)."""

    @property
    def location(self) -> ImageLocation: ...

    def same_registry(self, other: _Store) -> bool:
        """True when blobs can be mounted between this store and `other` (repositories of one registry)."""
        ...

    async def resolve(self) -> tuple[OciDescriptor, bytes, str | None]:
        """The top manifest: descriptor, bytes, and the tag it was found under."""
        ...

    async def read_manifest(self, descriptor: OciDescriptor) -> bytes:
        """The manifest's bytes, checked against its descriptor."""
        ...

    async def read_small_blob(self, blob: OciDescriptor) -> bytes:
        """A small blob's bytes (an image config), checked against its digest."""
        ...

    async def referrers(self, digest: str) -> list[OciDescriptor]:
        """The manifests whose subject is `digest`."""
        ...

    async def has_blob(self, blob: OciDescriptor) -> bool: ...

    async def mount_blob(self, blob: OciDescriptor, source: _Store) -> bool:
        """Mount `blob` from `source` (another repository of this registry); False when that cannot be."""
        ...

    async def mount_seen(self, blob: OciDescriptor, sightings: BlobSightings | None) -> bool:
        """Mount `blob` from a repository of this registry the run saw it in (a sync, --all-tags)."""
        ...

    def note_seen(self, blob: OciDescriptor, sightings: BlobSightings | None) -> None:
        """Remember that this store holds `blob` now (so later copies of the run can mount it)."""
        ...

    async def write_manifests(
        self, manifests: Mapping[str, _Manifest], order: Sequence[str], top: _Manifest, tag: str | None
    ) -> None:
        """Write `manifests` in `order` (children first, subjects before referrers), `top` under `tag`."""
        ...

    async def close(self) -> None: ...


class _RegistryStore:
    def __init__(self, location: RegistryLocation, client: ContainerRegistryContentClient) -> None:
        self.location = location
        self.client = client

    def same_registry(self, other: _Store) -> bool:
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

    async def read_small_blob(self, blob: OciDescriptor) -> bytes:
        return (await self.client.download_blob_content(blob.digest)).content

    async def referrers(self, digest: str) -> list[OciDescriptor]:
        return [d async for d in self.client.list_referrers(digest)]

    async def has_blob(self, blob: OciDescriptor) -> bool:
        return await self.client.blob_exists(blob.digest)

    async def mount_blob(self, blob: OciDescriptor, source: _Store) -> bool:
        return (
            isinstance(source, _RegistryStore)
            and self.same_registry(source)
            and source.location.repository != self.location.repository
            and await self.client.mount_blob(blob.digest, source.location.repository)
        )

    async def mount_seen(self, blob: OciDescriptor, sightings: BlobSightings | None) -> bool:
        if sightings is None:
            return False
        seen_in = sightings.where(self.client.endpoint, blob.digest, besides=self.location.repository)
        if seen_in is None:
            return False
        try:
            return await self.client.mount_blob(blob.digest, seen_in)
        except (HttpResponseError, ServiceRequestError):
            return False  # the repository went away, or this identity may not read it: upload instead

    def note_seen(self, blob: OciDescriptor, sightings: BlobSightings | None) -> None:
        if sightings is not None:
            sightings.note(self.client.endpoint, blob.digest, self.location.repository)

    async def write_manifest(self, manifest: _Manifest, tag: str | None) -> None:
        await self.client.set_manifest(manifest.content, tag=tag, media_type=manifest.descriptor.media_type)

    async def write_manifests(
        self, manifests: Mapping[str, _Manifest], order: Sequence[str], top: _Manifest, tag: str | None
    ) -> None:
        for digest in order:
            manifest = manifests[digest]
            if manifest is not top:
                await self.write_manifest(manifest, None)
        await self.write_manifest(top, tag)

    async def close(self) -> None:
        await self.client.close()


class _LayoutStore:
    def __init__(self, location: LayoutLocation, layout: OciLayout) -> None:
        self.location = location
        self.layout = layout

    def same_registry(self, other: _Store) -> bool:
        return False

    # Every call into the layout is file I/O (lstat, open, read, fsync, rename): it runs off the event
    # loop (`blocking`; the sync twin calls it in place), one hand-off per store operation.

    async def resolve(self) -> tuple[OciDescriptor, bytes, str | None]:
        descriptor, content = await blocking(self._resolve)
        tag = self.location.tag
        if tag is None and descriptor.annotations is not None:
            tag = descriptor.annotations.get(REF_NAME)
        return descriptor, content, tag

    def _resolve(self) -> tuple[OciDescriptor, bytes]:
        descriptor = self.layout.resolve(self.location.tag)
        return descriptor, self.layout.read_blob(descriptor.digest, size=descriptor.size)

    async def read_manifest(self, descriptor: OciDescriptor) -> bytes:
        return await blocking(self._read_blob, descriptor)

    async def read_small_blob(self, blob: OciDescriptor) -> bytes:
        return await blocking(self._read_blob, blob)

    def _read_blob(self, blob: OciDescriptor) -> bytes:
        return self.layout.read_blob(blob.digest, size=blob.size)

    async def referrers(self, digest: str) -> list[OciDescriptor]:
        return await blocking(self._referrers, digest)

    def _referrers(self, digest: str) -> list[OciDescriptor]:
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
        return await blocking(self.layout.has_blob, blob.digest, blob.size)

    async def mount_blob(self, blob: OciDescriptor, source: _Store) -> bool:
        return False  # a layout has no repositories to mount from

    async def mount_seen(self, blob: OciDescriptor, sightings: BlobSightings | None) -> bool:
        return False

    def note_seen(self, blob: OciDescriptor, sightings: BlobSightings | None) -> None:
        pass  # sightings are of registries

    async def write_manifests(
        self, manifests: Mapping[str, _Manifest], order: Sequence[str], top: _Manifest, tag: str | None
    ) -> None:
        # The manifests are blobs of the layout; index.json names the top one (with its tag) and the
        # referrers, and is written last, atomically, after every blob it points to. All of it (an fsync
        # and a rename per manifest, reading spilled manifests back from the spool, which is
        # thread-safe) in one hand-off.
        selected = [(digest, manifests[digest]) for digest in order]
        entries: list[tuple[OciDescriptor, str | None]] = [
            (m.descriptor, None) for m in manifests.values() if m.is_referrer
        ]
        entries.append((top.descriptor, tag))
        await blocking(self._write_manifests, selected, entries)

    def _write_manifests(
        self, selected: list[tuple[str, _Manifest]], entries: list[tuple[OciDescriptor, str | None]]
    ) -> None:
        for digest, manifest in selected:
            if not self.layout.has_blob(digest, manifest.descriptor.size):
                self.layout.write_blob(digest, manifest.content)
        self.layout.add_to_index(entries)

    async def close(self) -> None:
        pass  # nothing held open between calls


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


SharedClient = ContainerRegistryClient | ContainerRegistryContentClient


def _shared_pipeline(client: SharedClient | None) -> AsyncPipeline | None:
    if client is None:
        return None
    if isinstance(client, ContainerRegistryContentClient):
        return client._pipeline
    if isinstance(client, ContainerRegistryClient):
        return client._session.pipeline
    raise TypeError(
        f"client must be a ContainerRegistryClient or ContainerRegistryContentClient, not {type(client).__name__}"
    )


@dataclass(frozen=True)
class _RunPipeline:
    """A pipeline a run opened (a mirror, a sync) for one registry and credential, kept for all its copies."""

    pipeline: AsyncPipeline
    credential: AsyncCredential | None


@dataclass(frozen=True)
class _ClientOptions:
    """Where the image functions get their registry clients.

    A `client` the caller passed serves the locations on its own registry: its connection pool and
    token cache are shared (and it stays the caller's to close), so a loop of copies pays one token
    fetch per scope, not one per copy. A run of many copies (`mirror_repository`, `sync_mirrors`) adds
    the pipelines it opened itself (`with_pipeline`: one per registry and credential), which serve the
    locations of their registry asked for with their credential. Other registries get new clients
    built from `options`.
    """

    options: ClientOptions
    shared: AsyncPipeline | None = None
    run: tuple[_RunPipeline, ...] = ()

    @classmethod
    def of(
        cls,
        client: SharedClient | None,
        *,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy | None,
        verify: bool | str,
        insecure: bool,
        trusted_token_hosts: Iterable[str] | None = None,
    ) -> _ClientOptions:
        options = ClientOptions.merged(
            None,
            transport=transport,
            timeout=timeout,
            retry=retry,
            verify=verify,
            insecure=insecure,
            trusted_token_hosts=trusted_token_hosts,
        )
        return cls(options, _shared_pipeline(client))

    def with_pipeline(self, pipeline: AsyncPipeline, credential: AsyncCredential | None) -> _ClientOptions:
        """These options, with `pipeline` serving its registry's locations asked for with `credential`."""
        return dataclasses.replace(self, run=(*self.run, _RunPipeline(pipeline, credential)))

    def pipeline_for(
        self, location: RegistryLocation, credential: AsyncCredential | None
    ) -> AsyncPipeline | None:
        """The pipeline that serves `location` (same `host[:port]`): the shared client's (whatever
        `credential`), else one the run opened with `credential`; None when a new client is needed."""
        return self.pipeline_at(location.registry, credential)

    def pipeline_at(self, registry: str, credential: AsyncCredential | None) -> AsyncPipeline | None:
        """`pipeline_for` by the registry's `host[:port]` or endpoint URL."""
        # Both sides as the clients name a registry (`docker.io` is `registry-1.docker.io`).
        server = login_server_of(registry_endpoint(registry))
        if self.shared is not None and login_server_of(self.shared.endpoint) == server:
            return self.shared
        for entry in self.run:
            if entry.credential is credential and login_server_of(entry.pipeline.endpoint) == server:
                return entry.pipeline
        return None

    def client(
        self, location: RegistryLocation, credential: AsyncCredential | None
    ) -> ContainerRegistryContentClient:
        """A content client of `location`'s repository; closing it leaves a shared pipeline open."""
        shared = self.pipeline_for(location, credential)
        if shared is not None:
            return ContainerRegistryContentClient(shared.endpoint, location.repository, _pipeline=shared)
        return ContainerRegistryContentClient(
            location.client_endpoint,
            location.repository,
            options=dataclasses.replace(self.options, credential=credential),
        )

    def registry_client(
        self, location: RegistryLocation, credential: AsyncCredential | None
    ) -> ContainerRegistryClient:
        """A registry client of `location`'s registry; closing it leaves a shared pipeline open."""
        shared = self.pipeline_for(location, credential)
        if shared is not None:
            return ContainerRegistryClient(shared.endpoint, _pipeline=shared)
        return ContainerRegistryClient(
            location.client_endpoint, options=dataclasses.replace(self.options, credential=credential)
        )


# ---------------------------------------------------------------------------------------------------------
# Opening a store


def _open_layout(path: str, create: bool) -> OciLayout:
    layout = OciLayout(path, create=create)
    layout.read_index()  # a malformed index.json is refused before anything is written
    return layout


async def _open_store(
    location: ImageLocation, credential: AsyncCredential | None, options: _ClientOptions, *, create: bool
) -> _Store:
    if isinstance(location, LayoutLocation):
        # Creating a layout writes its oci-layout file (fsync, rename): off the loop.
        return _LayoutStore(location, await blocking(_open_layout, location.path, create))
    return _RegistryStore(location, options.client(location, credential))  # both are `_Store`s (mypy checks)
