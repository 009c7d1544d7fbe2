"""Library `get_digest`, `get_image_config`, `inspect_image`, `add_tags`, sync and async, on the emulator and Distribution."""

from __future__ import annotations

import json
import secrets
from typing import Any, cast

import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.exceptions import InvalidReferenceError
from containerregistry.images import (
    PlatformNotFoundError,
    add_tags,
    get_digest,
    get_image_config,
    inspect_image,
)
from containerregistry.protocol import media_types
from tests.images.support import call
from tests.support.adapter import ClientKind

CONFIG = {
    "architecture": "arm64",
    "os": "linux",
    "variant": "v8",
    "created": "2024-05-01T12:34:56.123456789Z",
    "config": {"Labels": {"org.example.team": "platform"}, "Env": ["PATH=/bin"]},
    "rootfs": {"type": "layers", "diff_ids": []},
}


def push_sample(endpoint: str, repository: str, tag: str) -> dict[str, Any]:
    """A one-platform image (config with labels) under an index of it and an arm/v7 image: digests out."""
    with ContainerRegistryContentClient(endpoint, repository, None) as client:
        layer = secrets.token_bytes(3000)
        layer_d = client.upload_blob(layer)
        config_bytes = json.dumps(CONFIG).encode()
        config_d = client.upload_blob(config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_MANIFEST,
            "config": {
                "mediaType": media_types.OCI_CONFIG,
                "digest": config_d.digest,
                "size": len(config_bytes),
            },
            "layers": [{"mediaType": media_types.OCI_LAYER_GZIP, "digest": layer_d.digest, "size": 3000}],
            "annotations": {"org.opencontainers.image.source": "https://example.invalid/repo"},
        }
        image_bytes = json.dumps(manifest).encode()
        image = client.set_manifest(image_bytes, tag=f"{tag}-arm64")
        other_config = json.dumps({"architecture": "arm", "os": "linux", "variant": "v7"}).encode()
        other_cd = client.upload_blob(other_config)
        other = dict(
            manifest,
            config={
                **cast(dict[str, Any], manifest["config"]),
                "digest": other_cd.digest,
                "size": len(other_config),
            },
        )
        other_bytes = json.dumps(other).encode()
        other_m = client.set_manifest(other_bytes)
        index = {
            "schemaVersion": 2,
            "mediaType": media_types.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": media_types.OCI_MANIFEST,
                    "digest": image.digest,
                    "size": len(image_bytes),
                    "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                },
                {
                    "mediaType": media_types.OCI_MANIFEST,
                    "digest": other_m.digest,
                    "size": len(other_bytes),
                    "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
                },
            ],
        }
        top = client.set_manifest(json.dumps(index).encode(), tag=tag)
    return {
        "index": top.digest,
        "image": image.digest,
        "config": config_d.digest,
        "config_bytes": config_bytes,
        "layer": layer_d.digest,
    }


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


def test_digest_config_inspect(endpoint: str, client_kind: ClientKind) -> None:
    repo = f"inspect/{client_kind.flavour}-{secrets.token_hex(3)}"
    sample = push_sample(endpoint, repo, "v1")

    assert call(client_kind, endpoint, repo, "get_digest", "v1") == sample["index"]
    assert call(client_kind, endpoint, repo, "get_digest", "v1-arm64") == sample["image"]

    # An index of two images needs a platform for its config; the error names the choices.
    with pytest.raises(PlatformNotFoundError, match="linux/arm64/v8, linux/arm/v7"):
        call(client_kind, endpoint, repo, "get_image_config", "v1")
    config = call(client_kind, endpoint, repo, "get_image_config", "v1", platform="linux/arm64")
    assert config == sample["config_bytes"]
    with pytest.raises(PlatformNotFoundError, match=r"no manifest .* for windows/amd64"):
        call(client_kind, endpoint, repo, "get_image_config", "v1", platform="windows/amd64")

    index = call(client_kind, endpoint, repo, "inspect_image", "v1")
    assert index.digest == sample["index"] and index.media_type == media_types.OCI_INDEX
    assert index.platforms == ["linux/arm64/v8", "linux/arm/v7"]
    assert [m.digest for m in index.manifests] == [sample["image"], index.manifests[1].digest]
    assert index.layers == []

    image = call(client_kind, endpoint, repo, "inspect_image", "v1", platform="linux/arm64/v8")
    assert image.digest == sample["image"] and image.index_digest == sample["index"]
    assert (image.os, image.architecture, image.variant) == ("linux", "arm64", "v8")
    assert image.created is not None and image.created.isoformat() == "2024-05-01T12:34:56.123456+00:00"
    assert image.labels == {"org.example.team": "platform"} and image.env == ["PATH=/bin"]
    assert [(layer.digest, layer.size) for layer in image.layers] == [(sample["layer"], 3000)]
    assert image.total_size == 3000 + len(sample["config_bytes"])
    assert image.config_digest == sample["config"]
    assert image.annotations == {"org.opencontainers.image.source": "https://example.invalid/repo"}


def test_add_tags_points_new_tags_at_the_same_digest(endpoint: str, client_kind: ClientKind) -> None:
    repo = f"tagadd/{client_kind.flavour}-{secrets.token_hex(3)}"
    sample = push_sample(endpoint, repo, "v1.2.3")
    result = call(client_kind, endpoint, repo, "add_tags", "v1.2.3", ["v1.2", "v1", "v1"])
    assert result.digest == sample["index"] and result.tags == ["v1.2", "v1"]
    for tag in ("v1.2", "v1"):
        assert call(client_kind, endpoint, repo, "get_digest", tag) == sample["index"]
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        assert sorted(client.list_tags()) == ["v1", "v1.2", "v1.2.3", "v1.2.3-arm64"]


def test_add_tags_refuses_a_bad_tag_before_pushing_any(endpoint: str, client_kind: ClientKind) -> None:
    repo = f"tagadd/{client_kind.flavour}-{secrets.token_hex(3)}"
    push_sample(endpoint, repo, "v1")
    with pytest.raises(InvalidReferenceError):
        call(client_kind, endpoint, repo, "add_tags", "v1", ["good", "bad tag!"])
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        assert "good" not in list(client.list_tags())


def test_get_digest_and_add_tags_with_local_only_checks() -> None:
    with ContainerRegistryContentClient("http://127.0.0.1:9", "x", None) as client, pytest.raises(TypeError):
        add_tags(client, "v1", "latest")
    assert callable(get_digest) and callable(get_image_config) and callable(inspect_image)
