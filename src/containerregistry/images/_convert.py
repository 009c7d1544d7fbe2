"""Docker v2 schema 2 manifests and manifest lists rewritten with OCI media types (no I/O).

What skopeo does when it writes an `oci:` layout: tools that read OCI layouts (skopeo, podman, buildah)
look only at `index.json` entries of OCI media types, so a Docker v2 image stored as is cannot be
found there ("no descriptor found for reference"). The config and layer blobs keep their bytes (a
Docker image config is a valid OCI image config); only the manifests change, so their digests do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..exceptions import UnsupportedOperationError
from ..protocol import media_types
from ..protocol.models import OciDescriptor

__all__ = ["DOCKER_TO_OCI", "to_oci_manifest"]

#: Docker media types and their OCI equivalents (the mapping of containers/image and the OCI spec).
DOCKER_TO_OCI: Mapping[str, str] = {
    media_types.DOCKER_MANIFEST: media_types.OCI_MANIFEST,
    media_types.DOCKER_MANIFEST_LIST: media_types.OCI_INDEX,
    media_types.DOCKER_CONFIG: media_types.OCI_CONFIG,
    media_types.DOCKER_LAYER: media_types.OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": media_types.OCI_LAYER,
    "application/vnd.docker.image.rootfs.diff.tar.zstd": media_types.OCI_LAYER_ZSTD,
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": (
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    ),
    "application/vnd.docker.image.rootfs.foreign.diff.tar": (
        "application/vnd.oci.image.layer.nondistributable.v1.tar"
    ),
}
_OCI_TYPES = frozenset(DOCKER_TO_OCI.values())


def _convert_blob(entry: Any, where: str, field: str) -> None:
    media_type = entry.get("mediaType") if isinstance(entry, dict) else None
    if media_type in _OCI_TYPES:
        return
    if (
        not isinstance(media_type, str)
        or media_type not in DOCKER_TO_OCI
        or media_type in (media_types.DOCKER_MANIFEST, media_types.DOCKER_MANIFEST_LIST)
    ):
        raise UnsupportedOperationError(
            f"{where}: cannot convert the {field} media type {media_type!r} to OCI; keep the original "
            "manifests instead (convert_to_oci=False, creg --preserve-digests)"
        )
    entry["mediaType"] = DOCKER_TO_OCI[media_type]
    _go_order(entry)


def _go_order(entry: dict[str, Any]) -> None:
    """Descriptor fields in the OCI spec's (and Go's) order: mediaType, digest, size, then the rest."""
    ordered: dict[str, Any] = {k: entry[k] for k in ("mediaType", "digest", "size") if k in entry}
    ordered.update((key, value) for key, value in entry.items() if key not in ordered)
    entry.clear()
    entry.update(ordered)


def to_oci_manifest(
    content: bytes, media_type: str, converted: Mapping[str, OciDescriptor], where: str
) -> tuple[bytes, str] | None:
    """The OCI form of a manifest, or None when it needs none.

    Args:
        content: the manifest's bytes.
        media_type: its media type.
        converted: children converted already (old digest -> new descriptor), for an index.
        where: names the manifest in errors.

    Returns:
        (new bytes, new media type) for a Docker v2 manifest or manifest list, or for an OCI index
        whose children were converted; None for anything else (kept byte for byte).

    Raises:
        UnsupportedOperationError: a config or layer media type with no OCI equivalent.
    """
    is_docker = media_type in (media_types.DOCKER_MANIFEST, media_types.DOCKER_MANIFEST_LIST)
    if not is_docker and media_type != media_types.OCI_INDEX:
        return None
    body = json.loads(content)
    if not isinstance(body, dict):
        return None
    if media_type == media_types.OCI_INDEX and not any(
        isinstance(child, dict) and child.get("digest") in converted for child in body.get("manifests") or []
    ):
        return None
    if media_type == media_types.DOCKER_MANIFEST:
        _convert_blob(body.get("config"), where, "config")
        for layer in body.get("layers") or []:
            _convert_blob(layer, where, "layer")
    else:
        for child in body.get("manifests") or []:
            new = converted.get(str(child.get("digest"))) if isinstance(child, dict) else None
            if new is not None:
                child.update(mediaType=new.media_type, digest=new.digest, size=new.size)
                _go_order(child)
    new_type = DOCKER_TO_OCI.get(media_type, media_type)
    body["mediaType"] = new_type
    return json.dumps(body, separators=(",", ":")).encode(), new_type
