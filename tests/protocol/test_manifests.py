"""Table tests of manifest encoding and media-type inference (protocol/manifests.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from containerregistry.exceptions import RegistryProtocolError
from containerregistry.protocol import media_types
from containerregistry.protocol.manifests import default_media_type, encode_manifest, parse_manifest_or_none
from containerregistry.protocol.models import OciDescriptor, OciImageIndex, OciImageManifest

CONFIG = OciDescriptor(media_type=media_types.OCI_CONFIG, digest="sha256:" + "a" * 64, size=2)
MANIFEST = OciImageManifest(config=CONFIG, layers=[])
INDEX = OciImageIndex(manifests=[])
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        ({"manifests": []}, media_types.OCI_INDEX),
        ({"layers": [], "config": {}}, media_types.OCI_MANIFEST),
        ({}, media_types.OCI_MANIFEST),
    ],
)
def test_default_media_type(body: dict[str, Any], media_type: str) -> None:
    assert default_media_type(body) == media_type


@pytest.mark.parametrize(
    ("manifest", "given", "content", "media_type"),
    [
        (b'{"a": 1}', "x/y", b'{"a": 1}', "x/y"),  # bytes go exactly as given
        (b'{"mediaType": "%s"}' % DOCKER.encode(), None, b'{"mediaType": "%s"}' % DOCKER.encode(), DOCKER),
        (b'{"manifests": []}', None, b'{"manifests": []}', media_types.OCI_INDEX),
        (bytearray(b"{}"), None, b"{}", media_types.OCI_MANIFEST),
        (memoryview(b"not json"), "x/y", b"not json", "x/y"),
        ({"b": "é", "a": [1]}, None, '{"b":"é","a":[1]}'.encode(), media_types.OCI_MANIFEST),
        ({"mediaType": DOCKER}, None, b'{"mediaType":"%s"}' % DOCKER.encode(), DOCKER),
        ({"mediaType": DOCKER}, "x/y", b'{"mediaType":"%s"}' % DOCKER.encode(), "x/y"),
        (INDEX, None, INDEX.to_bytes(), media_types.OCI_INDEX),
        (MANIFEST, None, MANIFEST.to_bytes(), media_types.OCI_MANIFEST),
    ],
)
def test_encode_manifest(manifest: Any, given: str | None, content: bytes, media_type: str) -> None:
    assert encode_manifest(manifest, given) == (content, media_type)


@pytest.mark.parametrize(
    ("manifest", "error", "message"),
    [
        (b"not json", ValueError, "not JSON"),
        (b"[1, 2]", ValueError, "must be an object"),
        ("a string", TypeError, "of type str"),
        (42, TypeError, "of type int"),
    ],
)
def test_encode_manifest_refuses(manifest: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        encode_manifest(manifest, None)


def test_parse_manifest_or_none() -> None:
    assert parse_manifest_or_none(MANIFEST.to_bytes(), media_types.OCI_MANIFEST, "get") == MANIFEST
    assert parse_manifest_or_none(b"not json", None, "get") is None
    assert parse_manifest_or_none(json.dumps({"schemaVersion": 2, "layers": 3}).encode(), None, "get") is None
    deep = b'{"manifests": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(RegistryProtocolError, match="nested too deeply"):
        parse_manifest_or_none(deep, media_types.OCI_INDEX, "get manifest x")
