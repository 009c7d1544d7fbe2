"""Push real Docker v2 schema 2 images (a gzipped tar layer, a Docker config) and manifest lists."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import uuid

from containerregistry import ContainerRegistryContentClient

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(text: bytes) -> tuple[bytes, str]:
    """(gzipped tar holding one file, the tar's digest = its diff_id)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0), _sha256(raw)


def _image(content: ContainerRegistryContentClient, architecture: str) -> bytes:
    layer, diff_id = _layer(f"hello {architecture} {uuid.uuid4().hex}\n".encode())
    config = json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    content.upload_blob(layer)
    content.upload_blob(config)
    # Docker's field order and indentation, so any re-serialization would change the digest.
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "size": len(config), "digest": _sha256(config)},
            "layers": [{"mediaType": DOCKER_LAYER, "size": len(layer), "digest": _sha256(layer)}],
        },
        indent=3,
    ).encode()


def push_docker_v2_image(endpoint: str, repository: str, tag: str, architecture: str = "amd64") -> str:
    """Push a one-layer Docker v2 image under `tag`; return its manifest digest."""
    with ContainerRegistryContentClient(endpoint, repository) as content:
        manifest = _image(content, architecture)
        return content.set_manifest(manifest, tag=tag, media_type=DOCKER_MANIFEST).digest


def push_docker_v2_list(endpoint: str, repository: str, tag: str) -> str:
    """Push a Docker manifest list of linux/amd64 and linux/arm64 images; return the list's digest."""
    with ContainerRegistryContentClient(endpoint, repository) as content:
        entries = []
        for architecture in ("amd64", "arm64"):
            manifest = _image(content, architecture)
            digest = content.set_manifest(manifest, media_type=DOCKER_MANIFEST).digest
            entries.append(
                {
                    "mediaType": DOCKER_MANIFEST,
                    "size": len(manifest),
                    "digest": digest,
                    "platform": {"architecture": architecture, "os": "linux"},
                }
            )
        listing = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": entries}, indent=2)
        return content.set_manifest(listing.encode(), tag=tag, media_type=DOCKER_LIST).digest
