"""Archives as `docker save` writes them, built in the tests: the classic layout (`<id>/layer.tar`,
`<id>.json`, `manifest.json`, `repositories`, uncompressed layers whose digests are the config's
`diff_ids`), and `docker save | gzip` of it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import secrets
import tarfile
from dataclasses import dataclass
from pathlib import Path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


@dataclass
class SavedImage:
    path: Path
    config: bytes
    layers: list[bytes]  # uncompressed layer tars, in order
    repo_tag: str

    @property
    def layer_digests(self) -> list[str]:
        return ["sha256:" + _sha(layer) for layer in self.layers]

    @property
    def config_digest(self) -> str:
        return "sha256:" + _sha(self.config)


def docker_save(path: Path, repo_tag: str = "app:1.0", *, layers: int = 2, layer_size: int = 20_000,
                arch: str = "amd64") -> SavedImage:  # fmt: skip
    """Write what `docker save repo_tag` writes (classic format) at `path`."""
    blobs = []
    for i in range(layers):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as layer_tar:
            _add(layer_tar, f"data-{i}-{secrets.token_hex(3)}.bin", secrets.token_bytes(layer_size))
        blobs.append(raw.getvalue())
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"saved": repo_tag}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + _sha(b) for b in blobs]},
        }
    ).encode()
    config_id = _sha(config)
    names = []
    with tarfile.open(path, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for blob in blobs:
            layer_id = _sha(blob + config)
            _add(tar, f"{layer_id}/VERSION", b"1.0")
            _add(tar, f"{layer_id}/layer.tar", blob)
            names.append(f"{layer_id}/layer.tar")
        _add(tar, f"{config_id}.json", config)
        manifest = [{"Config": f"{config_id}.json", "RepoTags": [repo_tag], "Layers": names}]
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        repo, _, tag = repo_tag.rpartition(":")
        _add(tar, "repositories", json.dumps({repo: {tag: _sha(blobs[-1] + config)}}).encode())
    return SavedImage(path, config, blobs, repo_tag)


def gzip_file(source: Path, target: Path) -> Path:
    """`gzip -c source > target`."""
    target.write_bytes(gzip.compress(source.read_bytes(), mtime=0))
    return target
