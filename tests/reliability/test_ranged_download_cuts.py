"""Downloads on several connections under faults and at scale (sync and async).

- A cut in the middle of one range (the fault proxy, tests/support/faults.py, in front of the
  emulator and Distribution): that range resumes from its last byte, the file verifies, and only the
  bytes in flight are fetched twice.
- A 1 GiB blob fetched in ranges from a server on 127.0.0.1 that serves `Range` (zeros, generated):
  the client's RSS grows by less than 64 MiB (peak VmHWM minus VmRSS before, in a fresh interpreter),
  and the file is complete and verified; the same from CNCF Distribution, which sends as fast as
  loopback goes and so fills every connection's receive buffers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from containerregistry import ContainerRegistryContentClient, aio
from containerregistry.transport import (
    AiohttpTransport,
    AsyncRetryTransport,
    RetryTransport,
    Urllib3Transport,
)
from tests.reliability.test_client_faults import POLICY, TIMEOUT, LogCounter, Target, log_counter, target
from tests.support.faults import FaultConfig, PlannedFault, run_fault_proxy
from tests.support.hostile import serve

pytestmark = pytest.mark.reliability
__all__ = ["log_counter", "target"]  # fixtures used here

FIRST = 256 * 1024
CHUNK = 512 * 1024
# The last range is shorter than the others but longer than any planned cut (at most 3/4 of a CHUNK):
# the ranges after the first race to the proxy, and whichever arrives second is the one cut. (With a
# 1,234-byte last range arriving second, the cut lay beyond its answer and never fired: seen once.)
SIZE = FIRST + 6 * CHUNK + CHUNK * 3 // 4 + 1234
_runs = iter(range(1_000_000))


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_cut_inside_one_range_resumes_that_range(
    target: Target, flavour: str, seed: int, tmp_path: Path, log_counter: LogCounter
) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(SIZE)
    repo = f"reliability/ranged-cut-{flavour}-{next(_runs)}"
    direct = ContainerRegistryContentClient(target.endpoint, repo)
    try:
        digest = direct.upload_blob(data).digest
    finally:
        direct.close()
    cut_at = rng.randint(CHUNK // 4, CHUNK * 3 // 4)
    # The first GET (bytes 0-FIRST) passes (its planned cut lies beyond its answer); the next one, a
    # range of CHUNK bytes, is cut `cut_at` bytes into its answer (head included).
    plan = [
        PlannedFault("cut_down", offset=10 * SIZE, method="GET"),
        PlannedFault("cut_down", offset=cut_at, method="GET"),
    ]
    out = tmp_path / "blob"
    with run_fault_proxy(target.port, FaultConfig(seed=seed), plan) as proxy:
        sizes: dict[str, Any] = {"max_single_get_size": FIRST, "max_chunk_get_size": CHUNK, "retry": POLICY}
        if flavour == "sync":
            transport = RetryTransport(Urllib3Transport(trust_env=False), POLICY)
            with (
                httpx.Client(transport=transport, timeout=TIMEOUT, trust_env=False) as http,
                ContainerRegistryContentClient(proxy.endpoint, repo, http_client=http, **sizes) as client,
            ):
                result = client.download_blob_to(digest, out)
        else:

            async def go() -> Any:
                transport = AsyncRetryTransport(AiohttpTransport(trust_env=False), POLICY)
                async with (
                    httpx.AsyncClient(transport=transport, timeout=TIMEOUT, trust_env=False) as http,
                    aio.ContainerRegistryContentClient(
                        proxy.endpoint, repo, http_client=http, **sizes
                    ) as client,
                ):
                    return await client.download_blob_to(digest, out)

            result = asyncio.run(go())
        cuts, ranged, down = proxy.faults["cut_down"], proxy.ranged_gets, proxy.bytes_down
    print(
        f"\n[reliability] ranged download cut {cut_at} bytes into a range ({target.kind}, {flavour}): "
        f"{ranged} ranged GETs, {down} bytes through the proxy for {SIZE}"
    )
    assert result.size == SIZE
    assert out.read_bytes() == data
    assert not (tmp_path / "blob.partial").exists()
    assert cuts == 1
    assert log_counter.resumes == 1
    ranges = 1 + -(-(SIZE - FIRST) // CHUNK)
    assert ranged == ranges + 1  # every range once, and the cut one resumed once
    # Only what was in flight came twice (aiohttp may drop up to its 2 MiB read-ahead at a cut).
    allowance = 64 * 1024 if flavour == "sync" else 2 * 1024 * 1024 + 64 * 1024
    assert down < SIZE + allowance, f"{down} bytes read for a {SIZE}-byte blob"


# -- 1 GiB in ranges, constant memory -----------------------------------------------------------------

GIB = 1 << 30
_BLOCK = bytes(1 << 20)
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _zeros_digest(size: int) -> str:
    hasher = hashlib.sha256()
    for _ in range(size // len(_BLOCK)):
        hasher.update(_BLOCK)
    return "sha256:" + hasher.hexdigest()


def _zeros_server(digest: str, size: int, seen: list[str]) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path in ("/v2", "/v2/"):
            return web.json_response({})
        if not request.path.endswith(f"/blobs/{digest}"):
            return web.json_response({"errors": [{"code": "BLOB_UNKNOWN", "message": "no"}]}, status=404)
        header = request.headers.get("Range", "")
        seen.append(header)
        match = _RANGE.fullmatch(header)
        start, end = 0, size
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if match:
            start = int(match[1])
            end = min(int(match[2]) + 1, size) if match[2] else size
            response.set_status(206)
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response.content_length = end - start
        await response.prepare(request)
        left = end - start
        try:
            while left:
                n = min(left, len(_BLOCK))
                await response.write(_BLOCK[:n] if n < len(_BLOCK) else _BLOCK)
                left -= n
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return response

    return handler


_CHILD = """
import asyncio, json, sys
from containerregistry import ContainerRegistryContentClient
from containerregistry.aio import ContainerRegistryContentClient as AsyncClient
import containerregistry.transport, httpx

def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

endpoint, digest, target, flavour = sys.argv[1:5]
before = status_kib("VmRSS")
if flavour == "sync":
    with ContainerRegistryContentClient(endpoint, "big/blob") as client:
        size = client.download_blob_to(digest, target).size
else:
    async def go():
        async with AsyncClient(endpoint, "big/blob") as client:
            return (await client.download_blob_to(digest, target)).size
    size = asyncio.run(go())
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (a big pytest process).
peak = status_kib("VmHWM")
print(json.dumps({"size": size, "growth_kib": peak - before}))
"""


@pytest.fixture(scope="module")
def gib_digest() -> str:
    return _zeros_digest(GIB)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_one_gib_in_ranges_in_constant_memory(tmp_path: Path, flavour: str, gib_digest: str) -> None:
    seen: list[str] = []
    target_file = tmp_path / "blob"
    with serve(_zeros_server(gib_digest, GIB, seen)) as endpoint:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, endpoint, gib_digest, str(target_file), flavour],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    growth_mib = result["growth_kib"] / 1024
    print(
        f"\n[reliability] 1 GiB in {len(seen)} ranges to a file, {flavour}: RSS growth {growth_mib:.1f} MiB"
    )
    assert result["size"] == GIB
    assert target_file.stat().st_size == GIB
    assert len(seen) > 8 and all(header.startswith("bytes=") for header in seen)
    assert growth_mib < 64


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_one_gib_from_distribution_in_constant_memory(
    distribution: Any, tmp_path: Path, flavour: str, gib_digest: str
) -> None:
    """The same bound against CNCF Distribution: a registry that sends as fast as loopback goes, so every
    connection's receive buffers fill (the generated server above is slower than the client)."""
    repo = "big/blob"
    with ContainerRegistryContentClient(distribution.endpoint, repo) as client:
        if not client.blob_exists(gib_digest):
            zeros = tmp_path / "zeros"
            with open(zeros, "wb") as out:
                out.truncate(GIB)  # sparse: read back as zeros without a GiB of disk
            assert client.upload_blob(zeros).digest == gib_digest
            zeros.unlink()
    target_file = tmp_path / "blob"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, distribution.endpoint, gib_digest, str(target_file), flavour],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    growth_mib = result["growth_kib"] / 1024
    print(
        f"\n[reliability] 1 GiB in ranges from Distribution to a file, {flavour}: RSS growth {growth_mib:.1f} MiB"
    )
    assert result["size"] == GIB
    assert target_file.stat().st_size == GIB
    assert growth_mib < 64
