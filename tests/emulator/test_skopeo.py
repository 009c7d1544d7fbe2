"""Interop with skopeo: copy an OCI layout into the emulator and back out, list tags, inspect, delete."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from containerregistry.emulator.auth import AuthConfig, User

SKOPEO = shutil.which("skopeo")
pytestmark = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed")


def _layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzipped tar layer and the diff id (digest of the uncompressed tar)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def _write_blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def _make_layout(layout: Path, tag: str) -> bytes:
    layers = [
        _layer({f"dir{i}/file{j}.txt": f"layer {i} file {j}\n".encode() * (50 * i + 1) for j in range(3)})
        for i in range(3)
    ]
    config = json.dumps(
        {
            "architecture": "arm64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                **_write_blob(layout, config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_write_blob(layout, data)}
                for data, _ in layers
            ],
        },
        indent=1,
    ).encode()
    descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **_write_blob(layout, manifest)}
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    return manifest


def _skopeo(*args: str) -> str:
    assert SKOPEO is not None
    result = subprocess.run([SKOPEO, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"skopeo {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def _blobs(layout: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (layout / "blobs" / "sha256").iterdir()}


@pytest.mark.parametrize("mode", ["open", "token"])
def test_skopeo_round_trip(tmp_path: Path, registry_emulator_factory: Any, mode: str) -> None:
    creds: list[str] = []
    auth = None
    if mode == "token":
        auth = AuthConfig(users={"ci": User("ci", "ci-password", frozenset({"admin"}))})
        creds = ["--creds", "ci:ci-password"]
    registry = registry_emulator_factory(auth=auth)
    source, target = tmp_path / "src", tmp_path / "dst"
    source.mkdir()
    manifest = _make_layout(source, "v1")
    image = f"docker://{registry.login_server}/interop/app"
    _skopeo(
        "copy",
        "--dest-tls-verify=false",
        *[c.replace("--creds", "--dest-creds") for c in creds],
        f"oci:{source}:v1",
        f"{image}:v1",
    )
    _skopeo(
        "copy",
        "--src-tls-verify=false",
        *[c.replace("--creds", "--src-creds") for c in creds],
        f"{image}:v1",
        f"oci:{target}:v1",
    )
    assert _blobs(target) == _blobs(source)
    index = json.loads((target / "index.json").read_text())
    out_digest = index["manifests"][0]["digest"]
    assert (target / "blobs" / "sha256" / out_digest.split(":")[1]).read_bytes() == manifest
    tags = json.loads(_skopeo("list-tags", "--tls-verify=false", *creds, image))
    assert tags["Tags"] == ["v1"]
    info = json.loads(_skopeo("inspect", "--tls-verify=false", *creds, f"{image}:v1"))
    assert info["Digest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()
    assert info["Architecture"] == "arm64" and info["Os"] == "linux"
    assert len(info["Layers"]) == 3
    _skopeo("delete", "--tls-verify=false", *creds, f"{image}:v1")
    result = subprocess.run(
        [str(SKOPEO), "inspect", "--tls-verify=false", *creds, f"{image}:v1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
