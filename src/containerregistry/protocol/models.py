"""OCI image manifest, image index, descriptor, platform and annotation models (PROTOCOL.md section 3).

The models are plain dataclasses with exact JSON round trips: `from_dict(x).to_dict() == x` for every
valid `x`, including Docker v2 manifests and manifest lists (same shapes, different media types).
Unknown fields at any level are kept in `extra` and written back; a field that was absent stays absent
(`None`), one that was present but empty (`"annotations": {}`) stays present. Unknown media types are
kept as they are. `from_dict` checks shapes (types, required fields, digest syntax) and raises
`ManifestFormatError` naming the offending field; it does not fetch or verify any content.
(`ManifestFormatError` is a `RegistryError` defined in `containerregistry.exceptions`; it is re-exported
here, where it always was.)
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..exceptions import InvalidReferenceError, ManifestFormatError
from .digest import compute_digest
from .media_types import DOCKER_MANIFEST, INDEX_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST
from .reference import validate_digest

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

# Manifest types whose shape is `config` + `layers` (the ORAS artifact manifest is not: it has `blobs`).
_IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
# Content types that say nothing about which manifest this is; the body decides.
_GENERIC_CONTENT_TYPES = frozenset({"", "application/json", "application/octet-stream", "text/plain"})

_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


# ---------------------------------------------------------------------------------------------------------
# Field readers: each takes the JSON object, the key and the path used in error messages.


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _require_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestFormatError(f"{path or 'document'} must be a JSON object, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _missing(d: Mapping[str, Any], key: str, path: str) -> None:
    if key not in d:
        raise ManifestFormatError(f"{_where(path, key)} is required but missing")


def _str(d: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
    if key not in d:
        if required:
            _missing(d, key, path)
        return None
    value = d[key]
    if not isinstance(value, str):
        raise ManifestFormatError(f"{_where(path, key)} must be a string, got {_type_name(value)}")
    return value


def _str_list(d: Mapping[str, Any], key: str, path: str) -> list[str] | None:
    if key not in d:
        return None
    value = d[key]
    if not isinstance(value, list):
        raise ManifestFormatError(f"{_where(path, key)} must be an array of strings, got {_type_name(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ManifestFormatError(f"{_where(path, key)}[{i}] must be a string, got {_type_name(item)}")
    return list(value)


def _int(d: Mapping[str, Any], key: str, path: str) -> int:
    _missing(d, key, path)
    value = d[key]
    # bool is an int subclass in Python, but `true` is not a size.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ManifestFormatError(f"{_where(path, key)} must be an integer, got {_type_name(value)}")
    if value < 0:
        raise ManifestFormatError(f"{_where(path, key)} must not be negative, got {value}")
    return value


def _digest(d: Mapping[str, Any], key: str, path: str) -> str:
    value = _str(d, key, path, required=True)
    assert value is not None  # required=True raised otherwise
    try:
        # Digests end up in URLs and file paths: only the strict sha256/sha512 forms are accepted.
        return validate_digest(value)
    except InvalidReferenceError as exc:
        raise ManifestFormatError(f"{_where(path, key)}: {exc}") from exc


def _annotations(d: Mapping[str, Any], key: str, path: str) -> OciAnnotations | None:
    if key not in d:
        return None
    return OciAnnotations.from_dict(d[key], path=_where(path, key))


def _extra(d: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    known_keys = set(known)
    # Deep copies: the model must not share mutable JSON with the caller's dict.
    return {k: copy.deepcopy(v) for k, v in d.items() if k not in known_keys}


def _put_extra(out: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if key not in out:  # a modelled field always wins over a stray duplicate in `extra`
            out[key] = copy.deepcopy(value)
    return out


def _parse_rfc3339(text: str) -> datetime | None:
    match = _RFC3339_RE.fullmatch(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ""
    # Python keeps microseconds; longer fractions (Go writes nanoseconds) are truncated, not rounded.
    microsecond = int((fraction + "000000")[:6])
    if match.group(8):
        tz = timezone.utc
    else:
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        if offset >= timedelta(hours=24):
            return None
        tz = timezone(-offset if match.group(9) == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), microsecond, tzinfo=tz)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------
# Models


class OciAnnotations(dict[str, str]):
    """Annotations: a `dict[str, str]` with read-only properties for the well-known keys.

    Every key stays in the dict as given (including unknown ones and unparsable values); the
    properties only read it. `created` parses the RFC 3339 timestamp and is None when it cannot.
    """

    PREFIX = "org.opencontainers.image."

    @classmethod
    def from_dict(cls, value: Any, *, path: str = "annotations") -> OciAnnotations:
        """Validate a JSON object of string to string and wrap it.

        Raises:
            ManifestFormatError: `value` is not an object or has a non-string value.
        """
        obj = _require_object(value, path)
        for key, item in obj.items():
            if not isinstance(item, str):
                raise ManifestFormatError(f"{path}[{key!r}] must be a string, got {_type_name(item)}")
        return cls(obj)

    def to_dict(self) -> dict[str, str]:
        """A plain dict copy, for JSON."""
        return dict(self)

    def _get(self, name: str) -> str | None:
        return self.get(self.PREFIX + name)

    @property
    def created(self) -> datetime | None:
        """`org.opencontainers.image.created` as an aware datetime, or None when absent or unparsable."""
        raw = self._get("created")
        return _parse_rfc3339(raw) if raw is not None else None

    @property
    def created_raw(self) -> str | None:
        """`org.opencontainers.image.created` exactly as written."""
        return self._get("created")

    @property
    def authors(self) -> str | None:
        """`org.opencontainers.image.authors`."""
        return self._get("authors")

    @property
    def url(self) -> str | None:
        """`org.opencontainers.image.url`."""
        return self._get("url")

    @property
    def documentation(self) -> str | None:
        """`org.opencontainers.image.documentation`."""
        return self._get("documentation")

    @property
    def source(self) -> str | None:
        """`org.opencontainers.image.source`."""
        return self._get("source")

    @property
    def version(self) -> str | None:
        """`org.opencontainers.image.version`."""
        return self._get("version")

    @property
    def revision(self) -> str | None:
        """`org.opencontainers.image.revision`."""
        return self._get("revision")

    @property
    def vendor(self) -> str | None:
        """`org.opencontainers.image.vendor`."""
        return self._get("vendor")

    @property
    def licenses(self) -> str | None:
        """`org.opencontainers.image.licenses` (an SPDX expression)."""
        return self._get("licenses")

    @property
    def name(self) -> str | None:
        """`org.opencontainers.image.ref.name`."""
        return self._get("ref.name")

    @property
    def title(self) -> str | None:
        """`org.opencontainers.image.title`."""
        return self._get("title")

    @property
    def description(self) -> str | None:
        """`org.opencontainers.image.description`."""
        return self._get("description")

    @property
    def base_digest(self) -> str | None:
        """`org.opencontainers.image.base.digest`."""
        return self._get("base.digest")

    @property
    def base_name(self) -> str | None:
        """`org.opencontainers.image.base.name`."""
        return self._get("base.name")


_PLATFORM_KEYS = ("architecture", "os", "os.version", "os.features", "variant", "features")


@dataclass
class Platform:
    """The platform of an index entry: `architecture` and `os` are required; unknown values are kept.

    Attestation manifests use `unknown`/`unknown`, which is valid here.
    """

    architecture: str
    os: str
    os_version: str | None = None
    os_features: list[str] | None = None
    variant: str | None = None
    features: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, value: Any, *, path: str = "platform") -> Platform:
        """Build from JSON (`os.version` and `os.features` keys).

        Raises:
            ManifestFormatError: naming the field with the wrong shape.
        """
        d = _require_object(value, path)
        architecture = _str(d, "architecture", path, required=True)
        os_name = _str(d, "os", path, required=True)
        assert architecture is not None and os_name is not None
        return cls(
            architecture=architecture,
            os=os_name,
            os_version=_str(d, "os.version", path),
            os_features=_str_list(d, "os.features", path),
            variant=_str(d, "variant", path),
            features=_str_list(d, "features", path),
            extra=_extra(d, _PLATFORM_KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON object in spec order; absent fields are omitted."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version is not None:
            out["os.version"] = self.os_version
        if self.os_features is not None:
            out["os.features"] = list(self.os_features)
        if self.variant is not None:
            out["variant"] = self.variant
        if self.features is not None:
            out["features"] = list(self.features)
        return _put_extra(out, self.extra)

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


_DESCRIPTOR_KEYS = ("mediaType", "digest", "size", "urls", "annotations", "data", "artifactType", "platform")


@dataclass
class OciDescriptor:
    """A content descriptor: what a manifest or index says about a blob or manifest it references.

    Attributes:
        media_type: the referenced content's media type (unknown types are kept).
        digest: `sha256:<64 hex>` or `sha512:<128 hex>`.
        size: the content's length in bytes.
        urls: alternative download URLs (`urls`).
        annotations: `annotations`, or None when absent.
        data: the embedded content (`data`, base64 on the wire), or None.
        artifact_type: `artifactType` (referrers and index entries).
        platform: `platform` (index entries).
        extra: unknown fields, written back as they came.
    """

    media_type: str
    digest: str
    size: int
    urls: list[str] | None = None
    annotations: OciAnnotations | None = None
    data: bytes | None = None
    artifact_type: str | None = None
    platform: Platform | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, value: Any, *, path: str = "descriptor") -> OciDescriptor:
        """Build from JSON.

        Raises:
            ManifestFormatError: a required field is missing, has the wrong type, the digest is
                malformed, the size is negative or `data` is not canonical base64.
        """
        d = _require_object(value, path)
        media_type = _str(d, "mediaType", path, required=True)
        assert media_type is not None
        data = None
        encoded = _str(d, "data", path)
        if encoded is not None:
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ManifestFormatError(f"{_where(path, 'data')} is not valid base64") from exc
            # Non-canonical base64 would not survive the round trip byte for byte.
            if base64.b64encode(data).decode("ascii") != encoded:
                raise ManifestFormatError(f"{_where(path, 'data')} is not canonical base64 (RFC 4648)")
        platform = None
        if "platform" in d:
            platform = Platform.from_dict(d["platform"], path=_where(path, "platform"))
        return cls(
            media_type=media_type,
            digest=_digest(d, "digest", path),
            size=_int(d, "size", path),
            urls=_str_list(d, "urls", path),
            annotations=_annotations(d, "annotations", path),
            data=data,
            artifact_type=_str(d, "artifactType", path),
            platform=platform,
            extra=_extra(d, _DESCRIPTOR_KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON object in spec order; absent fields are omitted."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls is not None:
            out["urls"] = list(self.urls)
        if self.annotations is not None:
            out["annotations"] = dict(self.annotations)
        if self.data is not None:
            out["data"] = base64.b64encode(self.data).decode("ascii")
        if self.artifact_type is not None:
            out["artifactType"] = self.artifact_type
        if self.platform is not None:
            out["platform"] = self.platform.to_dict()
        return _put_extra(out, self.extra)


def _descriptor_list(d: Mapping[str, Any], key: str, path: str) -> list[OciDescriptor]:
    _missing(d, key, path)
    value = d[key]
    where = _where(path, key)
    if not isinstance(value, list):
        raise ManifestFormatError(f"{where} must be an array of descriptors, got {_type_name(value)}")
    return [OciDescriptor.from_dict(item, path=f"{where}[{i}]") for i, item in enumerate(value)]


def _optional_descriptor(d: Mapping[str, Any], key: str, path: str) -> OciDescriptor | None:
    if key not in d:
        return None
    return OciDescriptor.from_dict(d[key], path=_where(path, key))


def _schema_version(d: Mapping[str, Any], path: str) -> int:
    _missing(d, "schemaVersion", path)
    value = d["schemaVersion"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ManifestFormatError(
            f"{_where(path, 'schemaVersion')} must be an integer, got {_type_name(value)}"
        )
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
        d = _require_object(value, "manifest")
        media_type = _str(d, "mediaType", "")
        if media_type in INDEX_MEDIA_TYPES:
            raise ManifestFormatError(f"mediaType {media_type!r} is an index type, not an image manifest")
        schema_version = _schema_version(d, "")
        _missing(d, "config", "")
        config = OciDescriptor.from_dict(d["config"], path="config")
        return cls(
            config=config,
            layers=_descriptor_list(d, "layers", ""),
            schema_version=schema_version,
            media_type=media_type,
            artifact_type=_str(d, "artifactType", ""),
            subject=_optional_descriptor(d, "subject", ""),
            annotations=_annotations(d, "annotations", ""),
            extra=_extra(d, _MANIFEST_KEYS),
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
        d = _require_object(value, "index")
        media_type = _str(d, "mediaType", "")
        if media_type in _IMAGE_MANIFEST_TYPES:
            raise ManifestFormatError(f"mediaType {media_type!r} is an image manifest type, not an index")
        schema_version = _schema_version(d, "")
        return cls(
            manifests=_descriptor_list(d, "manifests", ""),
            schema_version=schema_version,
            media_type=media_type,
            artifact_type=_str(d, "artifactType", ""),
            subject=_optional_descriptor(d, "subject", ""),
            annotations=_annotations(d, "annotations", ""),
            extra=_extra(d, _INDEX_KEYS),
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
        document = _require_object(_loads(content), "manifest")
    else:
        document = _require_object(_loads(content), "manifest")
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
