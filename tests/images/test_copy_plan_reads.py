"""How a recursive copy reads its manifests: a level at a time, each level's reads concurrent (issue 14).

Against the emulator: a 16-platform index whose every manifest has a signature (a referrer) is pulled
with `include_referrers=True` through a transport that delays each manifest or referrers GET by 20 ms
and measures the longest chain of them that ran one after another (a request's round is one more than
the highest round of those that had finished when it was sent). One after another, as the copier read
them before, that is 53 rounds (resolve, the children, then per manifest its referrers list, its
signature and the signature's referrers list); a level at a time it is 6, for the same 68 requests.
`pull_archive` reads through the same `read_plan` (before, its own loop read one after another too).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry._sync import ContainerRegistryContentClient
from containerregistry.transport import AiohttpTransport, Urllib3Transport
from tests.images.support import OCI_INDEX, OCI_MANIFEST, Ops, build_layout, run

_DELAY = 0.02
_EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


class _Rounds:
    """Counts manifest/referrers GETs and the rounds they come in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.requests = self.peak = self.rounds = 0

    @staticmethod
    def counted(request: httpx.Request) -> bool:
        path = request.url.path
        return request.method == "GET" and ("/manifests/" in path or "/referrers/" in path)

    def start(self) -> int:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self.rounds + 1  # after every request that has finished

    def end(self, round_: int) -> None:
        with self.lock:
            self.in_flight -= 1
            self.rounds = max(self.rounds, round_)


class _SyncWaves(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner, self.count = Urllib3Transport(), _Rounds()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.count.counted(request):
            return self.inner.handle_request(request)
        round_ = self.count.start()
        try:
            time.sleep(_DELAY)
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            self.count.end(round_)

    def close(self) -> None:
        self.inner.close()


class _AsyncWaves(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner, self.count = AiohttpTransport(), _Rounds()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.count.counted(request):
            return await self.inner.handle_async_request(request)
        round_ = self.count.start()
        try:
            await asyncio.sleep(_DELAY)
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.count.end(round_)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _sign(client: ContainerRegistryContentClient, media_type: str, digest: str, size: int) -> None:
    signature = client.upload_blob(b"signed: " + digest.encode())
    client.set_manifest(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": "application/vnd.example.signature",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": _EMPTY, "size": 2},
                "layers": [
                    {
                        "mediaType": "application/octet-stream",
                        "digest": signature.digest,
                        "size": signature.size,
                    }
                ],
                "subject": {"mediaType": media_type, "digest": digest, "size": size},
            }
        ).encode()
    )


def _signed_index(tmp_path: Path, registry: Any, ops: Ops, repo: str) -> str:
    """A 16-platform index in `repo`, every manifest of it signed; its reference."""
    image = build_layout(
        tmp_path / "src", platforms=tuple(f"linux/arch{n}" for n in range(16)), layer_size=100
    )
    ops.push(f"oci:{tmp_path / 'src'}", f"{registry.login_server}/{repo}:1.0")
    with ContainerRegistryContentClient(registry.endpoint, repo) as client:
        client.upload_blob(b"{}")
        _sign(client, OCI_INDEX, image.index_digest, len(image.index_bytes))
        for digest, content in image.manifest_bytes.items():
            _sign(client, OCI_MANIFEST, digest, len(content))
    return f"{registry.login_server}/{repo}:1.0"


def _check_rounds(count: _Rounds) -> None:
    # 34 manifests read, 34 referrers lists (those of the 17 signatures are empty).
    assert count.requests == 68
    # Resolve; the top's referrers; its 16 children and its signature; their 17 referrers lists; their
    # 16 signatures; those signatures' referrers lists.
    # That is 6; on a loaded machine a level's requests are not always all sent within 20 ms, which adds
    # rounds (7-10 seen at load average 4), so the bound is far from both 6 and the 53 of reading one
    # manifest after another.
    assert count.rounds <= 16, count.rounds
    assert count.peak > 1
    print(f"manifest reads: {count.requests} requests in {count.rounds} rounds, {count.peak} at once")


@pytest.mark.parametrize("target", ["oci", "oci-archive"])
def test_a_recursive_copy_reads_each_level_of_manifests_concurrently(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str, target: str
) -> None:
    """copy_image into a layout and pull_archive into an oci-archive plan alike (`read_plan`)."""
    source = _signed_index(tmp_path, registry_emulator, ops, repo)
    transport = _AsyncWaves() if ops.kind.is_async else _SyncWaves()
    # concurrency=32: a level fits in one round.
    if target == "oci":
        result = ops.pull(
            source, f"oci:{tmp_path / 'out'}:1.0", include_referrers=True, concurrency=32, transport=transport
        )
    else:
        result = run(
            ops.kind,
            "pull_archive",
            source,
            f"oci-archive:{tmp_path / 'out.tar'}",
            include_referrers=True,
            concurrency=32,
            transport=transport,
        )
    assert (result.manifests, result.referrers) == (34, 17)
    _check_rounds(transport.count)
