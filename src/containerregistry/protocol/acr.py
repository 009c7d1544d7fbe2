"""ACR metadata models, enums and their wire conversion (PROTOCOL.md section 5). Pure: no I/O.

The models are what `ContainerRegistryClient`, `ContainerRepository` and `RegistryArtifact` return.
Each is a frozen dataclass with the Python names of DESIGN.md; `_from_wire` reads ACR's JSON
(`createdTime`, `imageSize`, `changeableAttributes`, ...) and `_to_wire` writes the changeable
attributes a PATCH sends (only those that are set).

The enums and audiences are in `protocol.acr_values` and re-exported here. Fields are read
by `protocol._fields`' reader (`ValueError`; an explicit `null` reads as absent) and time stamps by
`protocol.timestamps`, normalised to UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass, field, fields
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar

from . import timestamps
from ._fields import FieldReader
from .acr_values import (
    ArtifactArchitecture,
    ArtifactManifestOrder,
    ArtifactOperatingSystem,
    ArtifactTagOrder,
    ContainerRegistryAudience,
    WireEnum,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "ArtifactArchitecture",
    "ArtifactManifestOrder",
    "ArtifactManifestPlatform",
    "ArtifactManifestProperties",
    "ArtifactOperatingSystem",
    "ArtifactTagOrder",
    "ArtifactTagProperties",
    "ContainerRegistryAudience",
    "RepositoryProperties",
    "changeable_attributes",
    "changeable_update",
    "parse_catalog",
    "parse_delete_repository",
    "parse_manifest_list",
    "parse_manifest_response",
    "parse_rfc3339",
    "parse_tag_list",
    "parse_tag_response",
]

#: The ACR data-plane API version sent as `api-version` on `/acr/v1` calls.
DEFAULT_API_VERSION = "2021-07-01"

_E = TypeVar("_E", bound=WireEnum)

#: The field reader of ACR's answers: `ValueError`, and `null` reads as absent.
_READ = FieldReader(ValueError, null_is_absent=True)


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 time stamp (`protocol.timestamps`) into a timezone-aware UTC `datetime`.

    Any number of fractional digits (ACR sends 7, .NET ticks; digits beyond microseconds are dropped),
    `Z` or `z`, a space instead of `T`, a leap second (read as :59). The offset is required.

    Raises:
        ValueError: `value` is not an RFC 3339 time stamp.
    """
    return timestamps.parse_rfc3339(value).astimezone(timezone.utc)


def _opt_time(data: Mapping[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    return parse_rfc3339(value)


def _str_list(data: Mapping[str, Any], key: str) -> list[str]:
    return _READ.strings(data, key) or []


_CHANGEABLE = (
    ("can_delete", "deleteEnabled"),
    ("can_write", "writeEnabled"),
    ("can_read", "readEnabled"),
    ("can_list", "listEnabled"),
)
_CHANGEABLE_NAMES = frozenset(name for name, _ in _CHANGEABLE)


def _changeable_from_wire(data: Mapping[str, Any]) -> dict[str, bool | None]:
    attributes = data.get("changeableAttributes")
    if attributes is None:
        return {name: None for name, _ in _CHANGEABLE}
    attributes = _READ.object(attributes, "changeableAttributes")
    result: dict[str, bool | None] = {}
    for name, wire in _CHANGEABLE:
        result[name] = _READ.boolean(attributes, wire, "changeableAttributes")
    return result


def changeable_attributes(
    *,
    can_delete: bool | None = None,
    can_write: bool | None = None,
    can_read: bool | None = None,
    can_list: bool | None = None,
) -> dict[str, bool]:
    """The PATCH body of changeable attributes: only the ones that are not None.

    Raises:
        TypeError: a value is not a bool (None means "leave unchanged").
    """
    given = {"can_delete": can_delete, "can_write": can_write, "can_read": can_read, "can_list": can_list}
    body: dict[str, bool] = {}
    for name, wire in _CHANGEABLE:
        value = given[name]
        if value is None:
            continue
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True, False or None, not {type(value).__name__}")
        body[wire] = value
    return body


def changeable_update(
    properties: Any = None,
    *,
    can_delete: bool | None = None,
    can_write: bool | None = None,
    can_read: bool | None = None,
    can_list: bool | None = None,
) -> dict[str, bool]:
    """The PATCH body of an `update_*_properties` call: the set `can_*` of `properties`, then the keywords.

    Keywords win over the properties object. Only what was given is sent (ACR's PATCH is partial).

    Args:
        properties: a `RepositoryProperties`, `ArtifactManifestProperties` or `ArtifactTagProperties`
            (its `can_*` that are not None are sent), or None.
        can_delete, can_write, can_read, can_list: attributes to set; None leaves them unchanged.

    Raises:
        TypeError: `properties` is not a properties model, or a value is not a bool.
        ValueError: nothing would change (no attribute given).
    """
    body: dict[str, bool] = {}
    if properties is not None:
        if not isinstance(properties, _Changeable):
            raise TypeError(
                "properties must be RepositoryProperties, ArtifactManifestProperties or ArtifactTagProperties, "
                f"not {type(properties).__name__}"
            )
        body.update(properties._to_wire())
    body.update(
        changeable_attributes(
            can_delete=can_delete, can_write=can_write, can_read=can_read, can_list=can_list
        )
    )
    if not body:
        raise ValueError(
            "nothing to update: give properties or at least one of can_delete, can_write, can_read, can_list"
        )
    return body


def _format_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return repr(value.value)
    return repr(value)


class _ReadableRepr:
    """A compact repr: fields that are set, time stamps in ISO form, enums as their value."""

    def __repr__(self) -> str:
        parts = []
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if value is None or value == "" or value == []:
                continue
            parts.append(f"{item.name}={_format_value(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class _Changeable:
    """The `_to_wire` shared by every model with changeable attributes, which stay assignable.

    Every field is read-only once set, except `can_delete`, `can_write`, `can_read` and `can_list`, which
    may be assigned (`props.can_write = False`) for the Azure SDK's read-modify-update pattern.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _CHANGEABLE_NAMES:
            if name in self.__dict__:
                raise FrozenInstanceError(
                    f"cannot assign to field {name!r} (only can_delete, can_write, ...)"
                )
        elif value is not None and not isinstance(value, bool):
            raise TypeError(f"{name} must be True, False or None, not {type(value).__name__}")
        object.__setattr__(self, name, value)

    can_delete: bool | None
    can_write: bool | None
    can_read: bool | None
    can_list: bool | None

    def _to_wire(self) -> dict[str, bool]:
        """The changeable attributes that are set, as ACR's JSON (`{"writeEnabled": false, ...}`)."""
        return changeable_attributes(
            can_delete=self.can_delete,
            can_write=self.can_write,
            can_read=self.can_read,
            can_list=self.can_list,
        )


# -- models -----------------------------------------------------------------------------------------


@dataclass(kw_only=True, repr=False, unsafe_hash=True)
class RepositoryProperties(_Changeable, _ReadableRepr):
    """Properties of a repository.

    To update, pass one to `ContainerRepository.update_properties` (only the `can_*` attributes that
    are not None are sent), e.g. `RepositoryProperties(can_delete=False)` or
    `dataclasses.replace(properties, can_write=False)`.

    Attributes:
        name: the repository name (`library/hello-world`).
        registry_login_server: the registry's login server (`myregistry.azurecr.io`).
        created_on: when the repository was created (UTC).
        last_updated_on: when it last changed (UTC).
        manifest_count: how many manifests it holds.
        tag_count: how many tags it holds.
        can_delete: whether it may be deleted.
        can_write: whether it may be written (pushes, overwrites, deletes).
        can_read: whether it may be read (pulls).
        can_list: whether it shows in listings.
    """

    name: str = ""
    registry_login_server: str = ""
    created_on: datetime | None = None
    last_updated_on: datetime | None = None
    manifest_count: int | None = None
    tag_count: int | None = None
    can_delete: bool | None = None
    can_write: bool | None = None
    can_read: bool | None = None
    can_list: bool | None = None

    @classmethod
    def _from_wire(cls, data: Any) -> RepositoryProperties:
        """Read ACR's `RepositoryAttributes` JSON.

        Raises:
            ValueError: the JSON is not shaped like repository attributes.
        """
        data = _READ.object(data, "repository attributes")
        return cls(
            name=_READ.string(data, "imageName") or "",
            registry_login_server=_READ.string(data, "registry") or "",
            created_on=_opt_time(data, "createdTime"),
            last_updated_on=_opt_time(data, "lastUpdateTime"),
            manifest_count=_READ.integer(data, "manifestCount"),
            tag_count=_READ.integer(data, "tagCount"),
            **_changeable_from_wire(data),
        )


@dataclass(frozen=True, repr=False)
class ArtifactManifestPlatform(_ReadableRepr):
    """One manifest an image index refers to, with its platform.

    Attributes:
        digest: the child manifest's digest.
        architecture: its CPU architecture (`ArtifactArchitecture`, or the raw string when unknown).
        operating_system: its OS (`ArtifactOperatingSystem`, or the raw string when unknown).
    """

    digest: str
    architecture: ArtifactArchitecture | str | None = None
    operating_system: ArtifactOperatingSystem | str | None = None

    @classmethod
    def _from_wire(cls, data: Any) -> ArtifactManifestPlatform:
        """Read one entry of a manifest's `references`.

        Raises:
            ValueError: the entry has no digest or wrongly typed fields.
        """
        data = _READ.object(data, "manifest reference")
        digest = _READ.string(data, "digest")
        if not digest:
            raise ValueError("a manifest reference has no 'digest'")
        return cls(
            digest=digest,
            architecture=_enum(ArtifactArchitecture, _READ.string(data, "architecture")),
            operating_system=_enum(ArtifactOperatingSystem, _READ.string(data, "os")),
        )


def _enum(enum: type[_E], value: str | None) -> _E | str | None:
    if value is None or value == "":
        return None
    return enum.from_wire(value)


@dataclass(kw_only=True, repr=False, unsafe_hash=True)
class ArtifactManifestProperties(_Changeable, _ReadableRepr):
    """Properties of a manifest (an image, an index, or another artifact).

    To update, pass one to `RegistryArtifact.update_manifest_properties` (only the `can_*` attributes
    that are not None are sent).

    Attributes:
        digest: the manifest's digest (`sha256:...`).
        repository_name: the repository it is in.
        registry_login_server: the registry's login server.
        size_in_bytes: the image size ACR reports (`imageSize`).
        created_on: when it was pushed (UTC).
        last_updated_on: when it last changed (UTC).
        architecture: CPU architecture (`ArtifactArchitecture`, or the raw string when unknown); None
            for an index or an artifact without a platform.
        operating_system: OS (`ArtifactOperatingSystem`, or the raw string when unknown), or None.
        related_artifacts: for an index, the manifests it refers to with their platforms.
        tags: the tags pointing at it.
        media_type: the manifest's media type.
        config_media_type: the media type of its config blob, if it has one.
        can_delete, can_write, can_read, can_list: its locks.
    """

    digest: str = ""
    repository_name: str = ""
    registry_login_server: str = ""
    size_in_bytes: int | None = None
    created_on: datetime | None = None
    last_updated_on: datetime | None = None
    architecture: ArtifactArchitecture | str | None = None
    operating_system: ArtifactOperatingSystem | str | None = None
    related_artifacts: list[ArtifactManifestPlatform] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    media_type: str | None = None
    config_media_type: str | None = None
    can_delete: bool | None = None
    can_write: bool | None = None
    can_read: bool | None = None
    can_list: bool | None = None

    @property
    def fully_qualified_reference(self) -> str:
        """`<login server>/<repository>@<digest>`."""
        return f"{self.registry_login_server}/{self.repository_name}@{self.digest}"

    @classmethod
    def _from_wire(cls, data: Any, *, registry: str = "", repository: str = "") -> ArtifactManifestProperties:
        """Read ACR's `ManifestAttributesBase` JSON.

        Args:
            data: the manifest object.
            registry: the login server from the enclosing response (`registry`).
            repository: the repository name from the enclosing response (`imageName`).

        Raises:
            ValueError: the JSON is not shaped like manifest attributes.
        """
        data = _READ.object(data, "manifest attributes")
        digest = _READ.string(data, "digest")
        if not digest:
            raise ValueError("manifest attributes have no 'digest'")
        references = _READ.array(data, "references")
        return cls(
            digest=digest,
            repository_name=repository,
            registry_login_server=registry,
            size_in_bytes=_READ.integer(data, "imageSize"),
            created_on=_opt_time(data, "createdTime"),
            last_updated_on=_opt_time(data, "lastUpdateTime"),
            architecture=_enum(ArtifactArchitecture, _READ.string(data, "architecture")),
            operating_system=_enum(ArtifactOperatingSystem, _READ.string(data, "os")),
            related_artifacts=[ArtifactManifestPlatform._from_wire(r) for r in references or []],
            tags=_str_list(data, "tags"),
            media_type=_READ.string(data, "mediaType"),
            config_media_type=_READ.string(data, "configMediaType"),
            **_changeable_from_wire(data),
        )


@dataclass(kw_only=True, repr=False, unsafe_hash=True)
class ArtifactTagProperties(_Changeable, _ReadableRepr):
    """Properties of a tag.

    To update, pass one to `RegistryArtifact.update_tag_properties` (only the `can_*` attributes that
    are not None are sent), e.g. `ArtifactTagProperties(can_write=False, can_delete=False)`.

    Attributes:
        name: the tag.
        digest: the digest of the manifest it points at.
        repository_name: the repository it is in.
        registry_login_server: the registry's login server.
        created_on: when it was created (UTC).
        last_updated_on: when it last changed (UTC).
        can_delete, can_write, can_read, can_list: its locks.
    """

    name: str = ""
    digest: str = ""
    repository_name: str = ""
    registry_login_server: str = ""
    created_on: datetime | None = None
    last_updated_on: datetime | None = None
    can_delete: bool | None = None
    can_write: bool | None = None
    can_read: bool | None = None
    can_list: bool | None = None

    @classmethod
    def _from_wire(cls, data: Any, *, registry: str = "", repository: str = "") -> ArtifactTagProperties:
        """Read ACR's `TagAttributesBase` JSON.

        Args:
            data: the tag object.
            registry: the login server from the enclosing response (`registry`).
            repository: the repository name from the enclosing response (`imageName`).

        Raises:
            ValueError: the JSON is not shaped like tag attributes.
        """
        data = _READ.object(data, "tag attributes")
        name = _READ.string(data, "name")
        if not name:
            raise ValueError("tag attributes have no 'name'")
        return cls(
            name=name,
            digest=_READ.string(data, "digest") or "",
            repository_name=repository,
            registry_login_server=registry,
            created_on=_opt_time(data, "createdTime"),
            last_updated_on=_opt_time(data, "lastUpdateTime"),
            **_changeable_from_wire(data),
        )


# -- response bodies --------------------------------------------------------------------------------


def _envelope(body: Any, what: str) -> tuple[Mapping[str, Any], str, str]:
    document = _READ.object(body, what)
    return document, _READ.string(document, "registry") or "", _READ.string(document, "imageName") or ""


def parse_catalog(body: Any) -> list[str]:
    """Repository names of a `GET /acr/v1/_catalog` (or `/v2/_catalog`) response.

    Raises:
        ValueError: the body is not `{"repositories": [str, ...]}`.
    """
    return _str_list(_READ.object(body, "the catalog"), "repositories")


def parse_tag_list(body: Any) -> list[ArtifactTagProperties]:
    """Tags of a `GET /acr/v1/{name}/_tags` response.

    Raises:
        ValueError: the body is malformed.
    """
    document, registry, repository = _envelope(body, "the tag list")
    tags = _READ.array(document, "tags") or []
    return [ArtifactTagProperties._from_wire(t, registry=registry, repository=repository) for t in tags]


def parse_tag_response(body: Any) -> ArtifactTagProperties:
    """The tag of a `GET`/`PATCH /acr/v1/{name}/_tags/{tag}` response.

    Raises:
        ValueError: the body is malformed.
    """
    document, registry, repository = _envelope(body, "the tag")
    return ArtifactTagProperties._from_wire(document.get("tag"), registry=registry, repository=repository)


def parse_manifest_list(body: Any) -> list[ArtifactManifestProperties]:
    """Manifests of a `GET /acr/v1/{name}/_manifests` response.

    Raises:
        ValueError: the body is malformed.
    """
    document, registry, repository = _envelope(body, "the manifest list")
    manifests = _READ.array(document, "manifests") or []
    return [
        ArtifactManifestProperties._from_wire(m, registry=registry, repository=repository) for m in manifests
    ]


def parse_manifest_response(body: Any) -> ArtifactManifestProperties:
    """The manifest of a `GET`/`PATCH /acr/v1/{name}/_manifests/{digest}` response.

    Raises:
        ValueError: the body is malformed.
    """
    document, registry, repository = _envelope(body, "the manifest")
    return ArtifactManifestProperties._from_wire(
        document.get("manifest"), registry=registry, repository=repository
    )


def parse_delete_repository(body: Any) -> tuple[list[str], list[str]]:
    """`(manifests deleted, tags deleted)` of a `DELETE /acr/v1/{name}` response (empty body: nothing listed).

    Raises:
        ValueError: the body is malformed.
    """
    if body is None:
        return [], []
    document = _READ.object(body, "the delete result")
    return _str_list(document, "manifestsDeleted"), _str_list(document, "tagsDeleted")
