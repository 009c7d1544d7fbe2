"""What `inspect_image` reports about an image or index, built from its manifest and config (no I/O).

`ImageInspection` is the summary `creg inspect` prints (like `skopeo inspect`): media type, digest,
the platforms of an index, and for one image its created time, platform, layers with sizes and labels.
The network half lives in `images/_async/_inspect.py` (and its generated sync twin in `images/_sync/`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..exceptions import RegistryError
from ..protocol.models import (
    OciAnnotations,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    Platform,
)
from ..protocol.timestamps import parse_rfc3339
from ._models import parse_platforms, platform_matches

__all__ = [
    "AddTagsResult",
    "ImageInspection",
    "IndexEntry",
    "LayerInfo",
    "PlatformNotFoundError",
    "build_inspection",
    "choose_platform",
]


class PlatformNotFoundError(RegistryError, ValueError):
    """An index has no manifest for the platform asked for (or several, and none was asked for)."""


@dataclass(frozen=True)
class LayerInfo:
    """One layer (or artifact file) of an image manifest."""

    digest: str
    media_type: str
    size: int
    annotations: dict[str, str] | None = None


@dataclass(frozen=True)
class IndexEntry:
    """One manifest listed by an index, with its platform (`os/arch[/variant]`) when it names one."""

    digest: str
    media_type: str
    size: int
    platform: str | None = None
    artifact_type: str | None = None


@dataclass(frozen=True)
class ImageInspection:
    """A summary of an image or an index.

    Attributes:
        reference: what was inspected, as given (`host/repo:tag` or `...@digest`).
        digest: the manifest's digest (for `--platform`, the chosen platform manifest's).
        media_type: the manifest's media type.
        size: the manifest's size in bytes.
        index_digest: the digest of the index the platform manifest was chosen from, if any.
        artifact_type: the manifest's `artifactType` (or its config media type for OCI artifacts).
        platforms: for an index, its platforms (`os/arch[/variant]`); for an image, its own.
        manifests: for an index, every manifest it lists.
        created, architecture, os, variant, author: from the image config (None for artifacts).
        config_digest, config_media_type: the config descriptor.
        layers: the layers, in order, with their sizes.
        total_size: the sum of the layers' sizes plus the config's (what a pull moves).
        labels: the config's `Labels`; env: its `Env`; annotations: the manifest's annotations.
        subject: the digest of the manifest this one refers to (a signature, an SBOM), if any.
    """

    reference: str
    digest: str
    media_type: str
    size: int
    index_digest: str | None = None
    artifact_type: str | None = None
    platforms: list[str] = field(default_factory=list)
    manifests: list[IndexEntry] = field(default_factory=list)
    created: datetime | None = None
    architecture: str | None = None
    os: str | None = None
    variant: str | None = None
    author: str | None = None
    config_digest: str | None = None
    config_media_type: str | None = None
    layers: list[LayerInfo] = field(default_factory=list)
    total_size: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    env: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    subject: str | None = None


@dataclass(frozen=True)
class AddTagsResult:
    """The outcome of `add_tags`: the manifest digest the new tags now point to."""

    digest: str
    repository: str
    tags: list[str]


def _annotations(value: OciAnnotations | None) -> dict[str, str]:
    return dict(value) if value else {}


def _platform_text(platform: Platform | None) -> str | None:
    return str(platform) if platform is not None else None


def choose_platform(index: OciImageIndex, platform: str | None, where: str) -> OciDescriptor:
    """The manifest of `index` for `platform` (`os/arch[/variant]`); without one, the only image listed.

    Raises:
        PlatformNotFoundError: no manifest matches, or the index lists several and none was chosen.
        ValueError: `platform` is not `os/arch[/variant]`.
    """
    images = [d for d in index.manifests if d.platform is None or d.platform.os != "unknown"]
    available = ", ".join(p for p in (_platform_text(d.platform) for d in images) if p) or "none"
    if platform is None:
        if len(images) == 1:
            return images[0]
        raise PlatformNotFoundError(
            f"{where} is an index of {len(images)} manifests: choose one with --platform (available: {available})"
        )
    wanted = parse_platforms([platform])
    chosen = [d for d in images if platform_matches(d.platform, wanted)]
    if not chosen:
        raise PlatformNotFoundError(f"no manifest in {where} for {platform} (available: {available})")
    return chosen[0]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time stamp of a config or annotation, or None when it is absent or not one."""
    if not isinstance(value, str):
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def _config_fields(config: bytes | None) -> dict[str, Any]:
    if not config:
        return {}
    try:
        body = json.loads(config)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    inner = body.get("config")
    inner = inner if isinstance(inner, dict) else {}
    labels = inner.get("Labels")
    labels = labels if isinstance(labels, dict) else {}
    env = inner.get("Env")
    env = env if isinstance(env, list) else []
    return {
        "created": _parse_time(body.get("created")),
        "architecture": _str(body.get("architecture")),
        "os": _str(body.get("os")),
        "variant": _str(body.get("variant")),
        "author": _str(body.get("author")),
        "labels": {str(k): str(v) for k, v in labels.items()},
        "env": [str(e) for e in env if isinstance(e, str)],
    }


def build_inspection(
    reference: str,
    digest: str,
    media_type: str,
    size: int,
    manifest: OciImageManifest | OciImageIndex | None,
    *,
    config: bytes | None = None,
    index_digest: str | None = None,
) -> ImageInspection:
    """The summary of a manifest (and, for an image, the bytes of its config)."""
    if isinstance(manifest, OciImageIndex):
        entries = [
            IndexEntry(
                digest=d.digest,
                media_type=d.media_type,
                size=d.size,
                platform=_platform_text(d.platform),
                artifact_type=d.artifact_type,
            )
            for d in manifest.manifests
        ]
        return ImageInspection(
            reference=reference,
            digest=digest,
            media_type=media_type,
            size=size,
            artifact_type=manifest.artifact_type,
            platforms=[e.platform for e in entries if e.platform and not e.platform.startswith("unknown/")],
            manifests=entries,
            annotations=_annotations(manifest.annotations),
            subject=manifest.subject.digest if manifest.subject else None,
        )
    if isinstance(manifest, OciImageManifest):
        fields = _config_fields(config)
        layers = [
            LayerInfo(
                digest=layer.digest,
                media_type=layer.media_type,
                size=layer.size,
                annotations=_annotations(layer.annotations) or None,
            )
            for layer in manifest.layers
        ]
        platform = "/".join(
            p for p in (fields.get("os"), fields.get("architecture"), fields.get("variant")) if p
        )
        return ImageInspection(
            reference=reference,
            digest=digest,
            media_type=media_type,
            size=size,
            index_digest=index_digest,
            artifact_type=manifest.artifact_type,
            platforms=[platform] if fields.get("os") and fields.get("architecture") else [],
            config_digest=manifest.config.digest,
            config_media_type=manifest.config.media_type,
            layers=layers,
            total_size=sum(layer.size for layer in layers) + manifest.config.size,
            annotations=_annotations(manifest.annotations),
            subject=manifest.subject.digest if manifest.subject else None,
            **fields,
        )
    return ImageInspection(reference=reference, digest=digest, media_type=media_type, size=size)


def validate_new_tags(tags: Sequence[str]) -> list[str]:
    """The tags, deduplicated in order; at least one."""
    unique = list(dict.fromkeys(tags))
    if not unique:
        raise ValueError("give at least one tag to add")
    return unique
