"""Docker v2 images pulled into an OCI layout are readable by skopeo (OCI media types), or kept as is.

skopeo (and podman, buildah: containers/image) look only at `index.json` entries of OCI media types;
a Docker v2 manifest stored as is gives "no descriptor found for reference". Sync and async, from
CNCF Distribution and from the emulator.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from containerregistry.protocol.digest import compute_digest
from tests.images.docker_v2 import DOCKER_MANIFEST, push_docker_v2_image, push_docker_v2_list
from tests.images.support import Ops, layout_index
from tests.support.adapter import ClientKind

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _skopeo(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["skopeo", *args], capture_output=True, timeout=120, check=False)


def _blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


@pytest.fixture(params=["distribution", "emulator"])
def registry(request: pytest.FixtureRequest) -> Any:
    if request.param == "distribution":
        return request.getfixturevalue("distribution")
    return request.getfixturevalue("registry_emulator")


def _host(registry: Any) -> str:
    return f"127.0.0.1:{registry.port}"


def test_pulled_docker_image_is_readable_by_skopeo(
    ops: Ops, repo: str, registry: Any, tmp_path: Path
) -> None:
    original = push_docker_v2_image(registry.endpoint, repo, "v1")
    layout = tmp_path / "layout"
    result = ops.pull(f"http://{_host(registry)}/{repo}:v1", f"oci:{layout}:v1")
    inspected = _skopeo("inspect", f"oci:{layout}:v1")  # what the user notices first
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == result.digest
    assert result.converted_from == original and result.digest != original
    assert result.media_type == OCI_MANIFEST
    (entry,) = layout_index(layout)["manifests"]
    assert (entry["mediaType"], entry["digest"]) == (OCI_MANIFEST, result.digest)
    manifest = json.loads(_blob(layout, result.digest))
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+gzip"
    ]
    # Blobs keep their bytes (and so their digests).
    for descriptor in (manifest["config"], *manifest["layers"]):
        assert compute_digest(_blob(layout, descriptor["digest"])) == descriptor["digest"]

    copied = _skopeo("copy", "-q", f"oci:{layout}:v1", f"oci:{tmp_path / 'other'}:v1")
    assert copied.returncode == 0, copied.stderr
    assert layout_index(tmp_path / "other")["manifests"][0]["digest"] == result.digest  # nothing to convert


def test_preserve_digests_keeps_the_docker_manifest(
    ops: Ops, repo: str, registry: Any, tmp_path: Path
) -> None:
    original = push_docker_v2_image(registry.endpoint, repo, "v1")
    layout = tmp_path / "kept"
    result = ops.pull(f"http://{_host(registry)}/{repo}:v1", f"oci:{layout}:v1", convert_to_oci=False)
    assert (result.digest, result.converted_from, result.media_type) == (original, None, DOCKER_MANIFEST)
    assert layout_index(layout)["manifests"][0]["digest"] == original
    assert compute_digest(_blob(layout, original)) == original
    # A push back to a registry from that layout keeps the digest too.
    pushed = ops.push(f"oci:{layout}:v1", f"http://{_host(registry)}/{repo}-back:v1")
    assert pushed.digest == original


def test_pulled_docker_manifest_list_becomes_an_oci_index(
    ops: Ops, repo: str, distribution: Any, tmp_path: Path
) -> None:
    original = push_docker_v2_list(distribution.endpoint, repo, "multi")
    layout = tmp_path / "multi"
    result = ops.pull(f"http://{distribution.host}/{repo}:multi", f"oci:{layout}:multi")
    assert result.converted_from == original and result.media_type == OCI_INDEX
    index = json.loads(_blob(layout, result.digest))
    assert index["mediaType"] == OCI_INDEX
    assert [c["mediaType"] for c in index["manifests"]] == [OCI_MANIFEST, OCI_MANIFEST]
    assert [c["platform"]["architecture"] for c in index["manifests"]] == ["amd64", "arm64"]
    for child in index["manifests"]:
        content = _blob(layout, child["digest"])
        assert compute_digest(content) == child["digest"] and len(content) == child["size"]
        assert json.loads(content)["mediaType"] == OCI_MANIFEST
    copied = _skopeo("copy", "-q", "--all", f"oci:{layout}:multi", f"oci:{tmp_path / 'copy'}:multi")
    assert copied.returncode == 0, copied.stderr
    # One platform only: a filtered index, converted as well.
    amd = ops.pull(
        f"http://{distribution.host}/{repo}:multi", f"oci:{tmp_path / 'amd'}:amd", platforms=["linux/amd64"]
    )
    assert amd.platform_filtered and amd.media_type == OCI_INDEX
    inspected = _skopeo("inspect", "--override-arch", "amd64", f"oci:{tmp_path / 'amd'}:amd")
    assert inspected.returncode == 0, inspected.stderr


@pytest.mark.skipif(
    not (shutil.which("podman") and shutil.which("buildah")), reason="podman/buildah not installed"
)
def test_podman_and_buildah_read_the_pulled_layout(distribution: Any, tmp_path: Path) -> None:
    repo = "img/podman-docker-v2"
    push_docker_v2_image(distribution.endpoint, repo, "v1")
    layout = tmp_path / "layout"  # podman names the image after the path: keep it lowercase
    result = Ops(ClientKind("sync")).pull(f"http://{distribution.host}/{repo}:v1", f"oci:{layout}:v1")
    runroot = Path(tempfile.mkdtemp(prefix="creg-run-"))  # podman wants a runroot under 50 characters
    storage = ["--root", str(tmp_path / "root"), "--runroot", str(runroot), "--storage-driver", "vfs"]
    try:
        pulled = subprocess.run(
            ["podman", *storage, "pull", "-q", f"oci:{layout}:v1"],
            capture_output=True,
            timeout=180,
            check=False,
        )
        assert pulled.returncode == 0, pulled.stderr
        images = subprocess.run(
            ["podman", *storage, "images", "--format", "{{.Digest}}"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.digest.encode() in images.stdout, images.stdout
        built = subprocess.run(
            ["buildah", *storage, "from", f"oci:{layout}:v1"], capture_output=True, timeout=180, check=False
        )
        assert built.returncode == 0, built.stderr
        subprocess.run(["buildah", *storage, "rm", "--all"], capture_output=True, timeout=60, check=False)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)
