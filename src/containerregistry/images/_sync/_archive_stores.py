# This file is generated from containerregistry/images/_async/_archive_stores.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""The two ends of an archive copy: `_ArchiveSource` (an archive read as a store: its image, manifests,
referrers and where each blob is in the tar), the plan of what to move (`_plan`: the copy engine's
`read_plan` and `plan_copy`, its refusal an `ArchiveError`), and the three sinks (`_RegistrySink`,
`_LayoutSink`, `_ArchiveSink`: has a blob, put a blob, write the manifests; the first two through the
registry and layout stores' own `write_manifests`).

This is the async source; `containerregistry.images._sync._archive_stores` is generated from it by
scripts/unasync.py. The copy itself (which blobs move how, at what concurrency) is `_archives.py`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ..._sync._shim import blocking
from ...exceptions import DigestValidationError
from ...protocol import media_types
from ...protocol.digest import compute_digest, verify_digest
from ...protocol.models import OciDescriptor, OciImageManifest, parse_manifest
from .._archive import (
    DOCKER_ARCHIVE,
    ArchiveError,
    ArchiveLocation,
    ArchiveReader,
    ArchiveWriter,
)
from .._layout import OciLayout
from .._models import (
    LayoutLocation,
)
from .._spool import ManifestSpool
from ._plan_reads import planned_manifests, read_plan
from ._stores import _LayoutStore, _Manifest, _RegistryStore

REF_NAME = "org.opencontainers.image.ref.name"
_CHUNK = 1024 * 1024


# -- sources --------------------------------------------------------------------------------------


class _ArchiveSource:
    """An archive as a copy source: `resolve`, `read_manifest` and `referrers` as the stores have them,
    and where each blob is in the tar."""

    def __init__(self, location: ArchiveLocation) -> None:
        self.location = location
        self.reader = ArchiveReader(location.path)
        self.manifests: dict[str, bytes] = {}  # a docker-archive's manifest, made from manifest.json
        self.members: dict[str, str] = {}  # blob digest -> member, where it is not blobs/<alg>/<hex>
        self.repo_tag: str | None = None

    def member(self, digest: str) -> str:
        return self.members.get(digest) or self.reader.blob_name(digest)

    def resolve(self) -> tuple[OciDescriptor, bytes, str | None]:
        if self.location.kind == DOCKER_ARCHIVE:
            return self._docker()
        return self._oci()

    def _oci(self) -> tuple[OciDescriptor, bytes, str | None]:
        location = self.location
        descriptors, names = self._index()
        if location.name is not None:
            chosen = [d for d, n in zip(descriptors, names, strict=True) if n == location.name]
            if not chosen:
                raise ArchiveError(
                    f"{location}: no image named {location.name!r} (names: {', '.join(n for n in names if n) or 'none'})"
                )
        else:
            # Referrers stored beside the image (index.json entries without a name) are not images.
            chosen = [d for d, n in zip(descriptors, names, strict=True) if n] or descriptors
            if len(chosen) != 1:
                raise ArchiveError(
                    f"{location} holds {len(chosen)} images: name one ({location}:NAME; names: "
                    f"{', '.join(n for n in names if n) or 'none'})"
                )
        top = chosen[0]
        content = self.reader.read_blob(top.digest)
        if len(content) != top.size:
            raise DigestValidationError(f"{location}: manifest {top.digest} is not {top.size} bytes")
        name = top.annotations.get(REF_NAME) if top.annotations else None
        return top, content, location.name or name

    def _index(self) -> tuple[list[OciDescriptor], list[str | None]]:
        index = self.reader.read_json("index.json")
        entries = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(entries, list) or not entries:
            raise ArchiveError(f"{self.location}: index.json lists no manifests")
        descriptors = [
            OciDescriptor.from_dict(e, path=f"index.json manifests[{i}]") for i, e in enumerate(entries)
        ]
        return descriptors, [d.annotations.get(REF_NAME) if d.annotations else None for d in descriptors]

    def _docker(self) -> tuple[OciDescriptor, bytes, str | None]:
        reader, location = self.reader, self.location
        entries = reader.read_json("manifest.json")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise ArchiveError(f"{location}: manifest.json is not a list of images")
        tags_of = [[t for t in e.get("RepoTags") or [] if isinstance(t, str)] for e in entries]
        all_tags = ", ".join(t for tags in tags_of for t in tags) or "none"
        if location.name is not None:
            wanted = location.name
            chosen = [
                (e, tags)
                for e, tags in zip(entries, tags_of, strict=True)
                if any(t == wanted or t.endswith("/" + wanted) for t in tags)
            ]
            if not chosen:
                raise ArchiveError(f"{location}: no image tagged {wanted!r} (tags: {all_tags})")
        elif len(entries) == 1:
            chosen = [(entries[0], tags_of[0])]
        else:
            raise ArchiveError(
                f"{location} holds {len(entries)} images: name one ({location}:REF; tags: {all_tags})"
            )
        entry, repo_tags = chosen[0]
        config_name, layer_names = entry.get("Config"), entry.get("Layers")
        if not isinstance(config_name, str) or not isinstance(layer_names, list):
            raise ArchiveError(f"{location}: manifest.json entry without Config or Layers")
        config = reader.read(config_name)
        try:
            diff_ids = json.loads(config).get("rootfs", {}).get("diff_ids") or []
        except (ValueError, AttributeError) as exc:
            raise ArchiveError(f"{location}: the config {config_name} is not valid JSON") from exc
        if len(diff_ids) != len(layer_names):
            raise ArchiveError(
                f"{location}: the config lists {len(diff_ids)} layers, manifest.json {len(layer_names)}"
            )
        config_descriptor = OciDescriptor(
            media_type=media_types.OCI_CONFIG, digest=compute_digest(config), size=len(config)
        )
        self.members[config_descriptor.digest] = config_name
        layers = []
        for position, name in enumerate(layer_names):
            if not isinstance(name, str):
                raise ArchiveError(f"{location}: manifest.json Layers[{position}] is not a path")
            digest, size = reader.member_digest(name)
            media_type = _layer_media_type(reader.head(name))
            if media_type == media_types.OCI_LAYER and digest != diff_ids[position]:
                raise DigestValidationError(
                    f"{location}: layer {name} has digest {digest}, the config says {diff_ids[position]}",
                    expected=str(diff_ids[position]),
                    actual=digest,
                )
            layers.append(OciDescriptor(media_type=media_type, digest=digest, size=size))
            self.members.setdefault(digest, name)
        content = OciImageManifest(config=config_descriptor, layers=layers).to_bytes()
        top = OciDescriptor(
            media_type=media_types.OCI_MANIFEST, digest=compute_digest(content), size=len(content)
        )
        self.manifests[top.digest] = content
        self.repo_tag = location.name if location.name and ":" in location.name else None
        self.repo_tag = self.repo_tag or (repo_tags[0] if repo_tags else None)
        source_tag = None
        if self.repo_tag:
            tail = self.repo_tag.rsplit("/", 1)[-1]
            source_tag = tail.split(":", 1)[1] if ":" in tail else None
        return top, content, source_tag

    def read_manifest(self, descriptor: OciDescriptor) -> bytes:
        if descriptor.digest in self.manifests:
            return self.manifests[descriptor.digest]
        content = self.reader.read_blob(descriptor.digest)
        if len(content) != descriptor.size:
            raise DigestValidationError(
                f"{self.location}: manifest {descriptor.digest} is not {descriptor.size} bytes"
            )
        return content

    def referrers(self, digest: str) -> list[OciDescriptor]:
        # As in a layout: the index.json entries whose manifest names `digest` as its subject.
        if self.location.kind == DOCKER_ARCHIVE:
            return []
        found = []
        for entry in self._index()[0]:
            if entry.digest == digest:
                continue
            try:
                parsed = parse_manifest(self.read_manifest(entry), entry.media_type)
            except (ArchiveError, DigestValidationError, ValueError):
                continue
            if parsed is not None and parsed.subject is not None and parsed.subject.digest == digest:
                found.append(entry)
        return found

    def close(self) -> None:
        pass  # nothing held open: each read opens the file for itself


def _layer_media_type(head: bytes) -> str:
    if head[:2] == b"\x1f\x8b":
        return media_types.OCI_LAYER_GZIP
    if head == b"\x28\xb5\x2f\xfd":
        return media_types.OCI_LAYER_ZSTD
    return media_types.OCI_LAYER


_Source = _ArchiveSource | _RegistryStore | _LayoutStore


# -- the plan -------------------------------------------------------------------------------------


class _Plan:
    """Every manifest to write (children before their index, subjects before their referrers, in
    `order`; their bytes wait in `spool`) and every distinct blob, in first-reference order."""

    def __init__(self, manifests: dict[str, _Manifest], order: list[str], blobs: list[OciDescriptor]) -> None:
        self.manifests = manifests
        self.order = order
        self.blobs = blobs

    @property
    def referrers(self) -> list[OciDescriptor]:
        return [m.descriptor for m in self.manifests.values() if m.is_referrer]


def _plan(
    source: _Source,
    top: OciDescriptor,
    content: bytes,
    spool: ManifestSpool,
    include_referrers: bool,
    concurrency: int,
    where: str,
) -> _Plan:
    """The copy's plan (`read_plan`: a level at a time, each level's reads concurrent); manifests nested
    deeper than `MAX_DEPTH` levels are refused with an `ArchiveError`."""
    plan = read_plan(
        source, top, content, spool, include_referrers=include_referrers, concurrency=concurrency, where=where
    )
    if plan.refusal is not None:
        raise ArchiveError(plan.refusal.message)
    return _Plan(planned_manifests(plan, spool), list(plan.order), list(plan.blobs))


# -- targets --------------------------------------------------------------------------------------


def _check(digest: str, size: int, blob: OciDescriptor, where: str) -> None:
    if digest != blob.digest or size != blob.size:
        raise DigestValidationError(
            f"{where}: blob {blob.digest} read as {digest} ({size} bytes), expected {blob.size} bytes",
            expected=blob.digest,
            actual=digest,
        )


class _RegistrySink:
    def __init__(self, store: _RegistryStore) -> None:
        self.store = store

    def has_blob(self, blob: OciDescriptor) -> bool:
        return self.store.has_blob(blob)

    def put_file(self, blob: OciDescriptor, file: BinaryIO, where: str) -> None:
        result = self.store.client.upload_blob(file)
        _check(result.digest, result.size, blob, where)

    def finish(self, plan: _Plan, top: OciDescriptor, tag: str | None) -> None:
        self.store.write_manifests(plan.manifests, plan.order, plan.manifests[top.digest], tag)

    def abort(self) -> None:
        pass


class _LayoutSink:
    def __init__(self, location: LayoutLocation) -> None:
        # Opening the layout (a stat, its directories, index.json) stays on the loop: a few small calls,
        # once per copy; the blobs' bytes move off it (`put_file`).
        self.created = not Path(location.path).exists()
        self.layout = OciLayout(location.path, create=True)
        self.layout.read_index()  # a malformed index.json is refused before anything is written
        self.store = _LayoutStore(location, self.layout)

    def has_blob(self, blob: OciDescriptor) -> bool:
        return self.store.has_blob(blob)

    def put_file(self, blob: OciDescriptor, file: BinaryIO, where: str) -> None:
        # The whole blob (read from the archive, written, fsynced, renamed) off the loop.
        blocking(self._copy_file, blob, file)

    def _copy_file(self, blob: OciDescriptor, file: BinaryIO) -> None:
        with self.layout.blob_writer(blob.digest, blob.size) as writer:
            while chunk := file.read(_CHUNK):
                writer.write(chunk)
            writer.commit()

    def finish(self, plan: _Plan, top: OciDescriptor, tag: str | None) -> None:
        # The manifests as blobs, then index.json (the top one under `tag`, the referrers), atomically.
        self.store.write_manifests(plan.manifests, plan.order, plan.manifests[top.digest], tag)

    def abort(self) -> None:
        if self.created:
            shutil.rmtree(self.layout.root, ignore_errors=True)


def _download_into(store: _RegistryStore, digest: str, write: Callable[[bytes], None]) -> None:
    with store.client.download_blob_streaming(digest) as stream:
        for chunk in stream.iter_bytes():
            write(chunk)


def _blob_member(digest: str) -> str:
    return f"blobs/{digest.replace(':', '/', 1)}"


class _ArchiveSink:
    def __init__(self, location: ArchiveLocation, repo_tag: str | None) -> None:
        self.location = location
        self.repo_tag = repo_tag
        self.writer = ArchiveWriter(location.path)
        self.writer.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')

    def has_blob(self, blob: OciDescriptor) -> bool:
        return False

    def reserve(self, blobs: list[OciDescriptor]) -> None:
        self.writer.reserve((_blob_member(b.digest), b.size) for b in blobs)

    def put_file(self, blob: OciDescriptor, file: BinaryIO, where: str) -> None:
        blocking(self._copy_file, blob, file)  # read and written off the loop

    def _copy_file(self, blob: OciDescriptor, file: BinaryIO) -> None:
        with self.writer.region(_blob_member(blob.digest), blob.digest) as sink:
            while chunk := file.read(_CHUNK):
                sink.write(chunk)

    def put_download(self, blob: OciDescriptor, store: _RegistryStore) -> None:
        with self.writer.region(_blob_member(blob.digest), blob.digest) as sink:
            _download_into(store, blob.digest, sink.write)

    def finish(self, plan: _Plan, top: OciDescriptor, tag: str | None) -> None:
        writer = self.writer
        for digest in plan.order:
            planned = plan.manifests[digest]
            verify_digest(planned.content, digest, what=f"manifest {digest}")
            writer.add_bytes(_blob_member(digest), planned.content)
        entry: dict[str, Any] = {"mediaType": top.media_type, "digest": top.digest, "size": top.size}
        name = tag
        if self.location.kind == DOCKER_ARCHIVE:
            parsed = parse_manifest(plan.manifests[top.digest].content, top.media_type)
            assert isinstance(parsed, OciImageManifest)  # checked before any blob moved
            docker_manifest = [
                {
                    "Config": _blob_member(parsed.config.digest),
                    "RepoTags": [self.repo_tag] if self.repo_tag else [],
                    "Layers": [_blob_member(layer.digest) for layer in parsed.layers],
                }
            ]
            writer.add_bytes("manifest.json", json.dumps(docker_manifest).encode())
            name = None
            if self.repo_tag:
                entry["annotations"] = {"io.containerd.image.name": self.repo_tag}
                tail = self.repo_tag.rsplit("/", 1)[-1]
                name = tail.rsplit(":", 1)[-1] if ":" in tail else None
        if name:
            entry.setdefault("annotations", {})[REF_NAME] = name
        entries = [entry]
        for referrer in plan.referrers:
            item: dict[str, Any] = {
                "mediaType": referrer.media_type,
                "digest": referrer.digest,
                "size": referrer.size,
            }
            if referrer.artifact_type:
                item["artifactType"] = referrer.artifact_type
            entries.append(item)
        index = {"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": entries}
        writer.add_bytes("index.json", json.dumps(index).encode())
        writer.commit()

    def abort(self) -> None:
        self.writer.abort()


_Sink = _RegistrySink | _LayoutSink | _ArchiveSink
