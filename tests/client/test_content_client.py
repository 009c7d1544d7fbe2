"""ContainerRegistryContentClient against real registries (Distribution 2.8.2 and the emulator), sync and async."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from containerregistry.exceptions import (
    DigestValidationError,
    InvalidReferenceError,
    ManifestTooLargeError,
    ResourceNotFoundError,
)
from containerregistry.protocol import media_types
from containerregistry.protocol.models import (
    OciAnnotations,
    OciDescriptor,
    OciImageIndex,
    OciImageManifest,
    Platform,
)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(
    client: Any, layers: list[bytes], *, tag: str | None = None, arch: str = "amd64"
) -> tuple[str, bytes]:
    """Push a config + layers + OCI manifest; return (manifest digest, manifest bytes)."""
    config = json.dumps(
        {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    config_result = client.upload_blob(config)
    layer_descs = []
    for layer in layers:
        result = client.upload_blob(layer)
        layer_descs.append(
            OciDescriptor(media_type=media_types.OCI_LAYER_GZIP, digest=result.digest, size=result.size)
        )
    manifest = OciImageManifest(
        config=OciDescriptor(
            media_type=media_types.OCI_CONFIG, digest=config_result.digest, size=len(config)
        ),
        layers=layer_descs,
    )
    content = manifest.to_bytes()
    result = client.set_manifest(content, tag=tag)
    return result.digest, content


@pytest.mark.parametrize("size", [0, 1, 5 * 1024 * 1024 + 7], ids=["0B", "1B", "5MiB"])
def test_blob_round_trip_from_bytes(
    registry_endpoint: str, make_client: Any, repo_name: str, size: int
) -> None:
    client = make_client(registry_endpoint, repo_name)
    data = os.urandom(size)
    seen: list[tuple[int, int | None]] = []
    result = client.upload_blob(data, progress=lambda done, total: seen.append((done, total)))
    assert result.digest == sha(data)
    assert result.size == size
    assert client.blob_exists(result.digest)
    assert client.download_blob_content(result.digest).content == data
    if size:
        assert seen[-1] == (size, size)


def test_blob_sources_path_file_iterable_and_chunked(
    registry_endpoint: str, make_client: Any, repo_name: str, tmp_path: Path
) -> None:
    client = make_client(registry_endpoint, repo_name)
    data = os.urandom(3 * 1024 * 1024 + 123)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    expected = sha(data)
    assert client.upload_blob(str(path)).digest == expected
    assert client.upload_blob(path).digest == expected
    with open(path, "rb") as file:
        file.read(10)  # a file object uploads from its current position
        assert client.upload_blob(file).digest == sha(data[10:])
    chunks = (data[i : i + 100_000] for i in range(0, len(data), 100_000))
    assert client.upload_blob(chunks).digest == expected
    chunked = client.upload_blob(io.BytesIO(data), chunk_size=1024 * 1024)
    assert chunked.digest == expected and chunked.size == len(data)
    assert client.download_blob_content(expected).content == data


def test_download_to_path_leaves_no_partial(
    registry_endpoint: str, make_client: Any, repo_name: str, tmp_path: Path
) -> None:
    client = make_client(registry_endpoint, repo_name)
    data = os.urandom(2 * 1024 * 1024)
    digest = client.upload_blob(data).digest
    target = tmp_path / "out.bin"
    result = client.download_blob_to(digest, target)
    assert result.size == len(data)
    assert target.read_bytes() == data
    assert not (tmp_path / "out.bin.partial").exists()
    buffer = io.BytesIO()
    client.download_blob_to(digest, buffer)
    assert buffer.getvalue() == data


def test_missing_blob_and_manifest(
    registry_endpoint: str, make_client: Any, repo_name: str, tmp_path: Path
) -> None:
    client = make_client(registry_endpoint, repo_name)
    client.upload_blob(b"something so the repository exists")
    missing = sha(b"never uploaded")
    assert client.blob_exists(missing) is False
    with pytest.raises(ResourceNotFoundError) as info:
        client.download_blob_content(missing)
    assert info.value.status_code == 404
    with pytest.raises(ResourceNotFoundError):
        client.download_blob_to(missing, tmp_path / "missing.bin")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ResourceNotFoundError):
        client.get_manifest("no-such-tag")
    client.delete_blob(missing)  # deleting what is absent succeeds
    client.delete_manifest(missing)


def test_oci_manifest_round_trip_exact_bytes(
    registry_endpoint: str, make_client: Any, repo_name: str
) -> None:
    client = make_client(registry_endpoint, repo_name)
    digest, content = push_image(client, [b"layer-one", b"layer-two"], tag="v1")
    by_tag = client.get_manifest("v1")
    by_digest = client.get_manifest(digest)
    for result in (by_tag, by_digest):
        assert result.content == content
        assert result.digest == digest
        assert result.media_type == media_types.OCI_MANIFEST
        assert isinstance(result.manifest, OciImageManifest)
        assert [layer.size for layer in result.manifest.layers] == [9, 9]
    assert "v1" in list(client.list_tags())


def test_index_and_docker_manifests(registry_endpoint: str, make_client: Any, repo_name: str) -> None:
    client = make_client(registry_endpoint, repo_name)
    amd64, amd64_bytes = push_image(client, [b"shared", b"amd64 only"], arch="amd64")
    arm64, arm64_bytes = push_image(client, [b"shared", b"arm64 only"], arch="arm64")
    index = OciImageIndex(
        manifests=[
            OciDescriptor(
                media_type=media_types.OCI_MANIFEST,
                digest=amd64,
                size=len(amd64_bytes),
                platform=Platform(architecture="amd64", os="linux"),
            ),
            OciDescriptor(
                media_type=media_types.OCI_MANIFEST,
                digest=arm64,
                size=len(arm64_bytes),
                platform=Platform(architecture="arm64", os="linux", variant="v8"),
            ),
        ]
    )
    result = client.set_manifest(index, tag="multi")
    got = client.get_manifest("multi")
    assert got.digest == result.digest
    assert got.media_type == media_types.OCI_INDEX
    assert isinstance(got.manifest, OciImageIndex)
    assert [d.platform.architecture for d in got.manifest.manifests if d.platform] == ["amd64", "arm64"]

    # A Docker v2 manifest pushed as a dict keeps its media type and exact serialization.
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"docker layer"
    config_digest = client.upload_blob(config).digest
    layer_digest = client.upload_blob(layer).digest
    docker = {
        "schemaVersion": 2,
        "mediaType": media_types.DOCKER_MANIFEST,
        "config": {"mediaType": media_types.DOCKER_CONFIG, "size": len(config), "digest": config_digest},
        "layers": [{"mediaType": media_types.DOCKER_LAYER, "size": len(layer), "digest": layer_digest}],
    }
    pushed = client.set_manifest(docker, tag="docker")
    got = client.get_manifest("docker")
    assert got.media_type == media_types.DOCKER_MANIFEST
    assert json.loads(got.content) == docker
    assert got.digest == pushed.digest == sha(got.content)


def test_delete_manifest_and_blob(registry_endpoint: str, make_client: Any, repo_name: str) -> None:
    client = make_client(registry_endpoint, repo_name)
    digest, _ = push_image(client, [b"to be deleted"], tag="gone")
    client.delete_manifest(digest)
    with pytest.raises(ResourceNotFoundError):
        client.get_manifest(digest)
    layer = sha(b"to be deleted")
    assert client.blob_exists(layer)
    client.delete_blob(layer)
    assert not client.blob_exists(layer)


def test_list_tags_pages(registry_endpoint: str, make_client: Any, repo_name: str) -> None:
    client = make_client(registry_endpoint, repo_name)
    _, content = push_image(client, [b"tagged many times"])
    tags = [f"v{i}" for i in range(7)]
    for tag in tags:
        client.set_manifest(content, tag=tag)
    assert sorted(list(client.list_tags(results_per_page=2))) == tags


def test_list_tags_by_page_sync(registry_endpoint: str, repo_name: str) -> None:
    from containerregistry._sync import ContainerRegistryContentClient

    with ContainerRegistryContentClient(registry_endpoint, repo_name) as client:
        _, content = push_image(client, [b"paged"])
        for i in range(5):
            client.set_manifest(content, tag=f"t{i}")
        pages = [list(page) for page in client.list_tags(results_per_page=2).by_page()]
        assert sorted(tag for page in pages for tag in page) == [f"t{i}" for i in range(5)]
        if "127.0.0.1" in registry_endpoint and len(pages) > 1:  # Distribution ignores n; the emulator pages
            assert all(len(page) <= 2 for page in pages)


def test_mount_blob_between_repositories(registry_endpoint: str, make_client: Any, repo_name: str) -> None:
    source = make_client(registry_endpoint, repo_name + "-src")
    target = make_client(registry_endpoint, repo_name + "-dst")
    digest = source.upload_blob(b"mount me").digest
    assert not target.blob_exists(digest)
    assert target.mount_blob(digest, repo_name + "-src") is True
    assert target.download_blob_content(digest).content == b"mount me"
    assert target.mount_blob(sha(b"not anywhere"), repo_name + "-src") is False


def test_referrers(registry_endpoint: str, make_client: Any, repo_name: str) -> None:
    client = make_client(registry_endpoint, repo_name)
    subject_digest, subject_bytes = push_image(client, [b"subject layer"], tag="app")
    empty = client.upload_blob(media_types.OCI_EMPTY_DATA)
    assert empty.digest == media_types.OCI_EMPTY_DIGEST
    signature = client.upload_blob(b"a signature")
    artifact = OciImageManifest(
        config=OciDescriptor(media_type=media_types.OCI_EMPTY, digest=empty.digest, size=2),
        layers=[
            OciDescriptor(
                media_type="application/vnd.example.sig", digest=signature.digest, size=signature.size
            )
        ],
        artifact_type="application/vnd.example.signature",
        subject=OciDescriptor(
            media_type=media_types.OCI_MANIFEST, digest=subject_digest, size=len(subject_bytes)
        ),
        annotations=OciAnnotations({"org.opencontainers.image.created": "2026-11-29T00:00:00Z"}),
    )
    pushed = client.set_manifest(artifact)
    referrers = list(client.list_referrers(subject_digest))
    assert [r.digest for r in referrers] == [pushed.digest]
    assert referrers[0].artifact_type == "application/vnd.example.signature"
    assert list(client.list_referrers(subject_digest, artifact_type="application/other")) == []


def test_invalid_input_is_refused_before_io(make_client: Any) -> None:
    # Port 9 on loopback: nothing listens; a test that reached the network would fail differently.
    with pytest.raises(InvalidReferenceError):
        make_client("http://127.0.0.1:9", "UPPER/case")
    client = make_client("http://127.0.0.1:9", "fine")
    with pytest.raises(InvalidReferenceError):
        client.blob_exists("sha256:xyz")
    with pytest.raises(InvalidReferenceError):
        client.get_manifest("bad tag!")
    with pytest.raises(ManifestTooLargeError):
        client.set_manifest(b"{" + b" " * (4 * 1024 * 1024) + b"}", media_type=media_types.OCI_MANIFEST)


def test_corrupted_blob_on_the_server_is_caught(
    distribution: Any, make_client: Any, repo_name: str, tmp_path: Path
) -> None:
    """Distribution serves what is on disk without checking: flip a byte there and download."""
    client = make_client(distribution.endpoint, repo_name)
    data = os.urandom(256 * 1024)
    digest = client.upload_blob(data).digest
    hexpart = digest.split(":")[1]
    blob_file = Path(distribution.root) / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"
    corrupted = bytearray(data)
    corrupted[1000] ^= 0xFF
    blob_file.write_bytes(bytes(corrupted))
    with pytest.raises(DigestValidationError):
        client.download_blob_content(digest)
    with pytest.raises(DigestValidationError):
        client.download_blob_to(digest, tmp_path / "bad.bin")
    assert not (tmp_path / "bad.bin").exists()
    assert not (tmp_path / "bad.bin.partial").exists()
