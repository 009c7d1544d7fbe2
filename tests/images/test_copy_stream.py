"""Registry-to-registry copies stream each blob (no staging), verify it as it streams, survive the upload race.

Real sockets only: the emulator, CNCF Distribution, and small loopback proxies written here that hold a
blob half-sent until the target has started receiving it, or serve it with a flipped byte.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import http.server
import os
import secrets
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from containerregistry._sync import ContainerRegistryContentClient
from containerregistry.aio import ContainerRegistryContentClient as AsyncContentClient
from containerregistry.exceptions import DigestValidationError, ResourceNotFoundError
from containerregistry.images._sync._copier import REGISTRY_CONNECTIONS
from tests.images.support import BuiltImage, Ops, build_layout, run
from tests.images.test_copy import assert_image_in_registry
from tests.support.adapter import ClientKind

MIB = 1024 * 1024


def _uploads_dir(distribution: Any, repository: str) -> Path:
    return Path(distribution.root) / "docker/registry/v2/repositories" / repository / "_uploads"


def _bytes_in_uploads(distribution: Any, repository: str) -> int:
    """Bytes Distribution holds in open upload sessions of `repository` (what PATCHes streamed so far)."""
    root = _uploads_dir(distribution, repository)
    if not root.is_dir():
        return 0
    return sum(p.stat().st_size for p in root.glob("*/data") if p.is_file())


class _SourceProxy:
    """A loopback HTTP proxy in front of a registry; `serve_blob` decides how a blob's body is written."""

    def __init__(self, upstream: str, serve_blob: Callable[[str, bytes, Any], None]) -> None:
        parts = urlsplit(upstream)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                connection.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() in ("content-length", "connection", "transfer-encoding"):
                        continue
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if self.command == "GET" and "/blobs/sha256:" in self.path and response.status == 200:
                    serve_blob(self.path.rsplit("/", 1)[1], data, self.wfile)
                else:
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _seed(tmp_path: Path, registry_emulator: Any, repo: str, layer_size: int) -> BuiltImage:
    image = build_layout(tmp_path / "src", layer_size=layer_size, platforms=("linux/amd64",))
    ops = Ops(ClientKind("sync"))
    ops.push(f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0")
    return image


def test_copy_streams_each_blob_into_the_target_while_it_is_read(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    """The source holds back the second half of the largest layer until Distribution has received bytes
    of it: a copy that stages the blob before uploading cannot make that happen."""
    image = _seed(tmp_path, registry_emulator, repo, 8 * MIB)
    big = max(image.blobs, key=lambda d: len(image.blobs[d]))
    seen_streaming: list[bool] = []

    def serve_blob(digest: str, data: bytes, out: Any) -> None:
        if digest != big:
            out.write(data)
            return
        half = len(data) // 2
        out.write(data[:half])
        out.flush()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _bytes_in_uploads(distribution, repo) == 0:
            time.sleep(0.02)
        seen_streaming.append(_bytes_in_uploads(distribution, repo) > 0)
        out.write(data[half:])

    proxy = _SourceProxy(registry_emulator.endpoint, serve_blob)
    try:
        # One blob at a time: the only upload session open while the big layer is read is its own.
        result = ops.copy(f"{proxy.host}/{repo}:1.0", f"{distribution.host}/{repo}:1.0", concurrency=1)
    finally:
        proxy.close()
    assert seen_streaming == [True], "the target received nothing of the blob before the source finished it"
    assert result.digest == image.index_digest and result.blobs_copied == len(image.blobs)
    assert_image_in_registry(distribution.endpoint, repo, image, "1.0")


def test_a_source_serving_a_wrong_blob_fails_the_copy_and_commits_nothing(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    image = _seed(tmp_path, registry_emulator, repo, 2 * MIB)
    big = max(image.blobs, key=lambda d: len(image.blobs[d]))

    def serve_blob(digest: str, data: bytes, out: Any) -> None:
        if digest == big:
            flipped = bytearray(data)
            flipped[-1] ^= 0xFF  # the very last byte: only a check before it is sent keeps it out
            data = bytes(flipped)
        out.write(data)

    proxy = _SourceProxy(registry_emulator.endpoint, serve_blob)
    try:
        with pytest.raises(DigestValidationError):
            ops.copy(f"{proxy.host}/{repo}:1.0", f"{distribution.host}/{repo}:1.0", concurrency=1)
    finally:
        proxy.close()
    with ContainerRegistryContentClient(distribution.endpoint, repo) as client:
        with pytest.raises(ResourceNotFoundError):
            client.get_manifest("1.0")
        assert not client.blob_exists(big)
    # The last chunk (holding the wrong byte) was never sent: Distribution never held the whole wrong blob
    # (it keeps the prefix in a dead session: it refuses a DELETE whose state predates the cut PATCH).
    assert _bytes_in_uploads(distribution, repo) < len(image.blobs[big])


def test_emulator_to_emulator_streamed_copy_checks_every_digest(
    tmp_path: Path, registry_emulator: Any, ops: Ops, repo: str
) -> None:
    """Another registry's view of the same emulator (a proxy): no mount, every blob streams through."""
    image = _seed(tmp_path, registry_emulator, repo, 3 * MIB)
    proxy = _SourceProxy(registry_emulator.endpoint, lambda _d, data, out: out.write(data))
    try:
        result = ops.copy(f"{proxy.host}/{repo}:1.0", f"{registry_emulator.login_server}/{repo}-copy:2.0")
    finally:
        proxy.close()
    assert result.blobs_copied == len(image.blobs) and result.blobs_mounted == 0
    assert_image_in_registry(registry_emulator.endpoint, f"{repo}-copy", image, "2.0")


def test_memory_stays_flat_copying_a_large_blob(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    size = 96 * MIB
    _seed(tmp_path, registry_emulator, repo, size)
    tracemalloc.start()
    try:
        result = ops.copy(f"{registry_emulator.login_server}/{repo}:1.0", f"{distribution.host}/{repo}:1.0")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.bytes_copied > 2 * size
    # Large blobs are read in 8 MiB ranges, which hold the copy's per-registry budget until relayed
    # (tests/images/test_copy_ranges.py checks a smaller budget): below both layers, not one of them.
    held = REGISTRY_CONNECTIONS * 8 * MIB
    assert peak < held + 24 * MIB, (
        f"peak {peak / MIB:.1f} MiB of Python allocations copying 2 x {size // MIB} MiB"
    )


def test_concurrent_copies_into_one_distribution_repository_all_land(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    """CNCF Distribution loses a blob when two uploads of it commit at once: the manifest PUT that
    follows gets 400 MANIFEST_BLOB_UNKNOWN. copy_image checks its blobs again and lands anyway."""
    image = _seed(tmp_path, registry_emulator, repo, 100_000)
    source = f"{registry_emulator.login_server}/{repo}:1.0"
    for trial in range(4):
        target_repo = f"{repo}/race{trial}"
        targets = [f"{distribution.host}/{target_repo}:t{i}" for i in range(4)]
        if ops.flavour == "sync":
            with ThreadPoolExecutor(len(targets)) as pool:
                results = list(pool.map(lambda t: ops.copy(source, t), targets))
        else:
            from containerregistry.aio import images as aimages

            async def all_of(refs: list[str]) -> list[Any]:
                return list(await asyncio.gather(*(aimages.copy_image(source, t) for t in refs)))

            results = asyncio.run(all_of(targets))
        assert [r.digest for r in results] == [image.index_digest] * len(targets)
        for i in range(len(targets)):
            assert_image_in_registry(distribution.endpoint, target_repo, image, f"t{i}")


def test_async_upload_blob_takes_an_async_iterable(registry_emulator: Any) -> None:
    parts = [os.urandom(300_000) for _ in range(5)]
    digest = "sha256:" + hashlib.sha256(b"".join(parts)).hexdigest()
    repository = f"stream/{secrets.token_hex(3)}"

    async def chunks() -> AsyncIterator[bytes]:
        for part in parts:
            await asyncio.sleep(0)
            yield part

    async def main() -> Any:
        async with AsyncContentClient(registry_emulator.endpoint, repository) as client:
            uploaded = await client.upload_blob(chunks())
            content = (await client.download_blob_content(digest)).content
            return uploaded, content

    uploaded, content = asyncio.run(main())
    assert (uploaded.digest, uploaded.size) == (digest, sum(map(len, parts)))
    assert content == b"".join(parts)


def test_a_sync_mounts_blobs_it_already_put_in_another_repository_of_the_target(
    tmp_path: Path, registry_emulator: Any, distribution: Any, ops: Ops, repo: str
) -> None:
    """Two jobs mirror the same image into two repositories of Distribution: the second job mounts
    every blob from the first one's repository (cross-repo mount) instead of uploading it again."""
    from containerregistry.images import SyncConfig, SyncJob

    image = _seed(tmp_path, registry_emulator, repo, 1 * MIB)
    source = f"{registry_emulator.endpoint}/{repo}"
    jobs = [SyncJob(source=source, target=f"{distribution.endpoint}/{repo}/m{i}") for i in range(2)]
    report = run(ops.kind, "sync_mirrors", SyncConfig(jobs=jobs))
    assert report.ok, [r.error for r in report.results]
    first, second = (result.items[0] for result in report.results)
    assert (first.action, second.action) == ("copied", "copied")
    assert first.blobs_copied == len(image.blobs) and first.bytes_copied > 0
    assert (second.blobs_copied, second.bytes_copied) == (0, 0), "the second job uploaded blobs again"
    for i in range(2):
        assert_image_in_registry(distribution.endpoint, f"{repo}/m{i}", image, "1.0")
