"""OCI image manifest and image index models, and `parse_manifest` (PROTOCOL.md section 3).

The documents are made of descriptors, platforms and annotations: those models, and `ManifestFormatError`,
are in `protocol.descriptors` and re-exported here, where they have always been imported from. Manifest
bytes are read as strict JSON (UTF-8, no duplicate keys, no NaN). The models are plain dataclasses with exact JSON round trips: `from_dict(x).to_dict() == x` for every
valid `x`, including Docker v2 manifests and manifest lists (same shapes, different media types).
Unknown fields at any level are kept in `extra` and written back; a field that was absent stays absent
(`None`), one that was present but empty (`"annotations": {}`) stays present. Unknown media types are
kept as they are. `from_dict` checks shapes (types, required fields, digest syntax) and raises
`ManifestFormatError` naming the offending field; it does not fetch or verify any content.
(`ManifestFormatError` is a `RegistryError` defined in `containerregistry.exceptions`; it is re-exported
here, where it always was.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._fields import where
from .descriptors import (
    _READ,
    ManifestFormatError,
    OciAnnotations,
    OciDescriptor,
    Platform,
    _annotations_field,
    _extra_fields,
    _parse_created,
    _put_extra,
)
from .digest import compute_digest
from .media_types import DOCKER_MANIFEST, INDEX_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST

__all__ = [
    "ManifestFormatError",
    "OciAnnotations",
    "OciDescriptor",
    "OciImageIndex",
    "OciImageManifest",
    "Platform",
    "blob_descriptors",
    "child_descriptors",
    "descriptor_for",
    "parse_manifest",
]

# The lenient time stamp reader under its old name: images/_inspect.py imports it from here.
_parse_rfc3339 = _parse_created

# Manifest types whose shape is `config` + `layers` (the ORAS artifact manifest is not: it has `blobs`).
_IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
# Content types that say nothing about which manifest this is; the body decides.
_GENERIC_CONTENT_TYPES = frozenset({"", "application/json", "application/octet-stream", "text/plain"})


def _descriptor_list(d: Mapping[str, Any], key: str, path: str) -> list[OciDescriptor]:
    items = _READ.array(d, key, path, required=True, of="descriptors")
    assert items is not None  # required=True raised otherwise
    at = where(path, key)
    return [OciDescriptor.from_dict(item, path=f"{at}[{i}]") for i, item in enumerate(items)]


def _optional_descriptor(d: Mapping[str, Any], key: str, path: str) -> OciDescriptor | None:
    if key not in d:
        return None
    return OciDescriptor.from_dict(d[key], path=where(path, key))


def _schema_version(d: Mapping[str, Any], path: str) -> int:
    value = _READ.integer(d, "schemaVersion", path, required=True)
    assert value is not None  # required=True raised otherwise
    return value


def _loads(content: bytes | bytearray | memoryview | str) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, no duplicate keys.

    Duplicate keys are refused because parsers disagree on which one wins, and a manifest that means
    different things to the registry and to us is an attack, not a format.
    """

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise ManifestFormatError(f"invalid manifest JSON: duplicate key {key!r}")
            obj[key] = value
        return obj

    def no_constants(name: str) -> Any:
        raise ManifestFormatError(f"invalid manifest JSON: {name} is not JSON")

    try:
        text = content if isinstance(content, str) else bytes(content).decode("utf-8")
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except ManifestFormatError:
        raise
    except UnicodeDecodeError as exc:
        raise ManifestFormatError(f"invalid manifest: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except RecursionError as exc:
        raise ManifestFormatError("invalid manifest JSON: nested too deeply") from exc
    except ValueError as exc:
        raise ManifestFormatError(f"invalid manifest JSON: {exc}") from exc


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_MANIFEST_KEYS = ("schemaVersion", "mediaType", "artifactType", "config", "layers", "subject", "annotations")


@dataclass
class OciImageManifest:
    """An OCI image manifest or Docker v2 manifest (`config` + `layers`).

    `media_type` defaults to the OCI type for new manifests; it is None when a parsed manifest had
    no `mediaType` field (allowed for OCI), so the round trip keeps it absent.

    Attributes:
        config: the config blob's descriptor (`application/vnd.oci.empty.v1+json` for artifacts).
        layers: the layer descriptors, in order.
        schema_version: `schemaVersion`, 2.
        media_type: `mediaType`, or None when absent.
        artifact_type: `artifactType` (required by the spec when the config is the empty type).
        subject: the manifest this one refers to (signatures, SBOMs, attestations).
        annotations: `annotations`, or None when absent.
        extra: unknown top-level fields, written back as they came.
    """

    config: OciDescriptor
    layers: list[OciDescriptor] = field(default_factory=list)
    schema_version: int = 2
    media_type: str | None = OCI_MANIFEST
    artifact_type: str | None = None
    subject: OciDescriptor | None = None
    annotations: OciAnnotations | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, value: Any) -> OciImageManifest:
        """Build from a parsed JSON object.

        Raises:
            ManifestFormatError: naming the first field with a wrong shape (also when `mediaType`
                names an index type).
        """
        d = _READ.object(value, "manifest")
        media_type = _READ.string(d, "mediaType", "")
        if media_type in INDEX_MEDIA_TYPES:
            raise ManifestFormatError(f"mediaType {media_type!r} is an index type, not an image manifest")
        schema_version = _schema_version(d, "")
        _READ.require(d, "config", "")
        config = OciDescriptor.from_dict(d["config"], path="config")
        return cls(
            config=config,
            layers=_descriptor_list(d, "layers", ""),
            schema_version=schema_version,
            media_type=media_type,
            artifact_type=_READ.string(d, "artifactType", ""),
            subject=_optional_descriptor(d, "subject", ""),
            annotations=_annotations_field(d, "annotations", ""),
            extra=_extra_fields(d, _MANIFEST_KEYS),
        )

    @classmethod
    def from_bytes(cls, content: bytes) -> OciImageManifest:
        """Parse manifest bytes (strict JSON: UTF-8, no duplicate keys).

        Raises:
            ManifestFormatError: invalid JSON or a wrong shape.
        """
        return cls.from_dict(_loads(content))

    def to_dict(self) -> dict[str, Any]:
        """JSON object in spec order; absent fields are omitted."""
        out: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type is not None:
            out["mediaType"] = self.media_type
        if self.artifact_type is not None:
            out["artifactType"] = self.artifact_type
        out["config"] = self.config.to_dict()
        out["layers"] = [layer.to_dict() for layer in self.layers]
        if self.subject is not None:
            out["subject"] = self.subject.to_dict()
        if self.annotations is not None:
            out["annotations"] = dict(self.annotations)
        return _put_extra(out, self.extra)

    def to_bytes(self) -> bytes:
        """Serialize a NEW manifest: compact JSON, keys in spec order, UTF-8.

        Never use this to re-push a manifest that was pulled: JSON has many encodings of the same
        document and the digest is of the bytes, so clients keep and re-send the original bytes.
        """
        return _dumps(self.to_dict())


_INDEX_KEYS = ("schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations")


@dataclass
class OciImageIndex:
    """An OCI image index or Docker manifest list (`manifests`).

    `media_type` defaults to the OCI type for new indexes; it is None when a parsed index had no
    `mediaType` field, so the round trip keeps it absent.

    Attributes:
        manifests: the child manifest descriptors (usually with `platform`).
        schema_version: `schemaVersion`, 2.
        media_type: `mediaType`, or None when absent.
        artifact_type: `artifactType`.
        subject: the manifest this index refers to.
        annotations: `annotations`, or None when absent.
        extra: unknown top-level fields, written back as they came.
    """

    manifests: list[OciDescriptor] = field(default_factory=list)
    schema_version: int = 2
    media_type: str | None = OCI_INDEX
    artifact_type: str | None = None
    subject: OciDescriptor | None = None
    annotations: OciAnnotations | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, value: Any) -> OciImageIndex:
        """Build from a parsed JSON object.

        Raises:
            ManifestFormatError: naming the first field with a wrong shape (also when `mediaType`
                names an image manifest type).
        """
        d = _READ.object(value, "index")
        media_type = _READ.string(d, "mediaType", "")
        if media_type in _IMAGE_MANIFEST_TYPES:
            raise ManifestFormatError(f"mediaType {media_type!r} is an image manifest type, not an index")
        schema_version = _schema_version(d, "")
        return cls(
            manifests=_descriptor_list(d, "manifests", ""),
            schema_version=schema_version,
            media_type=media_type,
            artifact_type=_READ.string(d, "artifactType", ""),
            subject=_optional_descriptor(d, "subject", ""),
            annotations=_annotations_field(d, "annotations", ""),
            extra=_extra_fields(d, _INDEX_KEYS),
        )

    @classmethod
    def from_bytes(cls, content: bytes) -> OciImageIndex:
        """Parse index bytes (strict JSON: UTF-8, no duplicate keys).

        Raises:
            ManifestFormatError: invalid JSON or a wrong shape.
        """
        return cls.from_dict(_loads(content))

    def to_dict(self) -> dict[str, Any]:
        """JSON object in spec order; absent fields are omitted."""
        out: dict[str, Any] = {"schemaVersion": self.schema_version}
        if self.media_type is not None:
            out["mediaType"] = self.media_type
        if self.artifact_type is not None:
            out["artifactType"] = self.artifact_type
        out["manifests"] = [m.to_dict() for m in self.manifests]
        if self.subject is not None:
            out["subject"] = self.subject.to_dict()
        if self.annotations is not None:
            out["annotations"] = dict(self.annotations)
        return _put_extra(out, self.extra)

    def to_bytes(self) -> bytes:
        """Serialize a NEW index: compact JSON, keys in spec order, UTF-8.

        Never use this to re-push an index that was pulled: keep and re-send the original bytes
        (the digest is of the bytes, and JSON has many encodings of the same document).
        """
        return _dumps(self.to_dict())


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _essence(media_type: str | None) -> str:
    # `application/vnd.oci.image.manifest.v1+json; charset=utf-8` -> the type without parameters.
    return (media_type or "").split(";", 1)[0].strip().lower()


def parse_manifest(content: bytes, media_type: str | None = None) -> OciImageManifest | OciImageIndex | None:
    """Parse manifest bytes into the matching model.

    The kind is decided by `media_type` (the response `Content-Type`) when it names a type; else by
    the JSON `mediaType` field; else by shape (`manifests` means an index, `config` a manifest).
    OCI indexes and Docker manifest lists become `OciImageIndex`; OCI and Docker v2 image manifests
    become `OciImageManifest`.

    Args:
        content: the manifest bytes as received.
        media_type: the response `Content-Type`, if known. Generic types (`application/json`) are
            ignored in favour of the body.

    Returns:
        The model, or None for media types this library does not model (Docker schema 1, ORAS
        artifact manifests, anything unknown): those are still valid manifests, just not parsed.

    Raises:
        ManifestFormatError: the content is not valid JSON, or not a valid manifest of its type.
    """
    declared = _essence(media_type)
    if declared not in _GENERIC_CONTENT_TYPES:
        if declared not in INDEX_MEDIA_TYPES and declared not in _IMAGE_MANIFEST_TYPES:
            return None  # unknown types need not even be JSON
        document = _READ.object(_loads(content), "manifest")
    else:
        document = _READ.object(_loads(content), "manifest")
        body_type = document.get("mediaType")
        if isinstance(body_type, str):
            declared = _essence(body_type)
            if declared not in INDEX_MEDIA_TYPES and declared not in _IMAGE_MANIFEST_TYPES:
                return None
        elif "manifests" in document:
            declared = OCI_INDEX
        elif "config" in document:
            declared = OCI_MANIFEST
        else:
            return None
    if declared in INDEX_MEDIA_TYPES:
        index = OciImageIndex.from_dict(document)
        _check_body_type(index.media_type, declared)
        return index
    manifest = OciImageManifest.from_dict(document)
    _check_body_type(manifest.media_type, declared)
    return manifest


def _check_body_type(body_type: str | None, declared: str) -> None:
    # The registry must serve a manifest with Content-Type equal to its mediaType; a mismatch means
    # someone is confused about what these bytes are.
    if body_type is not None and _essence(body_type) != declared:
        raise ManifestFormatError(f"mediaType {body_type!r} does not match the content type {declared!r}")


def descriptor_for(
    content: bytes,
    media_type: str,
    *,
    urls: list[str] | None = None,
    annotations: Mapping[str, str] | None = None,
    data: bytes | None = None,
    artifact_type: str | None = None,
    platform: Platform | None = None,
    algorithm: str = "sha256",
) -> OciDescriptor:
    """A descriptor for `content`: its digest and size computed, the other fields as given.

    Args:
        content: the blob or manifest bytes.
        media_type: their media type.
        urls, annotations, data, artifact_type, platform: optional descriptor fields.
        algorithm: the digest algorithm (`sha256` or `sha512`).
    """
    return OciDescriptor(
        media_type=media_type,
        digest=compute_digest(content, algorithm),
        size=len(content),
        urls=list(urls) if urls is not None else None,
        annotations=OciAnnotations(annotations) if annotations is not None else None,
        data=data,
        artifact_type=artifact_type,
        platform=platform,
    )


def blob_descriptors(manifest: OciImageManifest) -> list[OciDescriptor]:
    """The blobs an image manifest references: its config, then its layers in order."""
    return [manifest.config, *manifest.layers]


def child_descriptors(index: OciImageIndex) -> list[OciDescriptor]:
    """The manifests an index references, in order."""
    return list(index.manifests)
