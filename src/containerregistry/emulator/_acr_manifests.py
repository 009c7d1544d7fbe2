"""Where the emulator's manifest checks follow ACR rather than the letter of the OCI spec.

Measured with ACR's own SDK (its recorded sessions against real registries):

* ACR accepts descriptors that carry `sizeInBytes` (the field name of the ACR SDK's models) and no
  `size` (201). Unless the emulator runs with `--strict-oci` (`strict_oci=True`), such a descriptor is
  read as having that size; the stored manifest keeps its bytes as sent.
* ACR refuses a manifest body without `mediaType` PUT with a Docker v2 `Content-Type` (400
  MANIFEST_INVALID): Docker's image manifest schema 2 requires the field, and Distribution, which ACR
  builds on, checks it. This holds with and without `--strict-oci`.
"""

from __future__ import annotations

from typing import Any

from ..protocol import media_types as mt
from ._errors import OciError

__all__ = ["check_docker_media_type", "read_size_in_bytes"]

_DOCKER_TYPES = frozenset({mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST})
_SINGLE = ("config", "subject")
_LISTS = ("layers", "blobs", "manifests")


def check_docker_media_type(header_type: str, doc: dict[str, Any]) -> None:
    """Refuse a body without `mediaType` sent as a Docker v2 manifest or manifest list (as ACR does).

    Raises:
        OciError: 400 MANIFEST_INVALID.
    """
    if header_type in _DOCKER_TYPES and "mediaType" not in doc:
        raise OciError(
            400,
            "MANIFEST_INVALID",
            f"a manifest sent as {header_type} must carry mediaType {header_type!r} (Docker schema 2)",
        )


def _with_size(descriptor: Any) -> Any:
    if not isinstance(descriptor, dict) or "size" in descriptor:
        return descriptor
    size = descriptor.get("sizeInBytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return descriptor  # left for the OCI checks to refuse
    return {**descriptor, "size": size}


def read_size_in_bytes(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with every descriptor that has `sizeInBytes` but no `size` given that size (a new dict;
    `doc` and the manifest's bytes are unchanged)."""
    out = dict(doc)
    for key in _SINGLE:
        if key in out:
            out[key] = _with_size(out[key])
    for key in _LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_with_size(item) for item in out[key]]
    return out
