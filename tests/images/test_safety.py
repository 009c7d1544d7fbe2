"""Failures leave no manifest at the target; hostile layouts and registries cannot write outside a layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from containerregistry._sync import ContainerRegistryContentClient
from containerregistry.exceptions import DigestValidationError, HttpResponseError, ResourceNotFoundError
from containerregistry.images import ImageLayoutError, TransferProgress
from containerregistry.images._layout import OciLayout
from tests.images.support import BuiltImage, Ops, all_files, build_layout


def assert_no_manifests(endpoint: str, repository: str, image: BuiltImage, tag: str) -> None:
    with ContainerRegistryContentClient(endpoint, repository) as client:
        for reference in (tag, image.index_digest, *image.manifest_bytes):
            with pytest.raises(ResourceNotFoundError):
                client.get_manifest(reference)


def test_missing_layout_blob_leaves_no_manifest(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src", layer_size=2 * 1024 * 1024, layers_per_platform=3)
    victim = sorted(image.platform_blobs["linux/arm64"] - {image.shared_layer})[0]
    (tmp_path / "src" / "blobs" / "sha256" / victim.split(":")[1]).unlink()

    with pytest.raises(ImageLayoutError, match=f"blob {victim} is missing"):
        ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:1.0")

    assert_no_manifests(registry_emulator.endpoint, repo, image, "1.0")


def test_blob_deleted_from_source_mid_copy_leaves_no_manifest(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:1.0")
    deleted: list[str] = []

    def delete_the_others(event: TransferProgress) -> None:
        # The manifests were all read; the first blob is moving: delete the others from the source.
        if not deleted:
            with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client:
                for digest in image.blobs:
                    if digest != event.digest:
                        client.delete_blob(digest)
                        deleted.append(digest)

    with pytest.raises(HttpResponseError) as caught:
        ops.copy(
            f"{registry_emulator.login_server}/{repo}:1.0",
            f"{distribution.host}/{repo}:1.0",
            concurrency=1,
            progress=delete_the_others,
        )
    assert caught.value.status_code == 404
    assert len(deleted) == 4
    assert_no_manifests(distribution.endpoint, repo, image, "1.0")


def test_failure_with_concurrency_leaves_no_manifest_in_layout(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src", layer_size=1024 * 1024, layers_per_platform=4)
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:1.0")
    victim = sorted(image.platform_blobs["linux/amd64"] - {image.shared_layer})[-1]
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client:
        client.delete_blob(victim)

    with pytest.raises(HttpResponseError):
        ops.pull(f"{registry_emulator.login_server}/{repo}:1.0", f"oci:{tmp_path / 'out'}:1.0", concurrency=4)

    out = tmp_path / "out"
    assert not (out / "index.json").exists()
    names = {Path(f).name for f in all_files(out)}
    for digest in (image.index_digest, *image.manifest_bytes, victim):
        assert digest.split(":")[1] not in names
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"


def test_hostile_index_json_path_traversal_refused(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    layout = tmp_path / "hostile"
    build_layout(layout)
    build_layout(tmp_path / "good")
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../x"
    (layout / "index.json").write_text(json.dumps(index))
    before = all_files(tmp_path)

    with pytest.raises(
        ImageLayoutError,
        match=r"invalid index.json: manifests\[0\]\.digest: invalid digest 'sha256:\.\./\.\./x'",
    ):
        ops.push(f"oci:{layout}:1.0", f"{registry_emulator.login_server}/{repo}:1.0")
    # As a copy target too: nothing is written anywhere.
    with pytest.raises(ImageLayoutError, match=r"invalid index\.json"):
        ops.copy(f"oci:{tmp_path / 'good'}", f"oci:{layout}:x")
    assert all_files(tmp_path) == before
    assert not (tmp_path / "x").exists()


def test_hostile_manifest_digest_in_layout_refused(tmp_path: Path, ops: Ops) -> None:
    layout = tmp_path / "hostile"
    image = build_layout(layout)
    # A child manifest whose layer digest tries to escape: rewrite the index to point at it.
    child = json.loads(image.manifest_bytes[image.manifests["linux/amd64"]])
    child["layers"][0]["digest"] = "sha256:../../../../etc/passwd"
    from tests.images.support import _write_blob, sha256

    bad = json.dumps(child).encode()
    _write_blob(layout, bad)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha256(bad),
                "size": len(bad),
                "annotations": {"org.opencontainers.image.ref.name": "bad"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    before = all_files(tmp_path)
    with pytest.raises(ValueError, match=r"layers\[0\]\.digest: invalid digest"):
        ops.copy(f"oci:{layout}:bad", f"oci:{tmp_path / 'out'}:bad")
    assert all_files(tmp_path) == before  # the layout the failed copy created is removed again


def test_symlinked_blob_dir_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    layout = OciLayout(tmp_path / "lay", create=True)
    (tmp_path / "lay" / "blobs").mkdir()
    (tmp_path / "lay" / "blobs" / "sha256").symlink_to(outside)
    with pytest.raises(ImageLayoutError, match="symbolic link"):
        layout.write_blob("sha256:" + "0" * 64, b"x")
    assert list(outside.iterdir()) == []


def test_corrupt_layout_blob_is_not_written_at_target(tmp_path: Path, ops: Ops) -> None:
    image = build_layout(tmp_path / "src")
    path = tmp_path / "src" / "blobs" / "sha256" / image.shared_layer.split(":")[1]
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DigestValidationError):
        ops.copy(f"oci:{tmp_path / 'src'}", f"oci:{tmp_path / 'dst'}:1.0")
    assert not (tmp_path / "dst" / "index.json").exists()
    assert not (tmp_path / "dst" / "blobs" / "sha256" / image.shared_layer.split(":")[1]).exists()


def test_layout_without_oci_layout_file(tmp_path: Path, ops: Ops, registry_emulator: Any, repo: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageLayoutError, match="has no oci-layout file"):
        ops.push(f"oci:{tmp_path / 'empty'}", f"{registry_emulator.login_server}/{repo}:1")


def test_layout_with_several_images_needs_a_name(tmp_path: Path, ops: Ops) -> None:
    build_layout(tmp_path / "src", tag="a")
    ops.copy(f"oci:{tmp_path / 'src'}:a", f"oci:{tmp_path / 'two'}:a")
    build_layout(tmp_path / "other", tag="b")
    ops.copy(f"oci:{tmp_path / 'other'}:b", f"oci:{tmp_path / 'two'}:b")
    with pytest.raises(ImageLayoutError, match=r"holds 2 images: name one .* \(names: a, b\)"):
        ops.copy(f"oci:{tmp_path / 'two'}", f"oci:{tmp_path / 'three'}")
    with pytest.raises(ImageLayoutError, match="has no image named 'c'"):
        ops.copy(f"oci:{tmp_path / 'two'}:c", f"oci:{tmp_path / 'three'}")


def test_same_ref_name_replaces_the_entry(tmp_path: Path, ops: Ops) -> None:
    first = build_layout(tmp_path / "one", tag="t")
    second = build_layout(tmp_path / "two", tag="t")
    ops.copy(f"oci:{tmp_path / 'one'}:t", f"oci:{tmp_path / 'dst'}:t")
    ops.copy(f"oci:{tmp_path / 'two'}:t", f"oci:{tmp_path / 'dst'}:t")
    entries = json.loads((tmp_path / "dst" / "index.json").read_text())["manifests"]
    assert [e["digest"] for e in entries] == [second.index_digest] != [first.index_digest]
