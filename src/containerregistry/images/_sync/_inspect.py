# This file is generated from containerregistry/images/_async/_inspect.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""Read-only looks at one image and re-tagging: `get_digest`, `get_image_config`, `inspect_image`, `add_tags`.

This is the async source; `containerregistry.images._sync._inspect` is generated from it by scripts/unasync.py.
Each function takes a content client for the image's repository, so it works on any OCI registry
(ACR, Distribution, the emulator). `add_tags` re-pushes the manifest's exact bytes under new tags: no
blob moves, and the digest stays the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..._sync._content_client import ContainerRegistryContentClient
from ...exceptions import ManifestTooLargeError
from ...protocol.digest import verify_digest
from ...protocol.models import OciImageIndex, OciImageManifest
from ...protocol.reference import validate_tag
from ...protocol.results import GetManifestResult
from .._inspect import (
    AddTagsResult,
    ImageInspection,
    PlatformNotFoundError,
    build_inspection,
    choose_platform,
    validate_new_tags,
)

__all__ = ["add_tags", "get_digest", "get_image_config", "inspect_image"]

#: Image configs are small JSON documents; a larger "config" is refused rather than read into memory.
MAX_CONFIG_SIZE = 16 * 1024 * 1024


def _where(client: ContainerRegistryContentClient, tag_or_digest: str) -> str:
    separator = "@" if ":" in tag_or_digest else ":"
    return f"{client.login_server}/{client.repository}{separator}{tag_or_digest}"


def get_digest(client: ContainerRegistryContentClient, tag_or_digest: str) -> str:
    """The digest of the manifest `tag_or_digest` names (verified against the bytes the registry sent)."""
    return (client.get_manifest(tag_or_digest)).digest


def _image_manifest(
    client: ContainerRegistryContentClient, tag_or_digest: str, platform: str | None
) -> tuple[GetManifestResult, str | None]:
    """The image manifest (choosing from an index by `platform`) and the index digest, if any."""
    result = client.get_manifest(tag_or_digest)
    if isinstance(result.manifest, OciImageIndex):
        chosen = choose_platform(result.manifest, platform, _where(client, tag_or_digest))
        return client.get_manifest(chosen.digest), result.digest
    return result, None


def _read_config(client: ContainerRegistryContentClient, manifest: OciImageManifest) -> bytes:
    if manifest.config.size > MAX_CONFIG_SIZE:
        raise ManifestTooLargeError(
            f"config {manifest.config.digest} is {manifest.config.size} bytes; the limit is {MAX_CONFIG_SIZE}"
        )
    if manifest.config.data is not None and len(manifest.config.data) == manifest.config.size:
        verify_digest(manifest.config.data, manifest.config.digest, what=f"config {manifest.config.digest}")
        return manifest.config.data
    return (client.download_blob_content(manifest.config.digest)).content


def get_image_config(
    client: ContainerRegistryContentClient, tag_or_digest: str, *, platform: str | None = None
) -> bytes:
    """The exact bytes of an image's config blob (digest verified).

    Args:
        platform: `os/arch[/variant]` to choose from an index; optional when the index lists one image.

    Raises:
        PlatformNotFoundError: an index without a manifest for `platform` (or several and none chosen).
        ValueError: the manifest is not an image manifest (nothing has a config).
    """
    result, _ = _image_manifest(client, tag_or_digest, platform)
    if not isinstance(result.manifest, OciImageManifest):
        raise PlatformNotFoundError(
            f"{_where(client, tag_or_digest)} is a {result.media_type or 'manifest of unknown type'}: it has no config"
        )
    return _read_config(client, result.manifest)


def inspect_image(
    client: ContainerRegistryContentClient, tag_or_digest: str, *, platform: str | None = None
) -> ImageInspection:
    """A summary of an image or index (see `ImageInspection`).

    An index is summarized as such (its platforms and manifests) unless `platform` chooses one of its
    images, which is then inspected (with `index_digest` set).
    """
    where = _where(client, tag_or_digest)
    result = client.get_manifest(tag_or_digest)
    index_digest = None
    if isinstance(result.manifest, OciImageIndex) and platform is not None:
        chosen = choose_platform(result.manifest, platform, where)
        index_digest = result.digest
        result = client.get_manifest(chosen.digest)
    config = None
    if isinstance(result.manifest, OciImageManifest):
        config = _read_config(client, result.manifest)
    return build_inspection(
        where,
        result.digest,
        result.media_type,
        len(result.content),
        result.manifest,
        config=config,
        index_digest=index_digest,
    )


def add_tags(
    client: ContainerRegistryContentClient, tag_or_digest: str, tags: Sequence[str]
) -> AddTagsResult:
    """Point more tags of the same repository at the manifest `tag_or_digest` names.

    The manifest's exact bytes are pushed under each tag, so the digest is unchanged and no blob
    moves. Every tag is validated before anything is pushed.

    Raises:
        InvalidReferenceError: a tag is malformed (nothing was pushed).
        ResourceNotFoundError: no such manifest.
    """
    if isinstance(tags, str):
        raise TypeError("tags must be a list of strings, not a string")
    new_tags = validate_new_tags(tags)
    for tag in new_tags:
        validate_tag(tag)
    source = client.get_manifest(tag_or_digest)
    for tag in new_tags:
        client.set_manifest(source.content, tag=tag, media_type=source.media_type or None)
    return AddTagsResult(digest=source.digest, repository=client.repository, tags=new_tags)
