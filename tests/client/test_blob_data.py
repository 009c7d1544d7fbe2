"""`BlobData`: what `upload_blob` accepts, as a type (checked by mypy) and at run time (against the emulator).

`typed_*` are type-checked by `./dev checks`; each `# type: ignore[arg-type]` is a case mypy must refuse
(with `warn_unused_ignores`, an ignore that no longer matches an error fails the check, so `data: Any`
would fail it). The tests upload every accepted kind, sync and async, and check what the registry holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

import pytest

import containerregistry
from containerregistry import BlobData, ContainerRegistryContentClient, aio
from containerregistry.emulator import RunningEmulator

DATA = b"layer bytes " * 1000
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()


def _chunks() -> Iterator[bytes]:
    for start in range(0, len(DATA), 4096):
        yield DATA[start : start + 4096]


def _kinds(tmp_path: Path) -> dict[str, BlobData]:
    path = tmp_path / "blob"
    path.write_bytes(DATA)
    return {
        "bytes": DATA,
        "bytearray": bytearray(DATA),
        "memoryview": memoryview(DATA),
        "str path": str(path),
        "Path": path,
        "BytesIO": io.BytesIO(DATA),
        "generator": _chunks(),
        "list of chunks": list(_chunks()),
    }


# -- checked by mypy ---------------------------------------------------------------------------------


def typed_accepted(client: ContainerRegistryContentClient, file: BinaryIO, stream: IO[bytes]) -> None:
    client.upload_blob(DATA)
    client.upload_blob(Path("layer.tar"))
    client.upload_blob(file)
    client.upload_blob(stream)
    client.upload_blob(sys.stdin.buffer)
    client.upload_blob(chunk for chunk in [DATA])
    with open("layer.tar", "rb") as opened:
        client.upload_blob(opened)


async def typed_refused(
    client: ContainerRegistryContentClient, async_client: aio.ContainerRegistryContentClient, text: TextIO
) -> None:
    async def agen() -> AsyncIterator[bytes]:
        yield DATA

    client.upload_blob(io.StringIO("text"))  # type: ignore[arg-type]
    client.upload_blob(42)  # type: ignore[arg-type]
    texts: list[str] = ["text", "chunks"]
    client.upload_blob(texts)  # type: ignore[arg-type]
    client.upload_blob(text)  # type: ignore[arg-type]
    await async_client.upload_blob(agen())  # type: ignore[arg-type]


def test_blob_data_is_exported_by_both_apis() -> None:
    assert containerregistry.BlobData is aio.BlobData
    assert "BlobData" in containerregistry.__all__ and "BlobData" in aio.__all__


# -- run ----------------------------------------------------------------------------------------------


def test_every_kind_uploads_sync(registry_emulator: RunningEmulator, tmp_path: Path) -> None:
    with ContainerRegistryContentClient(registry_emulator.endpoint, "blobdata/sync") as client:
        for kind, data in _kinds(tmp_path).items():
            result = client.upload_blob(data)
            assert (result.digest, result.size) == (DIGEST, len(DATA)), kind
        assert client.download_blob_content(DIGEST).content == DATA
        with pytest.raises(TypeError, match="binary file object"):
            client.upload_blob(io.StringIO("text"))  # type: ignore[arg-type]


def test_every_kind_uploads_async(registry_emulator: RunningEmulator, tmp_path: Path) -> None:
    async def main() -> None:
        async with aio.ContainerRegistryContentClient(registry_emulator.endpoint, "blobdata/async") as client:
            for kind, data in _kinds(tmp_path).items():
                result = await client.upload_blob(data)
                assert (result.digest, result.size) == (DIGEST, len(DATA)), kind
            assert (await client.download_blob_content(DIGEST)).content == DATA

            async def agen() -> AsyncIterator[bytes]:
                yield DATA

            chunks: Any = agen()
            with pytest.raises(TypeError, match="cannot upload async_generator"):
                await client.upload_blob(chunks)

    asyncio.run(main())
