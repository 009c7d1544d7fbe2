"""Helpers for the image tests: build a multi-platform OCI layout by hand, count requests, run both APIs."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from containerregistry import images
from containerregistry.transport import AiohttpTransport, Urllib3Transport
from tests.support.adapter import ClientKind

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class BuiltImage:
    """What `build_layout` wrote."""

    index_digest: str
    index_bytes: bytes
    manifests: dict[str, str]  # "linux/amd64" -> manifest digest
    manifest_bytes: dict[str, bytes]  # digest -> bytes
    blobs: dict[str, bytes] = field(default_factory=dict)  # every distinct config/layer blob
    shared_layer: str = ""
    platform_blobs: dict[str, set[str]] = field(default_factory=dict)  # platform -> its blob digests


def _write_blob(root: Path, data: bytes) -> str:
    digest = sha256(data)
    path = root / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def _descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def build_layout(
    root: Path,
    tag: str = "1.0",
    *,
    platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
    layer_size: int = 300_000,
    layers_per_platform: int = 1,
) -> BuiltImage:
    """An OCI layout holding an index of `platforms`, each image with one shared layer (random bytes)
    and `layers_per_platform` layers of its own; manifests written with indentation so that any
    re-serialization would change their digests."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    shared = os.urandom(layer_size)
    built = BuiltImage("", b"", {}, {})
    built.shared_layer = _write_blob(root, shared)
    built.blobs[built.shared_layer] = shared
    entries = []
    for platform in platforms:
        os_name, arch = platform.split("/")[:2]
        own = [os.urandom(layer_size) for _ in range(layers_per_platform)]
        config = json.dumps(
            {"architecture": arch, "os": os_name, "rootfs": {"type": "layers", "diff_ids": []}}, indent=1
        ).encode()
        digests = {_write_blob(root, config), *(_write_blob(root, layer) for layer in own)}
        for blob in (config, *own):
            built.blobs[sha256(blob)] = blob
        built.platform_blobs[platform] = {*digests, built.shared_layer}
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": _descriptor(OCI_CONFIG, config),
                "layers": [_descriptor(OCI_LAYER, shared), *(_descriptor(OCI_LAYER, layer) for layer in own)],
            },
            indent=3,
        ).encode()
        digest = _write_blob(root, manifest)
        built.manifests[platform] = digest
        built.manifest_bytes[digest] = manifest
        entries.append(_descriptor(OCI_MANIFEST, manifest, platform={"architecture": arch, "os": os_name}))
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, indent=2).encode()
    built.index_digest = _write_blob(root, index)
    built.index_bytes = index
    top = _descriptor(OCI_INDEX, index, annotations={REF_NAME: tag})
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return built


def _strip_mount(request: httpx.Request) -> httpx.Request:
    """The same request without `mount=`/`from=`: the registry then opens a plain upload session (202)."""
    if request.method != "POST" or "mount" not in request.url.params:
        return request
    params = [(k, v) for k, v in request.url.params.multi_items() if k not in ("mount", "from")]
    return httpx.Request(
        "POST", request.url.copy_with(params=params), headers=request.headers, extensions=request.extensions
    )


class CountingTransport(httpx.BaseTransport):
    """Records (method, path) of every request, then sends it with the fast urllib3 transport."""

    def __init__(self) -> None:
        self.inner = Urllib3Transport()
        self.requests: list[tuple[str, str]] = []
        self.refuse_mounts = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return self.inner.handle_request(_strip_mount(request) if self.refuse_mounts else request)

    def close(self) -> None:
        self.inner.close()

    def uploads(self) -> list[tuple[str, str]]:
        """Requests that carry blob bytes (PATCH/PUT of an upload session)."""
        return [(m, p) for m, p in self.requests if m in ("PATCH", "PUT") and "/blobs/uploads/" in p]


class AsyncCountingTransport(httpx.AsyncBaseTransport):
    """The async twin of `CountingTransport` (aiohttp)."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport()
        self.requests: list[tuple[str, str]] = []
        self.refuse_mounts = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return await self.inner.handle_async_request(_strip_mount(request) if self.refuse_mounts else request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def uploads(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m in ("PATCH", "PUT") and "/blobs/uploads/" in p]


def run(kind: ClientKind, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the image function `name` of the flavour's API (async: on the kind's loop)."""
    return kind.run(getattr(kind.images, name)(*args, **kwargs))


def call(kind: ClientKind, endpoint: str, repository: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """Run the image function `name` of the flavour's API with a fresh content client of that flavour."""
    client = kind.package.ContainerRegistryContentClient(endpoint, repository, None)
    with kind.adapt(client):
        return kind.run(getattr(kind.images, name)(client, *args, **kwargs))


class Ops:
    """push/pull/copy/prune through the sync API or the async one (on the kind's event loop)."""

    def __init__(self, kind: ClientKind) -> None:
        self.kind = kind

    @property
    def flavour(self) -> str:
        return self.kind.flavour

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return run(self.kind, name, *args, **kwargs)

    def push(self, *args: Any, **kwargs: Any) -> images.CopyImageResult:
        return self._call("push_image", *args, **kwargs)

    def pull(self, *args: Any, **kwargs: Any) -> images.CopyImageResult:
        return self._call("pull_image", *args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> images.CopyImageResult:
        return self._call("copy_image", *args, **kwargs)

    def prune(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("prune", *args, **kwargs)

    def counting_transport(self) -> CountingTransport | AsyncCountingTransport:
        return AsyncCountingTransport() if self.kind.is_async else CountingTransport()


def layout_index(root: Path) -> dict[str, Any]:
    return json.loads((root / "index.json").read_text())


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
