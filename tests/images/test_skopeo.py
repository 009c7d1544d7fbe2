"""Interoperability with skopeo 1.9: it reads the layouts we write, and we read the layouts it writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from containerregistry._sync import ContainerRegistryContentClient
from tests.images.support import Ops, build_layout, layout_index


def skopeo(*args: str) -> str:
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"skopeo {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def test_skopeo_reads_the_layout_we_wrote(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0")
    ops.pull(f"{registry_emulator.login_server}/{repo}:1.0", f"oci:{tmp_path / 'ours'}:v1")

    raw = skopeo("inspect", "--raw", f"oci:{tmp_path / 'ours'}:v1")
    assert raw.encode() == image.index_bytes
    # skopeo copies the whole index out of our layout, keeping every digest.
    skopeo(
        "copy", "--all", "--preserve-digests", f"oci:{tmp_path / 'ours'}:v1", f"oci:{tmp_path / 'theirs'}:v1"
    )
    entry = layout_index(tmp_path / "theirs")["manifests"][0]
    assert entry["digest"] == image.index_digest
    # And one platform of it, verifying the blobs it reads.
    one = json.loads(skopeo("inspect", "--override-arch", "arm64", f"oci:{tmp_path / 'ours'}:v1"))
    assert one["Architecture"] == "arm64"
    assert len(one["Layers"]) == 2


def test_we_read_the_layout_skopeo_wrote(tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str) -> None:
    image = build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0")
    skopeo(
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"docker://{registry_emulator.login_server}/{repo}:1.0",
        f"oci:{tmp_path / 'skopeo'}:from-skopeo",
    )

    result = ops.push(
        f"oci:{tmp_path / 'skopeo'}:from-skopeo", f"{registry_emulator.login_server}/{repo}/again:2.0"
    )

    assert result.digest == image.index_digest
    with ContainerRegistryContentClient(registry_emulator.endpoint, f"{repo}/again") as client:
        assert client.get_manifest("2.0").content == image.index_bytes
        for digest, content in image.blobs.items():
            assert client.download_blob_content(digest).content == content


def test_we_read_a_single_image_skopeo_wrote(tmp_path: Path, distribution: Any, ops: Ops, repo: str) -> None:
    # Without --all skopeo picks one platform and writes a single image manifest (no index).
    build_layout(tmp_path / "src")
    ops.push(f"oci:{tmp_path / 'src'}:1.0", f"{distribution.host}/{repo}:1.0")
    skopeo(
        "copy",
        "--override-arch",
        "arm64",
        "--src-tls-verify=false",
        f"docker://{distribution.host}/{repo}:1.0",
        f"oci:{tmp_path / 'single'}:one",
    )
    digest = layout_index(tmp_path / "single")["manifests"][0]["digest"]
    result = ops.copy(
        f"oci:{tmp_path / 'single'}:one", f"{distribution.host}/{repo}-single:one", platforms=["linux/arm64"]
    )
    assert result.digest == digest and result.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert result.blobs_copied == 3 and not result.platform_filtered
