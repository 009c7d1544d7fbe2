"""Helpers for the emulator tests: push/pull over httpx, OCI error body checks."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import socket
from typing import Any

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

_counter = itertools.count()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Reg:
    """Thin helper over an httpx.Client pointed at one emulator."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.http = httpx.Client(base_url=endpoint, timeout=30)

    def close(self) -> None:
        self.http.close()

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        response = self.http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
        assert response.status_code == 201, response.text
        return digest

    def put_manifest(
        self,
        repo: str,
        reference: str,
        manifest: dict[str, Any] | bytes,
        media_type: str | None = OCI_MANIFEST,
    ) -> httpx.Response:
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        headers = {"Content-Type": media_type} if media_type else {}
        return self.http.put(f"/v2/{repo}/manifests/{reference}", content=body, headers=headers)

    def push_image(
        self,
        repo: str,
        tag: str | None,
        layers: list[bytes] | None = None,
        *,
        arch: str = "amd64",
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, bytes]:
        layers = layers if layers is not None else [f"layer {next(_counter)}".encode()]
        config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers"}}).encode()
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.push_blob(repo, config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER, "digest": self.push_blob(repo, layer), "size": len(layer)}
                for layer in layers
            ],
        }
        manifest.update(extra or {})
        body = json.dumps(manifest).encode()
        response = self.put_manifest(repo, tag or sha256(body), body)
        assert response.status_code == 201, response.text
        assert response.headers["Docker-Content-Digest"] == sha256(body)
        return sha256(body), body


def errors_of(response: httpx.Response) -> list[str]:
    """The OCI error codes of a response (asserting it has a proper OCI error body)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body["errors"], list) and body["errors"]
    assert "Traceback" not in response.text
    return [e["code"] for e in body["errors"]]


def raw_request(endpoint: str, head: bytes, *, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send raw request bytes (for what httpx refuses to send); return (status, response bytes so far)."""
    host, port = endpoint.rsplit("/", 1)[-1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        # Read the (short) body if Content-Length says so.
        header, _, body = data.partition(b"\r\n\r\n")
        match = re.search(rb"(?i)content-length: *([0-9]+)", header)
        want = int(match[1]) if match else 0
        while len(body) < want:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(data.split(b" ", 2)[1]), header + b"\r\n\r\n" + body
