"""Manifest encoding and media-type inference for pushes and pulls (pure).

This module owns how a manifest given as a model, a dict or bytes becomes the exact bytes sent and the
`Content-Type` they are sent with (`encode_manifest`), the media type a manifest of unknown type gets
from its shape (`default_media_type`), and the lenient parse of a fetched manifest that the content client
uses to offer a model beside the bytes (`parse_manifest_or_none`).
"""

from __future__ import annotations

import json
from typing import Any

from ..exceptions import RegistryProtocolError
from . import media_types
from .models import ManifestFormatError, OciImageIndex, OciImageManifest, parse_manifest

__all__ = ["default_media_type", "encode_manifest", "parse_manifest_or_none"]


def default_media_type(body: dict[str, Any]) -> str:
    """The media type of a manifest JSON object without one: an index when it lists `manifests`."""
    return media_types.OCI_INDEX if "manifests" in body else media_types.OCI_MANIFEST


def encode_manifest(
    manifest: OciImageManifest | OciImageIndex | bytes | dict[str, Any], media_type: str | None
) -> tuple[bytes, str]:
    """The bytes to push and their media type.

    Bytes are sent exactly as given; models and dicts are serialized compactly. The media type comes
    from `media_type`, else the manifest's `mediaType`, else its shape (`default_media_type`).

    Raises:
        ValueError: bytes without `media_type` that are not a JSON object.
        TypeError: a manifest of another type.
    """
    if isinstance(manifest, (OciImageManifest, OciImageIndex)):
        content = manifest.to_bytes()
        return content, media_type or manifest.media_type or default_media_type(manifest.to_dict())
    if isinstance(manifest, dict):
        content = json.dumps(manifest, separators=(",", ":"), ensure_ascii=False).encode()
        return content, media_type or str(manifest.get("mediaType") or default_media_type(manifest))
    if isinstance(manifest, (bytes, bytearray, memoryview)):
        content = bytes(manifest)
        if media_type:
            return content, media_type
        try:
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("manifest bytes are not JSON; pass media_type= to send them anyway") from exc
        if not isinstance(body, dict):
            raise ValueError("manifest JSON must be an object")
        return content, str(body.get("mediaType") or default_media_type(body))
    raise TypeError(f"cannot push a manifest of type {type(manifest).__name__}")


def parse_manifest_or_none(
    content: bytes, media_type: str | None, action: str
) -> OciImageManifest | OciImageIndex | None:
    """The parsed manifest, or None when it is not one we model.

    Raises:
        RegistryProtocolError: JSON nested too deeply to parse, which is refused rather than passed on as
            opaque bytes.
    """
    try:
        return parse_manifest(content, media_type)
    except ManifestFormatError as exc:
        if isinstance(exc.__cause__, RecursionError):
            raise RegistryProtocolError(f"{action} failed: the manifest is JSON nested too deeply") from None
        return None
    except ValueError:
        return None
