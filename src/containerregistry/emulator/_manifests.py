"""Manifest validation of the emulator: what a manifest PUT must look like to be stored, and what is
stored about it (`parse_manifest` -> `ManifestRecord`).

The OCI image-spec and distribution-spec checks (JSON object, `schemaVersion`, `mediaType` against the
`Content-Type`, descriptors, references to blobs and manifests that exist in the repository), and where
they follow ACR rather than the letter of the OCI spec. Measured with ACR's own SDK (its recorded
sessions against real registries):

* ACR accepts descriptors that carry `sizeInBytes` (the field name of the ACR SDK's models) and no
  `size` (201). Unless the emulator runs with `--strict-oci` (`strict_oci=True`), such a descriptor is
  read as having that size; the stored manifest keeps its bytes as sent.
* ACR refuses a manifest body without `mediaType` PUT with a Docker v2 `Content-Type` (400
  MANIFEST_INVALID): Docker's image manifest schema 2 requires the field, and Distribution, which ACR
  builds on, checks it. This holds with and without `--strict-oci`.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import InvalidReferenceError
from ..protocol import media_types as mt
from ..protocol.reference import validate_digest
from ._blobio import read_small_file
from ._errors import OciError
from ._json import JsonTooDeepError, loads_json
from ._storage import ManifestRecord, Storage

__all__ = ["check_docker_media_type", "parse_manifest", "read_size_in_bytes"]

_CONFIG_LIMIT = 1 << 20
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


async def parse_manifest(
    storage: Storage, name: str, body: bytes, digest: str, header_type: str, *, strict_oci: bool
) -> ManifestRecord:
    """Validate a manifest PUT to `name` and describe what to store (`ManifestRecord`).

    Every blob and child manifest it references must already be in the repository (foreign layers with
    `urls` excepted); an image config's platform is read from its blob.

    Raises:
        OciError: 400 MANIFEST_INVALID or MANIFEST_BLOB_UNKNOWN.
    """
    try:
        doc = loads_json(body)
    except JsonTooDeepError as exc:
        raise _invalid(f"the manifest is not acceptable: {exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise _invalid("the manifest is not valid JSON") from None
    if not isinstance(doc, dict):
        raise _invalid("the manifest must be a JSON object")
    check_docker_media_type(header_type, doc)  # ACR's rules: see the module docstring
    if not strict_oci:
        doc = read_size_in_bytes(doc)
    field_type = doc.get("mediaType")
    if field_type is not None and (not isinstance(field_type, str) or not field_type):
        raise _invalid("mediaType must be a string")
    if field_type and header_type and header_type != field_type:
        raise _invalid(
            f"Content-Type {header_type[:100]!r} does not match the manifest's mediaType {field_type[:100]!r}"
        )
    media_type = field_type or header_type or (mt.OCI_INDEX if "manifests" in doc else mt.OCI_MANIFEST)
    version = doc.get("schemaVersion")
    if "schemaVersion" in doc and (version != 2 or isinstance(version, bool)):
        raise _invalid("schemaVersion must be 2")
    for key in ("artifactType",):
        if key in doc and not isinstance(doc[key], str):
            raise _invalid(f"{key} must be a string")
    annotations = doc.get("annotations")
    if annotations is not None and not (
        isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values())
    ):
        raise _invalid("annotations must be an object of strings")
    subject = _descriptor(doc["subject"], "subject") if "subject" in doc else None
    is_index = media_type in mt.INDEX_MEDIA_TYPES or (
        media_type not in mt.MANIFEST_MEDIA_TYPES and "manifests" in doc and "config" not in doc
    )
    record = ManifestRecord(
        digest=digest,
        media_type=media_type,
        content=body,
        image_size=len(body),
        artifact_type=doc.get("artifactType"),
        subject=subject["digest"] if subject else None,
        annotations=annotations,
    )
    if is_index:
        children = _descriptor_list(doc.get("manifests"), "manifests", required=True)
        for child in children:
            if storage.get_manifest(name, child["digest"]) is None:
                raise OciError(
                    400,
                    "MANIFEST_BLOB_UNKNOWN",
                    "manifest references a manifest unknown to the repository",
                    {"digest": child["digest"]},
                )
            platform = child.get("platform")
            arch = os_ = None
            if isinstance(platform, dict):
                arch = platform.get("architecture") if isinstance(platform.get("architecture"), str) else None
                os_ = platform.get("os") if isinstance(platform.get("os"), str) else None
            record.references.append((child["digest"], arch, os_))
        return record
    known_image = media_type in (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST)
    config = None
    if "config" in doc or known_image:
        config = _descriptor(doc.get("config"), "config")
    blobs = [config] if config else []
    blobs += _descriptor_list(doc.get("layers"), "layers", required=known_image)
    blobs += _descriptor_list(doc.get("blobs"), "blobs", required=False)
    for blob in blobs:
        if blob.get("urls"):
            continue  # a foreign layer lives elsewhere by design
        size = storage.blob_size(name, blob["digest"])
        if size is None:
            raise OciError(
                400,
                "MANIFEST_BLOB_UNKNOWN",
                "manifest references a blob unknown to the repository",
                {"digest": blob["digest"]},
            )
        record.image_size += size
    if config is not None:
        record.config_media_type = config["mediaType"]
        if config["mediaType"] in (mt.OCI_CONFIG, mt.DOCKER_CONFIG) and not config.get("urls"):
            data = await read_small_file(storage.blob_path(config["digest"]), _CONFIG_LIMIT)
            record.architecture, record.os = _platform_of(data)
    return record


def _invalid(message: str) -> OciError:
    return OciError(400, "MANIFEST_INVALID", message)


def _descriptor(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where}: mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise _invalid(f"{where}: digest must be a string")
    try:
        validate_digest(digest)
    except InvalidReferenceError as exc:
        raise _invalid(f"{where}: {exc}") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}: size must be a non-negative integer")
    urls = value.get("urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
        raise _invalid(f"{where}: urls must be a list of strings")
    return value


def _descriptor_list(value: Any, where: str, *, required: bool) -> list[dict[str, Any]]:
    if value is None:
        if required:
            raise _invalid(f"{where} is required")
        return []
    if not isinstance(value, list):
        raise _invalid(f"{where} must be a list")
    return [_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _platform_of(config: bytes | None) -> tuple[str | None, str | None]:
    if config is None:
        return None, None
    try:
        doc = loads_json(config)
    except JsonTooDeepError as exc:
        raise _invalid(f"the image config is not acceptable: {exc}") from None
    except (ValueError, UnicodeDecodeError):
        return None, None
    if not isinstance(doc, dict):
        return None, None
    arch, os_ = doc.get("architecture"), doc.get("os")
    return (arch if isinstance(arch, str) else None, os_ if isinstance(os_, str) else None)
