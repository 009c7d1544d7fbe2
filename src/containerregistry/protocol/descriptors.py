"""The parts every manifest is made of: descriptors, platforms and annotations (PROTOCOL.md section 3).

`OciDescriptor`, `Platform` and `OciAnnotations`, with exact JSON round trips, and `ManifestFormatError`,
which they and the documents made of them (`protocol.models`) raise, naming the field with its path.
Fields are read by `protocol._fields`' reader (an explicit `null` is a wrong type: the image spec has no
nullable field); the `created` annotation by `protocol.timestamps`. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..exceptions import InvalidReferenceError, ManifestFormatError
from ._fields import FieldReader, type_name, where
from .reference import validate_digest
from .timestamps import parse_rfc3339

__all__ = ["ManifestFormatError", "OciAnnotations", "OciDescriptor", "Platform"]


#: The field reader of the OCI models: `ManifestFormatError`, `null` is a wrong type.
_READ = FieldReader(ManifestFormatError)


def _digest(d: Mapping[str, Any], key: str, path: str) -> str:
    value = _READ.string(d, key, path, required=True)
    assert value is not None  # required=True raised otherwise
    try:
        # Digests end up in URLs and file paths: only the strict sha256/sha512 forms are accepted.
        return validate_digest(value)
    except InvalidReferenceError as exc:
        raise ManifestFormatError(f"{where(path, key)}: {exc}") from exc


def _size(d: Mapping[str, Any], path: str) -> int:
    size = _READ.integer(d, "size", path, required=True, non_negative=True)
    assert size is not None  # required=True raised otherwise
    return size


def _annotations_field(d: Mapping[str, Any], key: str, path: str) -> OciAnnotations | None:
    """The annotations object at `key`, or None when absent."""
    if key not in d:
        return None
    return OciAnnotations.from_dict(d[key], path=where(path, key))


def _extra_fields(d: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The fields of `d` not in `known`, deep-copied (kept in `extra` and written back)."""
    known_keys = set(known)
    # Deep copies: the model must not share mutable JSON with the caller's dict.
    return {k: copy.deepcopy(v) for k, v in d.items() if k not in known_keys}


def _put_extra(out: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`out` with the `extra` fields added after the modelled ones (a modelled field wins)."""
    for key, value in extra.items():
        if key not in out:  # a modelled field always wins over a stray duplicate in `extra`
            out[key] = copy.deepcopy(value)
    return out


def _parse_created(text: str) -> datetime | None:
    """An RFC 3339 time stamp (`created` annotation, image config), or None when it is not one."""
    try:
        return parse_rfc3339(text)
    except ValueError:
        return None


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
        obj = _READ.object(value, path)
        for key, item in obj.items():
            if not isinstance(item, str):
                raise ManifestFormatError(f"{path}[{key!r}] must be a string, got {type_name(item)}")
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
        return _parse_created(raw) if raw is not None else None

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
        d = _READ.object(value, path)
        architecture = _READ.string(d, "architecture", path, required=True)
        os_name = _READ.string(d, "os", path, required=True)
        assert architecture is not None and os_name is not None
        return cls(
            architecture=architecture,
            os=os_name,
            os_version=_READ.string(d, "os.version", path),
            os_features=_READ.strings(d, "os.features", path),
            variant=_READ.string(d, "variant", path),
            features=_READ.strings(d, "features", path),
            extra=_extra_fields(d, _PLATFORM_KEYS),
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
        d = _READ.object(value, path)
        media_type = _READ.string(d, "mediaType", path, required=True)
        assert media_type is not None
        data = None
        encoded = _READ.string(d, "data", path)
        if encoded is not None:
            try:
                data = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ManifestFormatError(f"{where(path, 'data')} is not valid base64") from exc
            # Non-canonical base64 would not survive the round trip byte for byte.
            if base64.b64encode(data).decode("ascii") != encoded:
                raise ManifestFormatError(f"{where(path, 'data')} is not canonical base64 (RFC 4648)")
        platform = None
        if "platform" in d:
            platform = Platform.from_dict(d["platform"], path=where(path, "platform"))
        return cls(
            media_type=media_type,
            digest=_digest(d, "digest", path),
            size=_size(d, path),
            urls=_READ.strings(d, "urls", path),
            annotations=_annotations_field(d, "annotations", path),
            data=data,
            artifact_type=_READ.string(d, "artifactType", path),
            platform=platform,
            extra=_extra_fields(d, _DESCRIPTOR_KEYS),
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
