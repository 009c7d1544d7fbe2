"""OCI artifacts as oras users know them: `push_artifact`, `attach_artifact`, `pull_artifact`, `referrer_tree`.

This is the async source; `containerregistry.images._sync._artifacts_oras` is generated from it by
scripts/unasync.py. Files become layers titled with `org.opencontainers.image.title` under the OCI
1.1 empty config; `attach_artifact` adds a `subject` so the artifact is listed as a referrer of an
image; `pull_artifact` writes the titled files into a directory and never outside it (see
`images._artifacts.safe_target`), each file atomically (a partial file of `_files.py`, never written
through a planted link, renamed after its digest and size matched).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ..._files import commit_partial, discard_partial, open_partial, unique_partial
from ...aio._content_client import ContainerRegistryContentClient
from ...protocol import media_types
from ...protocol.models import OciAnnotations, OciDescriptor, OciImageManifest
from ...protocol.reference import validate_tag
from .._artifacts import (
    ANNOTATION_TITLE,
    DEFAULT_ARTIFACT_TYPE,
    ArtifactFile,
    ArtifactPathError,
    PullArtifactResult,
    PulledFile,
    PushArtifactResult,
    ReferrerNode,
    artifact_manifest,
    check_files,
    safe_target,
    title_of,
)

__all__ = ["attach_artifact", "pull_artifact", "push_artifact", "referrer_tree"]

#: `referrer_tree` stops descending here (a signature of an SBOM of an image is depth 2).
MAX_REFERRER_DEPTH = 8


def _as_files(files: Sequence[ArtifactFile | str | os.PathLike[str]]) -> list[ArtifactFile]:
    if isinstance(files, (str, os.PathLike)):
        raise TypeError("files must be a list of paths or ArtifactFile, not one path")
    out = []
    for item in files:
        if isinstance(item, ArtifactFile):
            out.append(item)
        else:
            out.append(ArtifactFile(path=os.fspath(item)))
    for file in out:
        if not os.path.isfile(file.path):
            raise ArtifactPathError(f"{file.path!r}: no such file")
    check_files(out)
    return out


async def _push(
    client: ContainerRegistryContentClient,
    files: Sequence[ArtifactFile | str | os.PathLike[str]],
    *,
    tag: str | None,
    artifact_type: str,
    annotations: Mapping[str, str] | None,
    subject: str | None,
) -> PushArtifactResult:
    chosen = _as_files(files)
    if tag is not None:
        validate_tag(tag)
    subject_descriptor = None
    if subject is not None:
        found = await client.get_manifest(subject)
        subject_descriptor = OciDescriptor(
            media_type=found.media_type or media_types.OCI_MANIFEST,
            digest=found.digest,
            size=len(found.content),
        )
    layers = []
    for file in chosen:
        uploaded = await client.upload_blob(file.path)
        layers.append(
            OciDescriptor(
                media_type=file.media_type,
                digest=uploaded.digest,
                size=uploaded.size,
                annotations=OciAnnotations({ANNOTATION_TITLE: file.name}),
            )
        )
    await client.upload_blob(media_types.OCI_EMPTY_DATA)
    manifest = artifact_manifest(
        layers, artifact_type=artifact_type, annotations=annotations, subject=subject_descriptor
    )
    result = await client.set_manifest(manifest, tag=tag)
    return PushArtifactResult(
        digest=result.digest,
        repository=client.repository,
        tag=tag,
        artifact_type=artifact_type,
        files=layers,
        subject=subject_descriptor.digest if subject_descriptor else None,
    )


async def push_artifact(
    client: ContainerRegistryContentClient,
    tag: str | None,
    files: Sequence[ArtifactFile | str | os.PathLike[str]],
    *,
    artifact_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> PushArtifactResult:
    """Push files as an OCI artifact (`oras push`): one layer per file, the empty config.

    Args:
        tag: the tag to push under, or None to push by digest only.
        files: paths (media type `application/vnd.oci.image.layer.v1.tar`, titled by base name) or
            `ArtifactFile`s.
        artifact_type: the manifest's `artifactType` (default `application/vnd.unknown.artifact.v1`).
        annotations: manifest annotations.

    Raises:
        ArtifactPathError: a file is missing or two files share a title (nothing was pushed).
    """
    return await _push(
        client,
        files,
        tag=tag,
        artifact_type=artifact_type or DEFAULT_ARTIFACT_TYPE,
        annotations=annotations,
        subject=None,
    )


async def attach_artifact(
    client: ContainerRegistryContentClient,
    subject: str,
    files: Sequence[ArtifactFile | str | os.PathLike[str]],
    *,
    artifact_type: str,
    annotations: Mapping[str, str] | None = None,
) -> PushArtifactResult:
    """Attach files to the manifest `subject` (a tag or digest of the client's repository) as a referrer.

    The artifact is pushed by digest with `subject` set, so it is listed by `list_referrers`
    (through the referrers API, or the `sha256-<hex>` tag fallback on registries without it).
    """
    if not artifact_type:
        raise ValueError("attach needs an artifact type (what the files are, e.g. application/spdx+json)")
    return await _push(
        client, files, tag=None, artifact_type=artifact_type, annotations=annotations, subject=subject
    )


async def pull_artifact(
    client: ContainerRegistryContentClient, tag_or_digest: str, directory: str | os.PathLike[str]
) -> PullArtifactResult:
    """Write an artifact's titled layers into `directory` (`oras pull`), verifying each digest.

    Every title is checked before anything is downloaded: one that would land outside `directory`
    (absolute, `..`, a symlink on the way) refuses the whole pull. Layers without a title are skipped
    (listed in `skipped`). Each file appears only after its digest matched.

    Raises:
        ArtifactPathError: an unsafe or duplicated title (nothing was written).
        ValueError: the manifest is not an image manifest (an index has no files).
    """
    found = await client.get_manifest(tag_or_digest)
    manifest = found.manifest
    if not isinstance(manifest, OciImageManifest):
        raise ArtifactPathError(
            f"{client.repository}:{tag_or_digest} is a {found.media_type or 'manifest of unknown type'}, "
            "not an artifact with files"
        )
    os.makedirs(directory, exist_ok=True)
    plan: list[tuple[OciDescriptor, str]] = []
    skipped = []
    seen: set[str] = set()
    for layer in manifest.layers:
        title = title_of(layer)
        if title is None:
            skipped.append(layer.digest)
            continue
        if title in seen:
            raise ArtifactPathError(f"two layers are titled {title!r}: refused (nothing was written)")
        seen.add(title)
        safe_target(directory, title)
        plan.append((layer, title))
    written = []
    for layer, title in plan:
        target = safe_target(directory, title)  # again: an earlier file may have made a directory
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = unique_partial(target)
        file = open_partial(partial)
        try:
            result = await client.download_blob_to(layer.digest, file)
            if result.size != layer.size:
                raise ArtifactPathError(
                    f"layer {layer.digest} ({title!r}) is {result.size} bytes, the manifest says {layer.size}"
                )
            commit_partial(file, partial, str(target))
        except BaseException:
            discard_partial(file, partial)
            raise
        written.append(PulledFile(path=str(target), title=title, digest=layer.digest, size=result.size))
    return PullArtifactResult(
        digest=found.digest, artifact_type=manifest.artifact_type, files=written, skipped=skipped
    )


async def referrer_tree(
    client: ContainerRegistryContentClient,
    tag_or_digest: str,
    *,
    artifact_type: str | None = None,
    max_depth: int = MAX_REFERRER_DEPTH,
) -> ReferrerNode:
    """The manifest `tag_or_digest` names, with its referrers and theirs (`oras discover`).

    Args:
        artifact_type: only referrers of this type (at every level).
        max_depth: how deep to descend; 1 lists only direct referrers. A manifest already shown is
            not descended into again.
    """
    found = await client.get_manifest(tag_or_digest)
    root = ReferrerNode(
        digest=found.digest,
        media_type=found.media_type,
        size=len(found.content),
        artifact_type=getattr(found.manifest, "artifact_type", None),
    )
    seen = {found.digest}
    level = [root]
    for _ in range(max(max_depth, 0)):
        following = []
        for node in level:
            async for descriptor in client.list_referrers(node.digest, artifact_type=artifact_type):
                if descriptor.digest in seen:
                    continue
                seen.add(descriptor.digest)
                child = ReferrerNode(
                    digest=descriptor.digest,
                    media_type=descriptor.media_type,
                    size=descriptor.size,
                    artifact_type=descriptor.artifact_type,
                    annotations=dict(descriptor.annotations) if descriptor.annotations else {},
                )
                node.referrers.append(child)
                following.append(child)
        if not following:
            break
        level = following
    return root
