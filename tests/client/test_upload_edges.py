"""Edge cases of the upload state machine that a real registry shows only under faults (MockTransport)."""

from __future__ import annotations

import hashlib
import json

import httpx

from containerregistry import ContainerRegistryContentClient


def _lossy_registry(lose: str) -> tuple[httpx.MockTransport, list[str]]:
    """A registry that answers the first PATCH (or commit PUT) with 404 BLOB_UPLOAD_INVALID, like
    Distribution after a cut left its stored size ahead of the session state."""
    seen: list[str] = []
    sessions: dict[str, bytearray] = {}
    blobs: dict[str, bytes] = {}
    lost = {"done": False}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if request.method == "POST":
            name = f"s{len(sessions)}"
            sessions[name] = bytearray()
            return httpx.Response(202, headers={"Location": f"/v2/r/blobs/uploads/{name}"})
        session = path.rsplit("/", 1)[-1]
        if request.method == lose and not lost["done"]:
            lost["done"] = True
            body = {"errors": [{"code": "BLOB_UPLOAD_INVALID", "message": "blob upload invalid"}]}
            return httpx.Response(404, json=body)
        if request.method == "PATCH":
            sessions[session] += request.read()
            return httpx.Response(202, headers={"Location": f"/v2/r/blobs/uploads/{session}"})
        if request.method == "PUT":
            digest = request.url.params["digest"]
            data = bytes(sessions.pop(session))
            assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
            blobs[digest] = data
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if request.method == "HEAD":
            digest = path.rsplit("/", 1)[-1]
            return httpx.Response(200 if digest in blobs else 404)
        return httpx.Response(404, content=json.dumps({"errors": []}).encode())

    return httpx.MockTransport(handler), seen


def test_upload_starts_a_new_session_when_the_registry_refuses_the_old_one() -> None:
    for lose in ("PATCH", "PUT"):
        transport, seen = _lossy_registry(lose)
        with ContainerRegistryContentClient("http://127.0.0.1:9", "r", transport=transport) as client:
            data = b"x" * 100_000
            result = client.upload_blob(data)
        assert result.digest == "sha256:" + hashlib.sha256(data).hexdigest()
        assert sum(1 for line in seen if line.startswith("POST")) == 2, seen
