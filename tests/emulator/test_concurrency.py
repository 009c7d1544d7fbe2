"""100 concurrent async clients pushing and pulling overlapping blobs and tags."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx

from tests.emulator.emulator_helpers import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256

CLIENTS = 100
# Few distinct layers and tags so that clients collide on the same blobs, sessions and tag rows.
LAYERS = [hashlib.sha256(str(i).encode()).digest() * (2000 + 500 * i) for i in range(8)]
TAGS = [f"t{i}" for i in range(10)]


async def _push_blob(http: httpx.AsyncClient, repo: str, data: bytes, chunked: bool) -> str:
    digest = sha256(data)
    if not chunked:
        response = await http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
        assert response.status_code == 201, response.text
        return digest
    location = (await http.post(f"/v2/{repo}/blobs/uploads/")).headers["Location"]
    half = len(data) // 2
    response = await http.patch(location, content=data[:half], headers={"Content-Range": f"0-{half - 1}"})
    assert response.status_code == 202, response.text
    response = await http.patch(
        response.headers["Location"],
        content=data[half:],
        headers={"Content-Range": f"{half}-{len(data) - 1}"},
    )
    assert response.status_code == 202, response.text
    response = await http.put(response.headers["Location"], params={"digest": digest})
    assert response.status_code == 201, response.text
    return digest


async def _client(endpoint: str, index: int) -> tuple[str, str, str]:
    repo = f"load/r{index % 7}"
    layers = [LAYERS[index % len(LAYERS)], LAYERS[(index * 3 + 1) % len(LAYERS)]]
    async with httpx.AsyncClient(base_url=endpoint, timeout=60) as http:
        config = json.dumps({"architecture": "amd64", "os": "linux", "n": index}).encode()
        descriptors = []
        for j, layer in enumerate(layers):
            digest = await _push_blob(http, repo, layer, chunked=(index + j) % 2 == 0)
            descriptors.append({"mediaType": OCI_LAYER, "digest": digest, "size": len(layer)})
        config_digest = await _push_blob(http, repo, config, chunked=False)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": descriptors,
            }
        ).encode()
        tag = TAGS[index % len(TAGS)]
        response = await http.put(
            f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"Content-Type": OCI_MANIFEST}
        )
        assert response.status_code == 201, response.text
        digest = response.headers["Docker-Content-Digest"]
        assert digest == sha256(manifest)
        # Pull back by digest: the same bytes, and every blob with the same digest.
        got = await http.get(f"/v2/{repo}/manifests/{digest}")
        assert got.status_code == 200 and got.content == manifest
        for layer in layers:
            blob = await http.get(f"/v2/{repo}/blobs/{sha256(layer)}")
            assert blob.status_code == 200
            assert sha256(blob.content) == sha256(layer)
        by_tag = await http.get(f"/v2/{repo}/manifests/{tag}")
        assert by_tag.status_code == 200
        assert sha256(by_tag.content) == by_tag.headers["Docker-Content-Digest"]
        return repo, tag, digest


async def test_hundred_concurrent_clients(registry_emulator: Any) -> None:
    results = await asyncio.wait_for(
        asyncio.gather(*(_client(registry_emulator.endpoint, i) for i in range(CLIENTS))), timeout=120
    )
    assert len(results) == CLIENTS
    async with httpx.AsyncClient(base_url=registry_emulator.endpoint, timeout=30) as http:
        for repo in {r for r, _, _ in results}:
            pushed = {d for r, _, d in results if r == repo}
            listing = (await http.get(f"/acr/v1/{repo}/_manifests")).json()["manifests"]
            assert {m["digest"] for m in listing} == pushed
            tags = (await http.get(f"/v2/{repo}/tags/list")).json()["tags"]
            assert sorted(tags) == sorted({t for r, t, _ in results if r == repo})
            for tag in tags:
                digest = (await http.head(f"/v2/{repo}/manifests/{tag}")).headers["Docker-Content-Digest"]
                # A tag ends on one of the manifests pushed to it.
                assert digest in {d for r, t, d in results if r == repo and t == tag}
