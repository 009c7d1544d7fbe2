"""Library `push_archive` / `pull_archive` (sync and async) and `creg push|pull|copy` with oci-archive: and
docker-archive:, on the emulator and Distribution; skopeo writes archives we push and reads those we pull."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from containerregistry import ContainerRegistryContentClient
from containerregistry.exceptions import DigestValidationError
from containerregistry.images import ArchiveError, PlatformNotFoundError
from containerregistry.protocol import media_types
from tests.cli.conftest import run_cli, run_creg
from tests.images.support import run
from tests.support.adapter import ClientKind

pytestmark = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo writes the reference archives")


def _layer() -> tuple[bytes, str]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = secrets.token_bytes(5000)
        info = tarfile.TarInfo(f"file-{secrets.token_hex(2)}.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), "sha256:" + hashlib.sha256(uncompressed).hexdigest()


def push_real_image(endpoint: str, repository: str, tag: str) -> dict[str, Any]:
    """A two-platform index of images with real gzip tar layers and matching diff_ids."""
    with ContainerRegistryContentClient(endpoint, repository, None) as client:
        entries = []
        for arch in ("amd64", "arm64"):
            layer, diff_id = _layer()
            layer_d = client.upload_blob(layer)
            config = json.dumps(
                {
                    "architecture": arch,
                    "os": "linux",
                    "config": {"Labels": {"arch": arch}},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                }
            ).encode()
            config_d = client.upload_blob(config)
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": media_types.OCI_MANIFEST,
                    "config": {
                        "mediaType": media_types.OCI_CONFIG,
                        "digest": config_d.digest,
                        "size": len(config),
                    },
                    "layers": [
                        {
                            "mediaType": media_types.OCI_LAYER_GZIP,
                            "digest": layer_d.digest,
                            "size": len(layer),
                        }
                    ],
                }
            ).encode()
            pushed = client.set_manifest(manifest, tag=f"{tag}-{arch}")
            entries.append(
                {
                    "mediaType": media_types.OCI_MANIFEST,
                    "digest": pushed.digest,
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": arch},
                }
            )
        index = {"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": entries}
        top = client.set_manifest(json.dumps(index).encode(), tag=tag)
    return {"index": top.digest, "amd64": entries[0]["digest"], "arm64": entries[1]["digest"]}


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


def skopeo(*args: str) -> bytes:
    done = subprocess.run(["skopeo", *args], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def host(endpoint: str) -> str:
    return endpoint.split("://", 1)[1]


def digest_of(endpoint: str, repo: str, tag: str) -> str:
    with ContainerRegistryContentClient(endpoint, repo, None) as client:
        return client.get_manifest(tag).digest


def test_oci_archive_round_trip_with_skopeo(endpoint: str, client_kind: ClientKind, tmp_path: Path) -> None:
    repo = f"arch/{client_kind.flavour}-{secrets.token_hex(3)}"
    sample = push_real_image(endpoint, repo, "v1")
    # Ours -> skopeo: every platform, digests preserved.
    ours = tmp_path / "ours.tar"
    result = run(client_kind, "pull_archive", f"{endpoint}/{repo}:v1", f"oci-archive:{ours}")
    assert result.digest == sample["index"] and not (tmp_path / "ours.tar.partial").exists()
    raw = json.loads(skopeo("inspect", "--raw", f"oci-archive:{ours}:v1"))
    assert [m["digest"] for m in raw["manifests"]] == [sample["amd64"], sample["arm64"]]
    skopeo("copy", "--all", f"oci-archive:{ours}:v1", f"dir:{tmp_path / 'dir'}")  # skopeo verifies every blob

    # skopeo -> ours: pushed byte for byte, so the digest is the same.
    theirs = tmp_path / "theirs.tar"
    skopeo(
        "copy",
        "--all",
        "--src-tls-verify=false",
        f"docker://{host(endpoint)}/{repo}:v1",
        f"oci-archive:{theirs}:rel",
    )
    pushed = run(client_kind, "push_archive", f"oci-archive:{theirs}:rel", f"{endpoint}/{repo}-back:v2")
    assert pushed.digest == sample["index"] and pushed.tag == "v2"
    assert digest_of(endpoint, f"{repo}-back", "v2") == sample["index"]
    with pytest.raises(ArchiveError, match="no image named 'nope'"):
        run(client_kind, "push_archive", f"oci-archive:{theirs}:nope", f"{endpoint}/{repo}-back:v3")


def test_docker_archive_from_skopeo_and_to_skopeo(
    endpoint: str, client_kind: ClientKind, tmp_path: Path
) -> None:
    repo = f"arch/{client_kind.flavour}-{secrets.token_hex(3)}"
    sample = push_real_image(endpoint, repo, "v1")
    saved = tmp_path / "saved.tar"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{host(endpoint)}/{repo}:v1-arm64",
        f"docker-archive:{saved}:app:1.0",
    )
    pushed = run(client_kind, "push_archive", f"docker-archive:{saved}", f"{endpoint}/{repo}-loaded")
    assert pushed.tag == "1.0"  # from the archive's RepoTags
    ours_view = json.loads(
        skopeo("inspect", "--tls-verify=false", f"docker://{host(endpoint)}/{repo}-loaded:1.0")
    )
    theirs_view = json.loads(skopeo("inspect", f"docker-archive:{saved}"))
    assert ours_view["Architecture"] == theirs_view["Architecture"] == "arm64"
    assert ours_view["Labels"] == {"arch": "arm64"}

    # An index needs a platform for a docker archive; the chosen image is written, readable by skopeo.
    out = tmp_path / "out.tar"
    with pytest.raises(PlatformNotFoundError):
        run(client_kind, "pull_archive", f"{endpoint}/{repo}:v1", f"docker-archive:{out}")
    assert not out.exists() and not (tmp_path / "out.tar.partial").exists()
    result = run(
        client_kind,
        "pull_archive",
        f"{endpoint}/{repo}:v1",
        f"docker-archive:{out}:app:2",
        platforms=["linux/amd64"],
    )
    assert result.digest == sample["amd64"] and result.platform_filtered
    view = json.loads(skopeo("inspect", f"docker-archive:{out}"))
    assert view["Architecture"] == "amd64" and view["Labels"] == {"arch": "amd64"}
    with tarfile.open(out) as tar:  # what `docker load` tags the image with
        assert json.loads(tar.extractfile("manifest.json").read())[0]["RepoTags"] == ["app:2"]  # type: ignore[union-attr]
    skopeo("copy", f"docker-archive:{out}", f"oci:{tmp_path / 'layout'}:x")  # skopeo verifies the layers


def test_corrupt_archives_are_refused(endpoint: str, tmp_path: Path) -> None:
    repo = f"arch/bad-{secrets.token_hex(3)}"
    push_real_image(endpoint, repo, "v1")
    good = tmp_path / "good.tar"
    skopeo(
        "copy",
        "--src-tls-verify=false",
        f"docker://{host(endpoint)}/{repo}:v1-amd64",
        f"docker-archive:{good}:app:1",
    )
    # Flip a byte inside a layer member: its digest no longer matches the config's diff_id.
    with tarfile.open(good) as tar:
        names = json.loads(tar.extractfile("manifest.json").read())[0]["Layers"]  # type: ignore[union-attr]
        member = tar.getmember(names[0])
    data = bytearray(good.read_bytes())
    data[member.offset_data + 600] ^= 0xFF
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    with pytest.raises(DigestValidationError, match="the config says"):
        run(ClientKind("sync"), "push_archive", f"docker-archive:{bad}", f"{endpoint}/{repo}-bad:v1")
    not_tar = tmp_path / "not.tar"
    not_tar.write_bytes(b"hello")
    with pytest.raises(ArchiveError, match="not a readable tar"), ClientKind("async") as kind:
        run(kind, "push_archive", f"oci-archive:{not_tar}", f"{endpoint}/{repo}-bad:v1")


def test_cli_push_pull_copy_with_archives(endpoint: str, tmp_path: Path) -> None:
    repo = f"arch-cli-{secrets.token_hex(3)}"
    sample = push_real_image(endpoint, repo, "v1")
    archive = tmp_path / "img.tar"
    pulled = run_cli("-r", endpoint, "pull", f"{repo}:v1", f"oci-archive:{archive}")
    assert pulled.exit_code == 0, pulled.stderr
    assert "pull:" in pulled.stderr and archive.is_file()
    pushed = run_cli("-r", endpoint, "-o", "json", "push", f"oci-archive:{archive}", f"{repo}-copy:v1")
    assert pushed.exit_code == 0, pushed.stderr
    assert json.loads(pushed.stdout)["digest"] == sample["index"]
    docker = tmp_path / "docker.tar"
    copied = run_creg(
        "-r", endpoint, "copy", f"{repo}:v1", f"docker-archive:{docker}:app:1", "--platform", "linux/arm64"
    )
    assert copied.returncode == 0, copied.stderr
    assert json.loads(skopeo("inspect", f"docker-archive:{docker}"))["Architecture"] == "arm64"
    # Archive to archive (refused with a usage error before): the arm64 image of the index, by --platform.
    both = run_cli(
        "-r", endpoint, "-o", "json", "copy", f"oci-archive:{archive}", f"docker-archive:{docker}",
        "--platform", "linux/arm64",
    )  # fmt: skip
    assert both.exit_code == 0, both.stderr
    assert json.loads(both.stdout)["digest"] == sample["arm64"]
    assert json.loads(skopeo("inspect", f"docker-archive:{docker}"))["Architecture"] == "arm64"
