"""Model round trips on real-world-shaped manifests, validation errors, and parse_manifest dispatch."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containerregistry.protocol import media_types as mt
from containerregistry.protocol.digest import compute_digest
from containerregistry.protocol.models import (
    ManifestFormatError,
    OciAnnotations,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    Platform,
    blob_descriptors,
    child_descriptors,
    descriptor_for,
    parse_manifest,
)
from containerregistry.protocol.results import (
    DeleteRepositoryResult,
    DownloadBlobToResult,
    DownloadRegistryBlobResult,
    GetManifestResult,
    SetManifestResult,
    UploadRegistryBlobResult,
)


def _d(n: int) -> str:
    return "sha256:" + f"{n:064x}"


OCI_IMAGE: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_MANIFEST,
    "config": {"mediaType": mt.OCI_CONFIG, "digest": _d(1), "size": 7023},
    "layers": [
        {"mediaType": mt.OCI_LAYER_GZIP, "digest": _d(2), "size": 32654},
        {
            "mediaType": mt.OCI_LAYER_ZSTD,
            "digest": _d(3),
            "size": 16724,
            "urls": ["https://mirror.example/l3"],
        },
        {
            "mediaType": mt.OCI_LAYER,
            "digest": _d(4),
            "size": 73109,
            "annotations": {"org.opencontainers.image.title": "rootfs.tar"},
        },
    ],
    "annotations": {"com.example.key1": "value1", "org.opencontainers.image.created": "2024-03-01T12:00:00Z"},
}

# An OCI manifest may omit mediaType; the round trip must not add it.
OCI_IMAGE_NO_MEDIA_TYPE: dict[str, Any] = {k: v for k, v in OCI_IMAGE.items() if k != "mediaType"}

OCI_INDEX: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_INDEX,
    "manifests": [
        {
            "mediaType": mt.OCI_MANIFEST,
            "digest": _d(10),
            "size": 7143,
            "platform": {"architecture": "ppc64le", "os": "linux"},
        },
        {
            "mediaType": mt.OCI_MANIFEST,
            "digest": _d(11),
            "size": 7682,
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        },
        {
            "mediaType": mt.OCI_MANIFEST,
            "digest": _d(12),
            "size": 1000,
            "platform": {
                "architecture": "amd64",
                "os": "windows",
                "os.version": "10.0.17763.1879",
                "os.features": ["win32k"],
            },
        },
    ],
    "annotations": {"com.example.key1": "value1"},
}

DOCKER_MANIFEST: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": mt.DOCKER_MANIFEST,
    "config": {"mediaType": mt.DOCKER_CONFIG, "size": 1469, "digest": _d(20)},
    "layers": [
        {"mediaType": mt.DOCKER_LAYER, "size": 3370706, "digest": _d(21)},
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "size": 5,
            "digest": _d(22),
            "urls": ["https://mcr.microsoft.com/l"],
        },
    ],
}

DOCKER_MANIFEST_LIST: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": mt.DOCKER_MANIFEST_LIST,
    "manifests": [
        {
            "mediaType": mt.DOCKER_MANIFEST,
            "size": 528,
            "digest": _d(30),
            "platform": {"architecture": "amd64", "os": "linux"},
        },
        {
            "mediaType": mt.DOCKER_MANIFEST,
            "size": 528,
            "digest": _d(31),
            "platform": {"architecture": "arm", "os": "linux", "variant": "v7", "features": ["sse4"]},
        },
    ],
}

ARTIFACT: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_MANIFEST,
    "artifactType": "application/vnd.example.sbom.v1",
    "config": {"mediaType": mt.OCI_EMPTY, "digest": mt.OCI_EMPTY_DIGEST, "size": 2, "data": "e30="},
    "layers": [{"mediaType": "application/spdx+json", "digest": _d(40), "size": 1234, "annotations": {}}],
    "subject": {"mediaType": mt.OCI_MANIFEST, "digest": _d(41), "size": 1788},
    "annotations": {"org.opencontainers.image.created": "2024-06-01T00:00:00.123456789+02:00"},
}

# buildx attestation manifests sit in the index under an `unknown/unknown` platform.
ATTESTATION_INDEX: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": mt.OCI_INDEX,
    "manifests": [
        {
            "mediaType": mt.OCI_MANIFEST,
            "digest": _d(50),
            "size": 1000,
            "platform": {"architecture": "amd64", "os": "linux"},
        },
        {
            "mediaType": mt.OCI_MANIFEST,
            "digest": _d(51),
            "size": 566,
            "annotations": {
                "vnd.docker.reference.digest": _d(50),
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        },
    ],
}

# Unknown fields at every level, an unknown media type and an index without mediaType.
UNKNOWN_EVERYWHERE: dict[str, Any] = {
    "schemaVersion": 2,
    "manifests": [
        {
            "mediaType": "application/vnd.example.future+json",
            "digest": "sha512:" + "c" * 128,
            "size": 0,
            "artifactType": "application/vnd.example.thing",
            "platform": {
                "architecture": "riscv64",
                "os": "linux",
                "x-platform": {"nested": [1, 2.5, None, True]},
            },
            "x-descriptor": "kept",
        }
    ],
    "subject": {"mediaType": mt.OCI_INDEX, "digest": _d(60), "size": 9, "x-subject": 1},
    "annotations": {},
    "x-top": {"a": ["b"]},
}

FIXTURES: dict[str, tuple[dict[str, Any], type[OciImageManifest] | type[OciImageIndex]]] = {
    "oci-image": (OCI_IMAGE, OciImageManifest),
    "oci-image-no-media-type": (OCI_IMAGE_NO_MEDIA_TYPE, OciImageManifest),
    "oci-index": (OCI_INDEX, OciImageIndex),
    "docker-manifest": (DOCKER_MANIFEST, OciImageManifest),
    "docker-manifest-list": (DOCKER_MANIFEST_LIST, OciImageIndex),
    "artifact": (ARTIFACT, OciImageManifest),
    "attestation-index": (ATTESTATION_INDEX, OciImageIndex),
    "unknown-everywhere": (UNKNOWN_EVERYWHERE, OciImageIndex),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_round_trip(name: str) -> None:
    document, cls = FIXTURES[name]
    original = copy.deepcopy(document)
    model = cls.from_dict(document)
    assert model.to_dict() == document
    assert document == original  # from_dict does not modify its input
    raw = json.dumps(document).encode()
    parsed = parse_manifest(raw)
    assert isinstance(parsed, cls)
    assert parsed is not None
    assert parsed.to_dict() == document
    # to_bytes is compact JSON of the same document.
    assert json.loads(model.to_bytes()) == document
    assert b": " not in model.to_bytes() and b", " not in model.to_bytes()


def test_absent_media_type_stays_absent() -> None:
    model = OciImageManifest.from_dict(OCI_IMAGE_NO_MEDIA_TYPE)
    assert model.media_type is None
    assert "mediaType" not in model.to_dict()
    assert OciImageIndex.from_dict(UNKNOWN_EVERYWHERE).media_type is None


def test_extra_is_not_shared_with_input() -> None:
    document = copy.deepcopy(UNKNOWN_EVERYWHERE)
    model = OciImageIndex.from_dict(document)
    document["x-top"]["a"].append("mutated")
    assert model.to_dict()["x-top"] == {"a": ["b"]}
    out = model.to_dict()
    out["x-top"]["a"].append("mutated")
    assert model.extra["x-top"] == {"a": ["b"]}


def test_fields_are_modelled() -> None:
    index = OciImageIndex.from_dict(OCI_INDEX)
    windows = index.manifests[2].platform
    assert windows is not None
    assert (windows.os, windows.architecture, windows.os_version, windows.os_features) == (
        "windows",
        "amd64",
        "10.0.17763.1879",
        ["win32k"],
    )
    assert str(index.manifests[1].platform) == "linux/arm64/v8"
    artifact = OciImageManifest.from_dict(ARTIFACT)
    assert artifact.config.data == b"{}"
    assert artifact.subject is not None and artifact.subject.digest == _d(41)
    assert artifact.artifact_type == "application/vnd.example.sbom.v1"
    assert artifact.layers[0].annotations == {}
    assert isinstance(artifact.layers[0].annotations, OciAnnotations)
    assert index.manifests[0].extra == {}
    unknown = OciImageIndex.from_dict(UNKNOWN_EVERYWHERE)
    assert unknown.manifests[0].extra == {"x-descriptor": "kept"}
    assert unknown.manifests[0].platform is not None
    assert unknown.manifests[0].platform.extra == {"x-platform": {"nested": [1, 2.5, None, True]}}


def test_new_manifest_defaults_and_key_order() -> None:
    config = descriptor_for(mt.OCI_EMPTY_DATA, mt.OCI_EMPTY, data=mt.OCI_EMPTY_DATA)
    layer = descriptor_for(
        b"hello", "text/plain", annotations={"org.opencontainers.image.title": "hello.txt"}
    )
    manifest = OciImageManifest(config=config, layers=[layer], artifact_type="application/vnd.example")
    assert config.digest == mt.OCI_EMPTY_DIGEST and config.size == 2
    assert layer.annotations is not None and layer.annotations.title == "hello.txt"
    raw = manifest.to_bytes()
    assert raw.startswith(
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"artifactType":"application/vnd.example","config":{"mediaType":'
    )
    assert b'"data":"e30="' in raw
    assert OciImageManifest.from_bytes(raw) == manifest
    index = OciImageIndex(
        manifests=[descriptor_for(raw, mt.OCI_MANIFEST, platform=Platform("amd64", "linux"))]
    )
    assert index.to_dict()["mediaType"] == mt.OCI_INDEX
    assert OciImageIndex.from_bytes(index.to_bytes()) == index


def test_to_bytes_is_utf8_not_escaped() -> None:
    manifest = OciImageManifest.from_dict(
        {**OCI_IMAGE, "annotations": {"org.opencontainers.image.authors": "Zoë 鳥"}}
    )
    assert "Zoë 鳥".encode() in manifest.to_bytes()


def test_blob_and_child_descriptors() -> None:
    manifest = OciImageManifest.from_dict(OCI_IMAGE)
    assert [d.digest for d in blob_descriptors(manifest)] == [_d(1), _d(2), _d(3), _d(4)]
    index = OciImageIndex.from_dict(DOCKER_MANIFEST_LIST)
    children = child_descriptors(index)
    assert [d.digest for d in children] == [_d(30), _d(31)]
    children.clear()
    assert len(index.manifests) == 2


def test_descriptor_for_sha512() -> None:
    desc = descriptor_for(b"abc", "x/y", algorithm="sha512")
    assert desc.digest == compute_digest(b"abc", "sha512")
    assert desc.to_dict() == {"mediaType": "x/y", "digest": desc.digest, "size": 3}


# --- annotations ---------------------------------------------------------------------------------------

ALL_KEYS = {
    "created": "2024-01-02T03:04:05Z",
    "authors": "a",
    "url": "u",
    "documentation": "d",
    "source": "s",
    "version": "v",
    "revision": "r",
    "vendor": "ve",
    "licenses": "MIT",
    "ref.name": "n",
    "title": "t",
    "description": "de",
    "base.digest": _d(1),
    "base.name": "docker.io/library/alpine:3",
}


def test_annotation_properties() -> None:
    ann = OciAnnotations({f"org.opencontainers.image.{k}": v for k, v in ALL_KEYS.items()} | {"x": "y"})
    assert ann.created == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert ann.created_raw == "2024-01-02T03:04:05Z"
    got = {
        "authors": ann.authors,
        "url": ann.url,
        "documentation": ann.documentation,
        "source": ann.source,
        "version": ann.version,
        "revision": ann.revision,
        "vendor": ann.vendor,
        "licenses": ann.licenses,
        "ref.name": ann.name,
        "title": ann.title,
        "description": ann.description,
        "base.digest": ann.base_digest,
        "base.name": ann.base_name,
    }
    assert got == {k: v for k, v in ALL_KEYS.items() if k != "created"}
    assert ann["x"] == "y"
    empty = OciAnnotations()
    assert empty.created is None and empty.title is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "2024-06-01T00:00:00.123456789+02:00",
            datetime(2024, 6, 1, 0, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2024-06-01t10:00:00z", datetime(2024, 6, 1, 10, tzinfo=timezone.utc)),
        (
            "2024-06-01 10:00:00-05:30",
            datetime(2024, 6, 1, 10, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),  # leap second
        ("2024-02-30T00:00:00Z", None),
        ("2024-06-01T00:00:00", None),  # no offset: not RFC 3339
        ("2024-06-01", None),
        ("yesterday", None),
        ("2024-06-01T00:00:00+24:00", None),
    ],
)
def test_created_parsing(raw: str, expected: datetime | None) -> None:
    ann = OciAnnotations({"org.opencontainers.image.created": raw})
    assert ann.created == expected
    assert ann["org.opencontainers.image.created"] == raw


# --- invalid shapes -------------------------------------------------------------------------------------


def _with(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(document)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


_DELETE = object()

INVALID_MANIFESTS: list[tuple[list[Any], Any, str]] = [
    (["config", "digest"], _DELETE, "config.digest is required"),
    (["config", "digest"], "sha256:abc", "config.digest: invalid digest"),
    (["config", "digest"], "sha256:" + "A" * 64, "config.digest"),
    (["config", "digest"], "../../etc/passwd", "config.digest"),
    (["config", "size"], "7023", "config.size must be an integer, got string"),
    (["config", "size"], -1, "config.size must not be negative"),
    (["config", "size"], 1.5, "config.size must be an integer, got number"),
    (["config", "size"], True, "config.size must be an integer, got boolean"),
    (["config", "size"], _DELETE, "config.size is required"),
    (["config", "mediaType"], _DELETE, "config.mediaType is required"),
    (["config", "mediaType"], 5, "config.mediaType must be a string"),
    (["config", "data"], "not base64!", "config.data is not valid base64"),
    (["config", "data"], "e30", "config.data"),
    (["config", "urls"], "https://x", "config.urls must be an array"),
    (["config", "urls"], [1], "config.urls[0] must be a string"),
    (["config"], _DELETE, "config is required"),
    (["config"], [], "config must be a JSON object, got array"),
    (["layers"], _DELETE, "layers is required"),
    (["layers"], {}, "layers must be an array"),
    (["layers", 1, "digest"], None, "layers[1].digest must be a string, got null"),
    (["layers", 2, "annotations"], {"k": 1}, "layers[2].annotations['k'] must be a string"),
    (["layers", 2, "annotations"], [], "layers[2].annotations must be a JSON object"),
    (["schemaVersion"], "2", "schemaVersion must be an integer"),
    (["schemaVersion"], _DELETE, "schemaVersion is required"),
    (["mediaType"], mt.OCI_INDEX, "is an index type"),
    (["mediaType"], 1, "mediaType must be a string"),
    (["artifactType"], [], "artifactType must be a string"),
    (["subject"], {"mediaType": mt.OCI_MANIFEST, "size": 1}, "subject.digest is required"),
    (["annotations"], {"k": None}, "annotations['k'] must be a string"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), INVALID_MANIFESTS, ids=[str(i[0]) + i[2][:20] for i in INVALID_MANIFESTS]
)
def test_invalid_manifest_names_the_field(path: list[Any], value: Any, message: str) -> None:
    document = _with(OCI_IMAGE, path, value)
    with pytest.raises(ManifestFormatError, match=None) as info:
        OciImageManifest.from_dict(document)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ManifestFormatError):
        parse_manifest(json.dumps(document).encode(), mt.OCI_MANIFEST)


INVALID_INDEXES: list[tuple[list[Any], Any, str]] = [
    (["manifests"], _DELETE, "manifests is required"),
    (["manifests", 0], "x", "manifests[0] must be a JSON object, got string"),
    (["manifests", 1, "platform"], {"architecture": "arm64"}, "manifests[1].platform.os is required"),
    (
        ["manifests", 1, "platform", "os.features"],
        "win32k",
        "manifests[1].platform.os.features must be an array",
    ),
    (["manifests", 2, "platform", "os.version"], 10, "manifests[2].platform.os.version must be a string"),
    (["manifests", 0, "platform"], None, "manifests[0].platform must be a JSON object, got null"),
    (["manifests", 0, "size"], 2**70 * -1, "manifests[0].size must not be negative"),
    (["mediaType"], mt.DOCKER_MANIFEST, "is an image manifest type"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), INVALID_INDEXES, ids=[str(i[0]) for i in INVALID_INDEXES]
)
def test_invalid_index_names_the_field(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ManifestFormatError) as info:
        OciImageIndex.from_dict(_with(OCI_INDEX, path, value))
    assert message in str(info.value)


# --- parse_manifest dispatch ----------------------------------------------------------------------------


def test_parse_manifest_dispatch() -> None:
    image = json.dumps(OCI_IMAGE_NO_MEDIA_TYPE).encode()
    assert isinstance(parse_manifest(image), OciImageManifest)
    assert isinstance(parse_manifest(image, mt.OCI_MANIFEST), OciImageManifest)
    assert isinstance(
        parse_manifest(image, "application/vnd.oci.image.manifest.v1+json; charset=utf-8"), OciImageManifest
    )
    assert isinstance(parse_manifest(image, "application/json"), OciImageManifest)
    index = json.dumps({k: v for k, v in OCI_INDEX.items() if k != "mediaType"}).encode()
    assert isinstance(parse_manifest(index), OciImageIndex)
    assert isinstance(parse_manifest(index, mt.DOCKER_MANIFEST_LIST), OciImageIndex)


def test_parse_manifest_unknown_types_return_none() -> None:
    assert (
        parse_manifest(b"not json at all", "application/vnd.docker.distribution.manifest.v1+prettyjws")
        is None
    )
    assert parse_manifest(json.dumps(OCI_IMAGE).encode(), mt.ORAS_ARTIFACT_MANIFEST) is None
    assert parse_manifest(b'{"schemaVersion":2,"mediaType":"application/vnd.example+json"}') is None
    assert parse_manifest(b'{"schemaVersion":1,"fsLayers":[]}') is None


def test_parse_manifest_conflicting_types() -> None:
    with pytest.raises(ManifestFormatError, match="does not match the content type"):
        parse_manifest(json.dumps(DOCKER_MANIFEST).encode(), mt.OCI_MANIFEST)
    with pytest.raises(ManifestFormatError, match="is an index type"):
        parse_manifest(json.dumps(OCI_INDEX).encode(), mt.OCI_MANIFEST)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "invalid manifest JSON"),
        (b"{", "invalid manifest JSON"),
        (b"[]", "must be a JSON object"),
        (b"\xff{}", "not UTF-8"),
        (b'{"schemaVersion":2,"schemaVersion":2,"config":{}}', "duplicate key 'schemaVersion'"),
        (b'{"schemaVersion":NaN,"config":{}}', "NaN is not JSON"),
        (b"[" * 100000, "invalid manifest JSON"),
    ],
)
def test_parse_manifest_invalid_json(content: bytes, message: str) -> None:
    with pytest.raises(ManifestFormatError, match=message):
        parse_manifest(content, mt.OCI_MANIFEST)


# --- results ----------------------------------------------------------------------------------------------


def test_result_reprs_do_not_dump_content() -> None:
    blob = DownloadRegistryBlobResult(digest=_d(1), content=b"x" * 100_000)
    assert repr(blob) == f"DownloadRegistryBlobResult(digest='{_d(1)}', content=<100000 bytes>)"
    assert blob.size == 100_000
    manifest = OciImageManifest.from_dict(OCI_IMAGE)
    got = GetManifestResult(digest=_d(2), media_type=mt.OCI_MANIFEST, content=b"{" * 5000, manifest=manifest)
    assert "content=<5000 bytes>" in repr(got) and "manifest=OciImageManifest" in repr(got)
    assert len(repr(got)) < 300
    assert "manifest=None" in repr(GetManifestResult(_d(2), "x/y", b""))


def test_results_are_frozen_values() -> None:
    assert UploadRegistryBlobResult(_d(1), 5) == UploadRegistryBlobResult(_d(1), 5)
    assert SetManifestResult(_d(1)).tag is None
    assert DownloadBlobToResult(_d(1), 3).size == 3
    assert DeleteRepositoryResult(["a"], ["t"]).deleted_tags == ["t"]
    with pytest.raises(AttributeError):
        UploadRegistryBlobResult(_d(1), 5).size = 6  # type: ignore[misc]


# --- Hypothesis -------------------------------------------------------------------------------------------

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=8))
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_digests = st.one_of(
    st.from_regex(r"sha256:[a-f0-9]{64}", fullmatch=True),
    st.from_regex(r"sha512:[a-f0-9]{128}", fullmatch=True),
)
_text = st.text(max_size=12)


def _extra(known: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.text(max_size=6).filter(lambda k: k not in known), _json, max_size=2)


def _optional(d: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
    return {**d, **{k: v for k, v in optional.items() if v is not None}}


_platforms = st.builds(
    lambda arch, os_, ver, feats, var, f2, extra: _optional(
        {"architecture": arch, "os": os_, **extra},
        {"os.version": ver, "os.features": feats, "variant": var, "features": f2},
    ),
    _text,
    _text,
    st.none() | _text,
    st.none() | st.lists(_text, max_size=2),
    st.none() | _text,
    st.none() | st.lists(_text, max_size=2),
    _extra({"architecture", "os", "os.version", "os.features", "variant", "features"}),
)
_annotations = st.dictionaries(_text, _text, max_size=3)
_descriptors = st.builds(
    lambda media, digest, size, urls, ann, data, art, plat, extra: _optional(
        {"mediaType": media, "digest": digest, "size": size, **extra},
        {"urls": urls, "annotations": ann, "data": data, "artifactType": art, "platform": plat},
    ),
    _text,
    _digests,
    st.integers(0, 2**63),
    st.none() | st.lists(_text, max_size=2),
    st.none() | _annotations,
    st.none() | st.binary(max_size=10).map(lambda b: __import__("base64").b64encode(b).decode()),
    st.none() | _text,
    st.none() | _platforms,
    _extra({"mediaType", "digest", "size", "urls", "annotations", "data", "artifactType", "platform"}),
)
_manifests = st.builds(
    lambda media, art, config, layers, subject, ann, extra: _optional(
        {"schemaVersion": 2, "config": config, "layers": layers, **extra},
        {"mediaType": media, "artifactType": art, "subject": subject, "annotations": ann},
    ),
    st.none() | st.sampled_from([mt.OCI_MANIFEST, mt.DOCKER_MANIFEST, "application/vnd.example+json"]),
    st.none() | _text,
    _descriptors,
    st.lists(_descriptors, max_size=3),
    st.none() | _descriptors,
    st.none() | _annotations,
    _extra({"schemaVersion", "mediaType", "artifactType", "config", "layers", "subject", "annotations"}),
)
_indexes = st.builds(
    lambda media, art, manifests, subject, ann, extra: _optional(
        {"schemaVersion": 2, "manifests": manifests, **extra},
        {"mediaType": media, "artifactType": art, "subject": subject, "annotations": ann},
    ),
    st.none() | st.sampled_from([mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST]),
    st.none() | _text,
    st.lists(_descriptors, max_size=3),
    st.none() | _descriptors,
    st.none() | _annotations,
    _extra({"schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations"}),
)


@given(_manifests)
def test_generated_manifests_round_trip(document: dict[str, Any]) -> None:
    assert OciImageManifest.from_dict(document).to_dict() == document
    assert OciImageManifest.from_bytes(json.dumps(document).encode()).to_dict() == document


@given(_indexes)
def test_generated_indexes_round_trip(document: dict[str, Any]) -> None:
    assert OciImageIndex.from_dict(document).to_dict() == document
    parsed = parse_manifest(json.dumps(document).encode())
    assert isinstance(parsed, OciImageIndex)
    assert parsed.to_dict() == document


@given(_json)
def test_from_dict_on_arbitrary_json_only_raises_manifest_format_error(document: Any) -> None:
    for cls in (OciImageManifest, OciImageIndex, OciDescriptor, Platform):
        try:
            cls.from_dict(document)
        except ManifestFormatError:
            pass


_mutations: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, -1, 1.5, "x", [], {}, "sha256:" + "a" * 64, [{}], {"mediaType": "a"}]
)


@given(_manifests, st.data())
def test_corrupted_manifests_only_raise_manifest_format_error(
    document: dict[str, Any], data: st.DataObject
) -> None:
    # Replace one value somewhere in a valid document; parsing either succeeds or raises the documented error.
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, i])

    walk(document, [])
    path = data.draw(st.sampled_from(paths[1:]))
    corrupted = _with(document, path, data.draw(_mutations))
    for content_type in (None, mt.OCI_MANIFEST, mt.OCI_INDEX):
        try:
            parse_manifest(json.dumps(corrupted).encode(), content_type)
        except ManifestFormatError:
            pass


@given(
    st.binary(max_size=200),
    st.one_of(st.none(), st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, "application/json"])),
)
def test_parse_manifest_on_bytes_only_raises_manifest_format_error(
    content: bytes, content_type: str | None
) -> None:
    try:
        parse_manifest(content, content_type)
    except ManifestFormatError:
        pass
