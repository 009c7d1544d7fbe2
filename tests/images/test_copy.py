"""push/pull/copy of a multi-platform index between the emulator, Distribution and OCI layouts (sync and async)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from containerregistry._sync import ContainerRegistryContentClient
from containerregistry.exceptions import (
    DigestValidationError,
    HttpResponseError,
    InvalidReferenceError,
    ResourceNotFoundError,
)
from containerregistry.images import TransferProgress
from tests.images.support import OCI_INDEX as OCI_INDEX_TYPE
from tests.images.support import REF_NAME, BuiltImage, Ops, build_layout, layout_index


def assert_image_in_registry(endpoint: str, repository: str, image: BuiltImage, tag: str | None) -> None:
    """The registry holds the index (same bytes, so same digest), every child manifest and every blob."""
    with ContainerRegistryContentClient(endpoint, repository) as client:
        top = client.get_manifest(tag or image.index_digest)
        assert top.digest == image.index_digest
        assert top.content == image.index_bytes
        for digest, content in image.manifest_bytes.items():
            assert client.get_manifest(digest).content == content
        for digest, content in image.blobs.items():
            assert client.download_blob_content(digest).content == content


def assert_image_in_layout(root: Path, image: BuiltImage, tag: str) -> None:
    entries = [e for e in layout_index(root)["manifests"] if e.get("annotations", {}).get(REF_NAME) == tag]
    assert len(entries) == 1
    assert entries[0]["digest"] == image.index_digest
    assert entries[0]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    blobs = root / "blobs" / "sha256"
    for digest, content in {
        **image.blobs,
        **image.manifest_bytes,
        image.index_digest: image.index_bytes,
    }.items():
        assert (blobs / digest.split(":")[1]).read_bytes() == content
    assert not [p for p in blobs.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_push_layout_to_emulator_and_pull_back(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    target = f"{registry_emulator.login_server}/{repo}:1.0"

    pushed = ops.push(f"oci:{tmp_path / 'src'}:1.0", target)

    assert pushed.digest == image.index_digest
    assert pushed.media_type == "application/vnd.oci.image.index.v1+json"
    assert pushed.tag == "1.0"
    assert pushed.manifests == 3
    # The shared layer is copied once although both platforms use it.
    assert pushed.blobs_copied == len(image.blobs) == 5
    assert pushed.bytes_copied == sum(len(b) for b in image.blobs.values())
    assert_image_in_registry(registry_emulator.endpoint, repo, image, "1.0")

    pulled = ops.pull(target, f"oci:{tmp_path / 'back'}:again")
    assert pulled.digest == image.index_digest
    assert pulled.blobs_copied == 5
    assert_image_in_layout(tmp_path / "back", image, "again")


def test_second_push_skips_existing_blobs(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    build_layout(tmp_path / "src")
    target = f"{registry_emulator.login_server}/{repo}:1.0"
    ops.push(f"oci:{tmp_path / 'src'}", target)
    again = ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:2.0")
    assert (again.blobs_copied, again.blobs_skipped, again.bytes_copied) == (0, 5, 0)
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client:
        assert sorted(client.list_tags()) == ["1.0", "2.0"]


def test_copy_emulator_to_distribution_and_back(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    emulator_ref = f"{registry_emulator.login_server}/{repo}:1.0"
    ops.push(f"oci:{tmp_path / 'src'}:1.0", emulator_ref)

    to_distribution = ops.copy(emulator_ref, f"{distribution.host}/{repo}:copied")
    assert to_distribution.digest == image.index_digest
    assert to_distribution.blobs_copied == 5 and to_distribution.blobs_mounted == 0
    assert_image_in_registry(distribution.endpoint, repo, image, "copied")

    back = ops.copy(f"{distribution.host}/{repo}:copied", f"{registry_emulator.login_server}/{repo}-back")
    assert back.digest == image.index_digest
    assert back.tag == "copied"  # no target tag: the source's
    assert_image_in_registry(registry_emulator.endpoint, f"{repo}-back", image, "copied")

    # And pull from Distribution by digest into a layout.
    pulled = ops.pull(f"{distribution.host}/{repo}@{image.index_digest}", f"oci:{tmp_path / 'out'}:x")
    assert pulled.digest == image.index_digest
    assert_image_in_layout(tmp_path / "out", image, "x")


def test_push_layout_to_distribution_then_emulator(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src", platforms=("linux/amd64", "linux/arm64", "linux/s390x"))
    result = ops.push(f"oci:{tmp_path / 'src'}:1.0", f"{distribution.host}/{repo}:1.0", concurrency=8)
    assert result.digest == image.index_digest
    assert_image_in_registry(distribution.endpoint, repo, image, "1.0")
    ops.copy(f"{distribution.host}/{repo}:1.0", f"{registry_emulator.login_server}/{repo}:1.0", concurrency=1)
    assert_image_in_registry(registry_emulator.endpoint, repo, image, "1.0")


def test_platform_filter_pushes_a_new_index(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    target = f"{registry_emulator.login_server}/{repo}:arm"

    result = ops.push(f"oci:{tmp_path / 'src'}:1.0", target, platforms=["linux/arm64"])

    assert result.platform_filtered
    assert result.digest != image.index_digest
    assert result.blobs_copied == len(image.platform_blobs["linux/arm64"]) == 3
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client:
        top = client.get_manifest("arm")
        assert top.digest == result.digest
        children = json.loads(top.content)["manifests"]
        assert [c["digest"] for c in children] == [image.manifests["linux/arm64"]]
        # The chosen child is copied byte for byte; the other platform's own blobs are not there.
        assert (
            client.get_manifest(image.manifests["linux/arm64"]).content
            == image.manifest_bytes[image.manifests["linux/arm64"]]
        )
        amd64_only = image.platform_blobs["linux/amd64"] - image.platform_blobs["linux/arm64"]
        assert amd64_only and not any(client.blob_exists(d) for d in amd64_only)


def test_platform_filter_matching_everything_keeps_the_index(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    result = ops.push(
        f"oci:{tmp_path / 'src'}",
        f"{registry_emulator.login_server}/{repo}:all",
        platforms=["linux/amd64", "linux/arm64"],
    )
    assert result.digest == image.index_digest and not result.platform_filtered


def test_platform_filter_without_match_fails_before_writing(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    build_layout(tmp_path / "src")
    with pytest.raises(
        ValueError, match=r"no manifest .* matches windows/amd64 \(available: linux/amd64, linux/arm64\)"
    ):
        ops.push(
            f"oci:{tmp_path / 'src'}",
            f"{registry_emulator.login_server}/{repo}:x",
            platforms=["windows/amd64"],
        )
    with (
        ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client,
        pytest.raises(ResourceNotFoundError),
    ):
        client.get_manifest("x")


def test_copy_within_registry_mounts_blobs(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    source = f"{registry_emulator.login_server}/{repo}:1.0"
    ops.push(f"oci:{tmp_path / 'src'}", source)
    transport = ops.counting_transport()

    result = ops.copy(source, f"{registry_emulator.login_server}/{repo}/mirror:1.0", transport=transport)

    assert result.digest == image.index_digest
    assert (result.blobs_mounted, result.blobs_copied, result.bytes_copied) == (5, 0, 0)
    assert transport.uploads() == []  # no blob byte was uploaded
    mounts = [p for m, p in transport.requests if m == "POST" and p.endswith("/blobs/uploads/")]
    assert len(mounts) == 5
    assert_image_in_registry(registry_emulator.endpoint, f"{repo}/mirror", image, "1.0")


def test_mount_refused_falls_back_to_copy(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    # A transport that strips `mount=`/`from=` makes the registry answer 202 (a plain upload session),
    # as a registry does when it will not mount: the engine must then copy the blob.
    image = build_layout(tmp_path / "src")
    source = f"{registry_emulator.login_server}/{repo}:1.0"
    ops.push(f"oci:{tmp_path / 'src'}", source)
    transport = ops.counting_transport()
    transport.refuse_mounts = True

    result = ops.copy(source, f"{registry_emulator.login_server}/{repo}/copy:1.0", transport=transport)

    assert (result.blobs_mounted, result.blobs_copied) == (0, 5)
    assert len([p for m, p in transport.uploads() if m == "PUT"]) == 5
    assert_image_in_registry(registry_emulator.endpoint, f"{repo}/copy", image, "1.0")


def test_progress_events_add_up(tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str) -> None:
    image = build_layout(tmp_path / "src", layer_size=3 * 1024 * 1024)
    events: list[TransferProgress] = []
    ops.push(
        f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:1.0", progress=events.append
    )
    total = sum(len(b) for b in image.blobs.values())
    assert events and all(e.bytes_total == total and e.blobs_total == 5 for e in events)
    finished = [e for e in events if e.status != "transferring"]
    assert sorted(e.digest for e in finished) == sorted(image.blobs)
    assert max(e.bytes_done for e in events) == total
    assert max(e.blobs_done for e in events) == 5
    for e in events:
        assert 0 <= e.blob_bytes_done <= e.blob_bytes_total == len(image.blobs[e.digest])
    # A second copy skips everything: events say so.
    events.clear()
    ops.push(
        f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:2.0", progress=events.append
    )
    assert {e.status for e in events} == {"skipped"} and events[-1].bytes_done == total


def test_push_rejects_layout_target_and_pull_rejects_layout_source(tmp_path: Path, ops: Ops) -> None:
    build_layout(tmp_path / "src")
    with pytest.raises(InvalidReferenceError, match="push_image needs a registry reference"):
        ops.push(f"oci:{tmp_path / 'src'}", f"oci:{tmp_path / 'dst'}")
    with pytest.raises(InvalidReferenceError, match="pull_image needs a registry reference"):
        ops.pull(f"oci:{tmp_path / 'src'}", f"oci:{tmp_path / 'dst'}")
    assert not (tmp_path / "dst").exists()


def test_layout_to_layout_copy(tmp_path: Path, ops: Ops) -> None:
    image = build_layout(tmp_path / "src")
    result = ops.copy(f"oci:{tmp_path / 'src'}:1.0", f"oci:{tmp_path / 'dst'}:copy")
    assert result.digest == image.index_digest and result.blobs_copied == 5
    assert_image_in_layout(tmp_path / "dst", image, "copy")


def test_missing_tag_in_registry(registry_emulator: Any, ops: Ops, repo: str, tmp_path: Path) -> None:
    with pytest.raises(HttpResponseError) as caught:
        ops.pull(f"{registry_emulator.login_server}/{repo}:nope", f"oci:{tmp_path / 'out'}")
    assert caught.value.status_code == 404
    assert not (tmp_path / "out" / "index.json").exists()


def test_include_referrers(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry_emulator.login_server}/{repo}:1.0")
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client:
        client.upload_blob(b"{}")
        signature = client.upload_blob(b"signed: " + image.index_digest.encode())
        referrer = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.example.signature",
                "config": {
                    "mediaType": "application/vnd.oci.empty.v1+json",
                    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                    "size": 2,
                },
                "layers": [
                    {
                        "mediaType": "application/octet-stream",
                        "digest": signature.digest,
                        "size": signature.size,
                    }
                ],
                "subject": {
                    "mediaType": OCI_INDEX_TYPE,
                    "digest": image.index_digest,
                    "size": len(image.index_bytes),
                },
            }
        ).encode()
        referrer_digest = client.set_manifest(referrer).digest

    without = ops.copy(f"{registry_emulator.login_server}/{repo}:1.0", f"{distribution.host}/{repo}:plain")
    assert without.referrers == 0
    result = ops.copy(
        f"{registry_emulator.login_server}/{repo}:1.0",
        f"{distribution.host}/{repo}:1.0",
        include_referrers=True,
    )

    assert result.referrers == 1 and result.manifests == 4
    with ContainerRegistryContentClient(distribution.endpoint, repo) as client:
        assert client.get_manifest(referrer_digest).content == referrer
        assert [d.digest for d in client.list_referrers(image.index_digest)] == [referrer_digest]
        assert client.download_blob_content(signature.digest).content.startswith(b"signed: ")
    # Into a layout: the referrer is an index.json entry without a name.
    ops.pull(
        f"{registry_emulator.login_server}/{repo}:1.0", f"oci:{tmp_path / 'out'}:1.0", include_referrers=True
    )
    entries = layout_index(tmp_path / "out")["manifests"]
    assert sorted(e["digest"] for e in entries) == sorted([referrer_digest, image.index_digest])


def test_corrupted_source_blob_stops_a_registry_to_registry_copy(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    """Distribution serves whatever is on its disk: a flipped byte there must not reach the target."""
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}:1.0", f"{distribution.host}/{repo}:1.0")
    layer = max(image.blobs, key=lambda digest: len(image.blobs[digest]))
    hexpart = layer.split(":")[1]
    data_file = Path(distribution.root) / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"
    corrupted = bytearray(data_file.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF
    data_file.write_bytes(bytes(corrupted))
    with pytest.raises(DigestValidationError):
        ops.copy(f"{distribution.host}/{repo}:1.0", f"{registry_emulator.login_server}/{repo}:1.0")
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as client:
        with pytest.raises(ResourceNotFoundError):
            client.get_manifest("1.0")
        assert not client.blob_exists(layer)
