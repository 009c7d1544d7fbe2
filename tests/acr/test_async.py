"""The async clients used natively: `async with`, `async for`, concurrency, async Entra ID credentials."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from containerregistry import aio
from containerregistry.emulator import RunningEmulator
from containerregistry.exceptions import OperationNotAllowedError
from containerregistry.protocol.acr import ArtifactManifestOrder
from containerregistry.transport import AiohttpTransport
from tests.acr.conftest import AsyncCountingTransport, AsyncEntraCredential, RequestLog, Seeder


def _client(acr: RunningEmulator, **kwargs: Any) -> aio.ContainerRegistryClient:
    return aio.ContainerRegistryClient(
        acr.endpoint, AsyncEntraCredential(), verify=str(acr.ca_cert), **kwargs
    )


async def test_async_iteration_and_pages(acr: RunningEmulator, seed: Seeder, repo_name: str) -> None:
    pushed = [seed.push(repo_name, f"v{i}") for i in range(5)]
    async with _client(acr) as client:
        names = [name async for name in client.list_repository_names(results_per_page=2)]
        assert repo_name in names
        repo = client.get_repository(repo_name)
        newest_first = [
            m.digest
            async for m in repo.list_manifest_properties(
                order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING, results_per_page=2
            )
        ]
        assert newest_first == pushed[::-1]
        pages = 0
        async for page in repo.list_tag_properties(results_per_page=2).by_page():
            assert len([tag async for tag in page]) <= 2
            pages += 1
        assert pages == math.ceil(5 / 2)
        token = await client.get_acr_refresh_token()
        assert token is not None and token.count(".") == 2


async def test_sixteen_concurrent_calls_share_one_token(
    acr: RunningEmulator, seed: Seeder, repo_name: str
) -> None:
    seed.push(repo_name, "v1")
    log = RequestLog()
    transport = AsyncCountingTransport(AiohttpTransport(verify=str(acr.ca_cert)), log)
    acr.auth.stats.reset()
    async with _client(acr, transport=transport) as client:
        artifact = client.get_artifact(repo_name, "v1")
        assert (await artifact.get_tag_properties("v1")).name == "v1"  # warm: one challenge, one token
        semaphore = asyncio.Semaphore(16)

        async def call() -> str:
            async with semaphore:
                return (await artifact.get_tag_properties("v1")).digest

        digests = await asyncio.gather(*(call() for _ in range(320)))
    assert len(set(digests)) == 1
    assert log.count(path_contains="/_tags/v1", challenged=False) == 321
    assert len(log.requests) <= 321 + 4
    assert acr.auth.stats.exchanges == 1
    assert acr.auth.stats.token_requests == 1


async def test_cold_concurrent_calls_cost_a_constant_number_of_token_requests(
    acr: RunningEmulator, seed: Seeder, repo_name: str
) -> None:
    seed.push(repo_name, "v1")
    acr.auth.stats.reset()
    async with _client(acr) as client:
        repo = client.get_repository(repo_name)
        results = await asyncio.gather(*(repo.get_properties() for _ in range(16)))
        assert {r.tag_count for r in results} == {1}
        results = await asyncio.gather(*(repo.get_properties() for _ in range(64)))
    # Cold requests go one at a time until the cache is warm: one exchange, one token for the burst.
    print("cold burst of 16 + 64 calls:", acr.auth.stats)
    assert acr.auth.stats.exchanges == 1
    assert acr.auth.stats.token_requests == 1


async def test_async_lock_round_trip(acr: RunningEmulator, seed: Seeder, repo_name: str) -> None:
    seed.push(repo_name, "v1")
    async with _client(acr) as client:
        artifact = client.get_artifact(repo_name, "v1")
        await artifact.update_manifest_properties(can_delete=False)
        try:
            await artifact.delete()
        except OperationNotAllowedError as exc:
            assert exc.status_code == 405
        else:
            raise AssertionError("deleting a locked manifest succeeded")
        await artifact.update_manifest_properties(can_delete=True)
        await artifact.delete()
        assert (await client.delete_repository(repo_name)).deleted_manifests == []


def test_async_client_generated_twin_is_current() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    mine = ("_registry_client.py", "_repository.py", "_artifact.py")
    drifted = [
        line for line in result.stdout.splitlines() if line.startswith("--- ") and line.strip().endswith(mine)
    ]
    assert drifted == [], result.stdout[-2000:]
