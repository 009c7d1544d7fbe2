"""64 MiB blob upload and download through both transports against the real Distribution registry,
and the aiohttp transport moving between event loops."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import sys
import warnings
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from containerregistry.transport import (
    AiohttpTransport,
    Urllib3Transport,
    create_async_transport,
    create_transport,
)

SIZE = 64 << 20
CHUNK = 1 << 20


def _blob_chunks() -> Iterator[bytes]:
    # Distinct content per MiB so a reordered or repeated chunk changes the digest.
    for i in range(SIZE // CHUNK):
        yield hashlib.sha256(str(i).encode()).digest() * (CHUNK // 32)


@pytest.fixture(scope="module")
def blob_digest() -> str:
    hasher = hashlib.sha256()
    for chunk in _blob_chunks():
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def test_sync_upload_and_download_64mib(registry_url: str, blob_digest: str) -> None:
    with httpx.Client(transport=Urllib3Transport(), timeout=60) as client:
        start = client.post(f"{registry_url}/v2/sync/blobs/uploads/")
        assert start.status_code == 202
        location = httpx.URL(registry_url).join(start.headers["Location"])
        put = client.put(
            location.copy_merge_params({"digest": blob_digest}),
            content=_blob_chunks(),
            headers={"Content-Length": str(SIZE), "Content-Type": "application/octet-stream"},
        )
        assert put.status_code == 201, put.text
        assert put.headers["Docker-Content-Digest"] == blob_digest

        hasher = hashlib.sha256()
        received = 0
        with client.stream("GET", f"{registry_url}/v2/sync/blobs/{blob_digest}") as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                hasher.update(chunk)
                received += len(chunk)
        assert received == SIZE
        assert "sha256:" + hasher.hexdigest() == blob_digest

        head = client.head(f"{registry_url}/v2/sync/blobs/{blob_digest}")
        assert head.status_code == 200
        assert head.headers["Content-Length"] == str(SIZE)
        assert head.content == b""


async def test_async_upload_and_download_64mib(registry_url: str, blob_digest: str) -> None:
    async def body() -> AsyncIterator[bytes]:
        for chunk in _blob_chunks():
            yield chunk

    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=60) as client:
        start = await client.post(f"{registry_url}/v2/async/blobs/uploads/")
        assert start.status_code == 202
        location = httpx.URL(registry_url).join(start.headers["Location"])
        put = await client.put(
            location.copy_merge_params({"digest": blob_digest}),
            content=body(),
            headers={"Content-Length": str(SIZE)},
        )
        assert put.status_code == 201, put.text
        assert put.headers["Docker-Content-Digest"] == blob_digest

        hasher = hashlib.sha256()
        received = 0
        async with client.stream("GET", f"{registry_url}/v2/async/blobs/{blob_digest}") as response:
            assert response.status_code == 200
            async for chunk in response.aiter_raw():
                hasher.update(chunk)
                received += len(chunk)
        assert received == SIZE
        assert "sha256:" + hasher.hexdigest() == blob_digest


def test_default_stacks_against_registry(registry_url: str) -> None:
    with httpx.Client(transport=create_transport()) as client:
        assert client.get(f"{registry_url}/v2/").status_code == 200
        missing = client.get(f"{registry_url}/v2/nothing/manifests/latest")
        assert missing.status_code == 404
        assert b"MANIFEST_UNKNOWN" in missing.content or b"NAME_UNKNOWN" in missing.content

    async def run() -> int:
        async with httpx.AsyncClient(transport=create_async_transport()) as client:
            return (await client.get(f"{registry_url}/v2/")).status_code

    assert asyncio.run(run()) == 200


def test_aiohttp_transport_survives_event_loop_changes(registry_url: str) -> None:
    transport = AiohttpTransport()
    client = httpx.AsyncClient(transport=transport)

    async def get() -> int:
        response = await client.get(f"{registry_url}/v2/")
        return response.status_code

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Three loops in a row, the way function-scoped pytest loops use a shared client; the
        # connection pooled in a dead loop must not break the next one or leak.
        assert [asyncio.run(get()) for _ in range(3)] == [200, 200, 200]

        async def finish() -> None:
            assert await get() == 200
            await client.aclose()

        asyncio.run(finish())
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning) or "nclosed" in str(w.message)]
    assert leaks == []


def test_aiohttp_transport_after_loop_closed_without_cleanup(registry_url: str) -> None:
    """A loop closed by hand (no `shutdown_asyncgens`): the next loop gets a fresh session, nothing errors."""
    transport = AiohttpTransport()
    client = httpx.AsyncClient(transport=transport)

    async def get() -> int:
        return (await client.get(f"{registry_url}/v2/")).status_code

    unraisable: list[object] = []
    previous = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with warnings.catch_warnings():
            # The dead loop's sockets can only be reclaimed by the garbage collector.
            warnings.simplefilter("ignore", ResourceWarning)
            loop = asyncio.new_event_loop()
            assert loop.run_until_complete(get()) == 200
            loop.close()

            async def again() -> int:
                status = await get()
                await client.aclose()
                return status

            assert asyncio.run(again()) == 200
            gc.collect()
    finally:
        sys.unraisablehook = previous
    assert unraisable == []
