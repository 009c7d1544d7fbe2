"""Our own client as the observer of what ended up in the registry (the same for both implementations)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from containerregistry import BasicCredential, ContainerRegistryClient, ContainerRegistryContentClient

ADMIN = ("admin", "admin-Pw-7f3a")
USERS = [f"{ADMIN[0]}:{ADMIN[1]}:admin"]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image(label: str, arch: str = "arm64") -> tuple[bytes, bytes, dict[str, Any]]:
    """(config, layer, manifest) of a tiny OCI image; `label` makes the bytes unique."""
    config = json.dumps({"architecture": arch, "os": "linux", "label": label}).encode()
    layer = f"layer of {label}\n".encode() * 64
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
    }
    return config, layer, manifest


def observer(registry: Any) -> ContainerRegistryClient:
    """Our object-model client as admin."""
    return ContainerRegistryClient(registry.endpoint, BasicCredential(*ADMIN), verify=str(registry.ca_cert))


def content(registry: Any, repository: str) -> ContainerRegistryContentClient:
    """Our content client as admin."""
    return ContainerRegistryContentClient(
        registry.endpoint, repository, BasicCredential(*ADMIN), verify=str(registry.ca_cert)
    )


def push_image(registry: Any, repository: str, tag: str, label: str, arch: str = "arm64") -> str:
    """Push a tiny image with our client; returns its manifest digest."""
    config, layer, manifest = image(label, arch)
    with content(registry, repository) as ours:
        ours.upload_blob(config)
        ours.upload_blob(layer)
        return ours.set_manifest(manifest, tag=tag, media_type=OCI_MANIFEST).digest


def tags_of(registry: Any, repository: str) -> list[str]:
    with content(registry, repository) as ours:
        return sorted(ours.list_tags())


def blob_of(registry: Any, repository: str, digest: str) -> bytes:
    with content(registry, repository) as ours:
        return bytes(ours.download_blob_content(digest).content)


def blob_exists(registry: Any, repository: str, digest: str) -> bool:
    with content(registry, repository) as ours:
        return ours.blob_exists(digest)
