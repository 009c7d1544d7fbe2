"""Helpers of the interoperability stage: tiny OCI images on disk, and our own client to check what the
third-party tools left in a registry."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from containerregistry import (
    BasicCredential,
    ContainerRegistryContentClient,
    OciDescriptor,
    OciImageManifest,
)

from .conftest import ADMIN

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A reproducible gzipped tar layer and its diff id."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0), sha256(raw)


def image_parts(label: str, arch: str = "amd64") -> tuple[bytes, list[bytes], bytes]:
    """(config, layers, manifest) of a tiny OCI image; `label` makes the bytes unique."""
    layers = [layer({f"{label}/file{i}.txt": f"{label} {i}\n".encode() * (i + 1)}) for i in range(2)]
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["/bin/true"], "Labels": {"label": label}},
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER, "digest": sha256(data), "size": len(data)} for data, _ in layers
            ],
        },
        indent=1,  # not the canonical form: a digest survives only if the exact bytes do
    ).encode()
    return config, [data for data, _ in layers], manifest


def write_layout(directory: Path, tag: str, label: str, arch: str = "amd64") -> str:
    """Write a one-image OCI layout at `directory` (tag `tag`); returns the manifest digest."""
    config, layers, manifest = image_parts(label, arch)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for data in (config, *layers, manifest):
        (blobs / sha256(data).removeprefix("sha256:")).write_bytes(data)
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return sha256(manifest)


def read_layout(directory: Path) -> dict[str, Any]:
    """{tag: manifest digest} of an OCI layout."""
    index = json.loads((directory / "index.json").read_text())
    return {
        m.get("annotations", {}).get("org.opencontainers.image.ref.name", ""): m["digest"]
        for m in index["manifests"]
    }


def client(registry: Any, repository: str, credential: Any = "admin") -> ContainerRegistryContentClient:
    """Our content client for `registry` (admin by default; None = anonymous)."""
    if credential == "admin":
        credential = BasicCredential(*ADMIN) if registry.auth is not None and _has_users(registry) else None
    verify: bool | str = str(registry.ca_cert) if registry.ca_cert else True
    return ContainerRegistryContentClient(registry.endpoint, repository, credential, verify=verify)


def _has_users(registry: Any) -> bool:
    return bool(getattr(getattr(registry.auth, "config", None), "users", None))


def push_image(registry: Any, repository: str, tag: str, label: str, arch: str = "amd64") -> str:
    """Push a tiny image with our client; returns its manifest digest."""
    config, layers, manifest = image_parts(label, arch)
    with client(registry, repository) as ours:
        for data in (config, *layers):
            ours.upload_blob(data)
        ours.set_manifest(manifest, tag=tag, media_type=OCI_MANIFEST)
    return sha256(manifest)


def manifest_of(registry: Any, repository: str, reference: str) -> tuple[str, dict[str, Any]]:
    """(digest, parsed manifest) as our client reads it."""
    with client(registry, repository) as ours:
        got = ours.get_manifest(reference)
        return got.digest, json.loads(got.content)


def tags_of(registry: Any, repository: str) -> list[str]:
    with client(registry, repository) as ours:
        return sorted(ours.list_tags())


def blob_of(registry: Any, repository: str, digest: str) -> bytes:
    with client(registry, repository) as ours:
        return bytes(ours.download_blob_content(digest).content)


__all__ = [
    "OCI_CONFIG",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "OciDescriptor",
    "OciImageManifest",
    "blob_of",
    "client",
    "image_parts",
    "layer",
    "manifest_of",
    "push_image",
    "read_layout",
    "sha256",
    "tags_of",
    "write_layout",
]
