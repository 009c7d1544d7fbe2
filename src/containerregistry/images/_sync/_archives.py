# This file is generated from containerregistry/images/_async/_archives.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""Images between registries and tar archives: `push_archive` (archive -> registry), `pull_archive` (registry -> archive).

This is the async source; `containerregistry.images._sync._archives` is generated from it by scripts/unasync.py.
Archives are `oci-archive:FILE[:tag]` (a tar of an OCI layout, as skopeo writes) and
`docker-archive:FILE[:ref]` (what `docker save` writes; ours is also an OCI layout, as docker 25+
writes). Nothing is extracted to disk: blobs go from the tar member straight into the upload, and from
the download straight into the tar. Every manifest and blob is verified against its digest (and a
docker-archive's uncompressed layers against the config's `diff_ids`); a pull writes `FILE.partial`
and renames it only when all of it arrived, so a failed pull leaves no archive. Blobs move one at a
time (a tar is one stream).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from ..._sync._content_client import ContainerRegistryContentClient
from ...auth import Credential
from ...exceptions import DigestValidationError, InvalidReferenceError
from ...protocol import media_types
from ...protocol.digest import Hasher, compute_digest, verify_digest
from ...protocol.models import OciDescriptor, OciImageIndex, OciImageManifest, parse_manifest
from ...transport import RetryPolicy
from .._archive import (
    DOCKER_ARCHIVE,
    ArchiveError,
    ArchiveLocation,
    ArchiveReader,
    ArchiveWriter,
    parse_archive_location,
)
from .._inspect import choose_platform
from .._models import CopyImageResult, RegistryLocation, as_location, target_tag_for_registry

__all__ = ["pull_archive", "push_archive"]

REF_NAME = "org.opencontainers.image.ref.name"
_MAX_DEPTH = 4


def _registry(location: str | RegistryLocation, what: str) -> RegistryLocation:
    parsed = as_location(location)
    if not isinstance(parsed, RegistryLocation):
        raise InvalidReferenceError(f"{what} {parsed} must be a registry reference")
    return parsed


def _client(
    location: RegistryLocation, credential: Credential | None, options: dict[str, Any]
) -> ContainerRegistryContentClient:
    endpoint = location.client_endpoint
    return ContainerRegistryContentClient(endpoint, location.repository, credential, **options)


def _options(**kwargs: Any) -> dict[str, Any]:
    return kwargs


# -- reading archives -----------------------------------------------------------------------------


class _Plan:
    """What to upload from an archive: manifests (children first), blobs with where they are in the tar."""

    def __init__(self) -> None:
        self.manifests: list[tuple[OciDescriptor, bytes]] = []
        self.blobs: dict[str, tuple[OciDescriptor, str]] = {}


def _oci_plan(reader: ArchiveReader, location: ArchiveLocation) -> tuple[_Plan, OciDescriptor, str | None]:
    index = reader.read_json("index.json")
    entries = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ArchiveError(f"{location}: index.json lists no manifests")
    descriptors = [
        OciDescriptor.from_dict(e, path=f"index.json manifests[{i}]") for i, e in enumerate(entries)
    ]
    names = [d.annotations.get(REF_NAME) if d.annotations else None for d in descriptors]
    if location.name is not None:
        chosen = [d for d, n in zip(descriptors, names, strict=True) if n == location.name]
        if not chosen:
            raise ArchiveError(
                f"{location}: no image named {location.name!r} (names: {', '.join(n for n in names if n) or 'none'})"
            )
    elif len(descriptors) == 1:
        chosen = descriptors
    else:
        raise ArchiveError(
            f"{location} holds {len(descriptors)} images: name one ({location}:NAME; names: "
            f"{', '.join(n for n in names if n) or 'none'})"
        )
    top = chosen[0]
    plan = _Plan()

    def walk(descriptor: OciDescriptor, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ArchiveError(f"{location}: manifests nest deeper than {_MAX_DEPTH} levels")
        content = reader.read_blob(descriptor.digest)
        if len(content) != descriptor.size:
            raise DigestValidationError(
                f"{location}: manifest {descriptor.digest} is not {descriptor.size} bytes"
            )
        parsed = parse_manifest(content, descriptor.media_type)
        if isinstance(parsed, OciImageIndex):
            for child in parsed.manifests:
                walk(child, depth + 1)
        elif isinstance(parsed, OciImageManifest):
            for blob in (parsed.config, *parsed.layers):
                plan.blobs.setdefault(blob.digest, (blob, reader.blob_name(blob.digest)))
        if all(d.digest != descriptor.digest for d, _ in plan.manifests):
            plan.manifests.append((descriptor, content))

    walk(top, 0)
    name = top.annotations.get(REF_NAME) if top.annotations else None
    return plan, plan.manifests[-1][0], location.name or name


def _layer_media_type(reader: ArchiveReader, member: str) -> str:
    with reader.open_member(member) as file:
        head = file.read(4)
    if head[:2] == b"\x1f\x8b":
        return media_types.OCI_LAYER_GZIP
    if head == b"\x28\xb5\x2f\xfd":
        return media_types.OCI_LAYER_ZSTD
    return media_types.OCI_LAYER


def _hash_member(reader: ArchiveReader, member: str) -> tuple[str, int]:
    hasher = Hasher()
    with reader.open_member(member) as file:
        while chunk := file.read(1024 * 1024):
            hasher.update(chunk)
    return hasher.digest, hasher.size


def _docker_plan(reader: ArchiveReader, location: ArchiveLocation) -> tuple[_Plan, OciDescriptor, str | None]:
    entries = reader.read_json("manifest.json")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ArchiveError(f"{location}: manifest.json is not a list of images")
    if location.name is not None:
        wanted = location.name
        chosen = [
            e
            for e in entries
            if any(
                t == wanted or t.endswith("/" + wanted) for t in e.get("RepoTags") or [] if isinstance(t, str)
            )
        ]
        if not chosen:
            tags = ", ".join(t for e in entries for t in e.get("RepoTags") or []) or "none"
            raise ArchiveError(f"{location}: no image tagged {wanted!r} (tags: {tags})")
    elif len(entries) == 1:
        chosen = entries
    else:
        tags = ", ".join(t for e in entries for t in e.get("RepoTags") or []) or "none"
        raise ArchiveError(f"{location} holds {len(entries)} images: name one ({location}:REF; tags: {tags})")
    entry = chosen[0]
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
    plan = _Plan()
    config_descriptor = OciDescriptor(
        media_type=media_types.OCI_CONFIG, digest=compute_digest(config), size=len(config)
    )
    plan.blobs[config_descriptor.digest] = (config_descriptor, config_name)
    layers = []
    for position, name in enumerate(layer_names):
        if not isinstance(name, str):
            raise ArchiveError(f"{location}: manifest.json Layers[{position}] is not a path")
        digest, size = _hash_member(reader, name)
        media_type = _layer_media_type(reader, name)
        if media_type == media_types.OCI_LAYER and digest != diff_ids[position]:
            raise DigestValidationError(
                f"{location}: layer {name} has digest {digest}, the config says {diff_ids[position]}",
                expected=str(diff_ids[position]),
                actual=digest,
            )
        layer = OciDescriptor(media_type=media_type, digest=digest, size=size)
        layers.append(layer)
        plan.blobs.setdefault(digest, (layer, name))
    manifest = OciImageManifest(config=config_descriptor, layers=layers)
    content = manifest.to_bytes()
    top = OciDescriptor(
        media_type=media_types.OCI_MANIFEST, digest=compute_digest(content), size=len(content)
    )
    plan.manifests.append((top, content))
    repo_tags = [t for t in entry.get("RepoTags") or [] if isinstance(t, str)]
    source_tag = None
    if repo_tags:
        tail = repo_tags[0].rsplit("/", 1)[-1]
        source_tag = tail.split(":", 1)[1] if ":" in tail else None
    return plan, top, source_tag


def push_archive(
    source: str | ArchiveLocation,
    target: str | RegistryLocation,
    *,
    credential: Credential | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
) -> CopyImageResult:
    """Push the image of an archive (`oci-archive:FILE[:tag]` or `docker-archive:FILE[:ref]`) to a registry.

    An oci-archive's manifests are pushed byte for byte (digests preserved). A docker-archive's image
    gets an OCI manifest (its config and layer bytes unchanged, layers typed by their compression).
    The target tag is the target's, else the archive's name for the image.

    Raises:
        ArchiveError: unreadable archive, or it holds several images and none was named.
        DigestValidationError: a member does not match its digest (or a layer its `diff_id`).
    """
    src = parse_archive_location(source)
    dst = _registry(target, "target")
    reader = ArchiveReader(src.path)
    plan, top, source_tag = (_docker_plan if src.kind == DOCKER_ARCHIVE else _oci_plan)(reader, src)
    tag = (
        target_tag_for_registry(source_tag, dst)
        if (dst.tag or source_tag)
        else (None if dst.digest else "latest")
    )
    if dst.digest and dst.digest != top.digest:
        raise DigestValidationError(f"target {dst} names digest {dst.digest}, the image is {top.digest}")
    copied = skipped = moved = 0
    options = _options(
        transport=transport, timeout=timeout, retry=retry, verify=verify, insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
    )  # fmt: skip
    with _client(dst, credential, options) as client:
        for descriptor, member in plan.blobs.values():
            if client.blob_exists(descriptor.digest):
                skipped += 1
                continue
            with reader.open_member(member) as file:
                result = client.upload_blob(file)
            if result.digest != descriptor.digest or result.size != descriptor.size:
                raise DigestValidationError(
                    f"{src}: {member} read as {result.digest} ({result.size} bytes), expected {descriptor.digest}",
                    expected=descriptor.digest,
                    actual=result.digest,
                )
            copied += 1
            moved += result.size
        for descriptor, content in plan.manifests[:-1]:
            client.set_manifest(content, media_type=descriptor.media_type)
        client.set_manifest(plan.manifests[-1][1], tag=tag, media_type=top.media_type)
    return CopyImageResult(
        digest=top.digest,
        media_type=top.media_type,
        source=str(src),
        target=str(dst),
        tag=tag,
        manifests=len(plan.manifests),
        referrers=0,
        blobs_copied=copied,
        blobs_skipped=skipped,
        blobs_mounted=0,
        bytes_copied=moved,
    )


# -- writing archives -----------------------------------------------------------------------------


def _collect(
    client: ContainerRegistryContentClient,
    descriptor: OciDescriptor,
    content: bytes,
    out: list[tuple[OciDescriptor, bytes]],
    blobs: dict[str, OciDescriptor],
    depth: int,
) -> None:
    if depth > _MAX_DEPTH:
        raise ArchiveError(f"manifests nest deeper than {_MAX_DEPTH} levels")
    parsed = parse_manifest(content, descriptor.media_type)
    if isinstance(parsed, OciImageIndex):
        for child in parsed.manifests:
            found = client.get_manifest(child.digest)
            _collect(client, child, found.content, out, blobs, depth + 1)
    elif isinstance(parsed, OciImageManifest):
        for blob in (parsed.config, *parsed.layers):
            blobs.setdefault(blob.digest, blob)
    if all(d.digest != descriptor.digest for d, _ in out):
        out.append((descriptor, content))


def _download_into(
    client: ContainerRegistryContentClient, digest: str, write: Callable[[bytes], None]
) -> None:
    with client.download_blob_streaming(digest) as stream:
        for chunk in stream.iter_bytes():
            write(chunk)


def pull_archive(
    source: str | RegistryLocation,
    target: str | ArchiveLocation,
    *,
    credential: Credential | None = None,
    platforms: Sequence[str] | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float | httpx.Timeout | None = None,
    retry: RetryPolicy | None = None,
    verify: bool | str = True,
    insecure: bool = False,
    trusted_token_hosts: Iterable[str] | None = None,
) -> CopyImageResult:
    """Write a registry image into an archive: `oci-archive:FILE[:tag]` or `docker-archive:FILE[:ref]`.

    An oci-archive gets the image as it is (an index with all its platforms, digests preserved). A
    docker-archive holds one image: from an index, the only one or the one `platforms` names (one
    platform); `docker load` and skopeo read it, and it is an OCI layout too.

    Raises:
        PlatformNotFoundError: docker-archive from an index with several images and no platform.
        DigestValidationError: a blob does not match its digest (the archive is not written).
    """
    src = _registry(source, "source")
    dst = parse_archive_location(target)
    if platforms is not None and len(platforms) != 1:
        raise ValueError("an archive takes one --platform (or none)")
    options = _options(
        transport=transport, timeout=timeout, retry=retry, verify=verify, insecure=insecure,
        trusted_token_hosts=trusted_token_hosts,
    )  # fmt: skip
    with _client(src, credential, options) as client:
        found = client.get_manifest(src.digest or src.tag or "latest")
        media_type = found.media_type or media_types.OCI_MANIFEST
        top = OciDescriptor(media_type=media_type, digest=found.digest, size=len(found.content))
        content = found.content
        if isinstance(found.manifest, OciImageIndex) and (dst.kind == DOCKER_ARCHIVE or platforms):
            chosen = choose_platform(found.manifest, platforms[0] if platforms else None, str(src))
            child = client.get_manifest(chosen.digest)
            top = OciDescriptor(
                media_type=child.media_type or chosen.media_type, digest=child.digest, size=len(child.content)
            )
            content = child.content
        manifests: list[tuple[OciDescriptor, bytes]] = []
        blobs: dict[str, OciDescriptor] = {}
        _collect(client, top, content, manifests, blobs, 0)
        writer = ArchiveWriter(dst.path)
        moved = 0
        try:
            writer.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            for blob in blobs.values():
                member = f"blobs/{blob.digest.replace(':', '/', 1)}"
                if writer.has(member):
                    continue
                with writer.blob(member, blob.size, blob.digest) as sink:
                    _download_into(client, blob.digest, sink.write)
                moved += blob.size
            for descriptor, body in manifests:
                verify_digest(body, descriptor.digest, what=f"manifest {descriptor.digest}")
                writer.add_bytes(f"blobs/{descriptor.digest.replace(':', '/', 1)}", body)
            name: str | None = dst.name or (src.tag if dst.kind != DOCKER_ARCHIVE else None)
            entry: dict[str, Any] = {"mediaType": top.media_type, "digest": top.digest, "size": top.size}
            if dst.kind == DOCKER_ARCHIVE:
                repo_tag = dst.name or f"{src.registry}/{src.repository}:{src.tag or 'latest'}"
                entry["annotations"] = {"io.containerd.image.name": repo_tag}
                parsed = parse_manifest(content, top.media_type)
                if not isinstance(parsed, OciImageManifest):
                    raise ArchiveError(f"{src} is not an image manifest: a docker-archive holds images")
                docker_manifest = [
                    {
                        "Config": f"blobs/{parsed.config.digest.replace(':', '/', 1)}",
                        "RepoTags": [repo_tag],
                        "Layers": [f"blobs/{layer.digest.replace(':', '/', 1)}" for layer in parsed.layers],
                    }
                ]
                writer.add_bytes("manifest.json", json.dumps(docker_manifest).encode())
                name = repo_tag.rsplit(":", 1)[-1] if ":" in repo_tag.rsplit("/", 1)[-1] else None
            if name:
                entry.setdefault("annotations", {})[REF_NAME] = name
            index = {"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": [entry]}
            writer.add_bytes("index.json", json.dumps(index).encode())
            writer.commit()
        except BaseException:
            writer.abort()
            raise
    return CopyImageResult(
        digest=top.digest,
        media_type=top.media_type,
        source=str(src),
        target=str(dst),
        tag=dst.name or src.tag,
        manifests=len(manifests),
        referrers=0,
        blobs_copied=len(blobs),
        blobs_skipped=0,
        blobs_mounted=0,
        bytes_copied=moved,
        platform_filtered=top.digest != found.digest,
    )
