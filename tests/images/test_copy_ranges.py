"""A large blob relayed registry to registry is read in ranges on several connections, in order (sync, async).

Real sockets: the emulator and CNCF Distribution (each as the source, the other as the target), with
the fault proxy (tests/support/faults.py) in front of the source to count the ranged GETs, answer a
range request with the whole blob (200: a source that ignores `Range`) or cut a range in the middle.
A 20 MiB layer is 3 ranges with the client's defaults (8 + 8 + 4 MiB). The proxy is named with
`http://` (it does not answer a TLS probe, which would wait for its timeout).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerregistry.images._async import _copier as async_copier
from containerregistry.images._sync import _copier as sync_copier
from tests.images.support import BuiltImage, Ops, build_layout
from tests.images.test_copy import assert_image_in_registry
from tests.support.adapter import ClientKind
from tests.support.faults import PlannedFault, run_fault_proxy

MIB = 1024 * 1024
LAYER = 20 * MIB  # over max_single_get_size (8 MiB): ranges of max_chunk_get_size (8 MiB)
RANGES_PER_LAYER = 3


@pytest.fixture
def log_records() -> Iterator[list[str]]:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("containerregistry")
    handler, previous = Collect(logging.INFO), logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _seed(tmp_path: Path, source: Any, repo: str) -> BuiltImage:
    """One platform: a shared and an own layer of LAYER bytes each (two large blobs), and a config."""
    image = build_layout(tmp_path / "src", layer_size=LAYER, platforms=("linux/amd64",))
    Ops(ClientKind("sync")).push(f"oci:{tmp_path / 'src'}:1.0", f"{_where(source)}/{repo}:1.0")
    return image


def _where(registry: Any) -> str:
    """`127.0.0.1:PORT` of the emulator or Distribution (what goes in a reference)."""
    return str(getattr(registry, "login_server", None) or registry.host)


def _large(image: BuiltImage) -> list[str]:
    return [d for d, content in image.blobs.items() if len(content) == LAYER]


def _registries(request: pytest.FixtureRequest, direction: str) -> tuple[Any, Any]:
    emulator, distribution = (
        request.getfixturevalue("registry_emulator"),
        request.getfixturevalue("distribution"),
    )
    return (emulator, distribution) if direction == "emulator-to-distribution" else (distribution, emulator)


DIRECTIONS = ["emulator-to-distribution", "distribution-to-emulator"]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_large_blob_is_relayed_in_ranges_in_order(
    request: pytest.FixtureRequest, tmp_path: Path, ops: Ops, repo: str, direction: str
) -> None:
    source, target = _registries(request, direction)
    image = _seed(tmp_path, source, repo)
    with run_fault_proxy(source.port) as proxy:
        result = ops.copy(f"{proxy.endpoint}/{repo}:1.0", f"{_where(target)}/{repo}:1.0")
        ranged, down = proxy.ranged_gets, proxy.bytes_down
    assert result.blobs_copied == len(image.blobs)
    # Every range of each large layer asked once; small blobs and manifests in one GET each.
    assert ranged == RANGES_PER_LAYER * len(_large(image))
    assert down < sum(len(b) for b in image.blobs.values()) + 256 * 1024  # nothing read twice
    assert_image_in_registry(target.endpoint, repo, image, "1.0")


@pytest.mark.parametrize("which", ["every", "a-later-one"])
def test_a_source_that_answers_a_range_with_200_is_read_as_one_stream(
    tmp_path: Path,
    registry_emulator: Any,
    distribution: Any,
    ops: Ops,
    repo: str,
    which: str,
    log_records: list[str],
) -> None:
    """`every`: each GET of the layer gets the whole blob (a registry or storage that ignores Range):
    one range asked, then one stream. `a-later-one`: the layer's second range GET does, after its first
    range was relayed: the single stream drops the bytes already relayed."""
    image = _seed(tmp_path, registry_emulator, repo)
    layer = _large(image)[0]
    path = f"/blobs/{layer}$"
    whole = PlannedFault(
        "status",
        status=200,
        body=image.blobs[layer],
        content_type="application/octet-stream",
        method="GET",
        path=path,
        times=None if which == "every" else 1,
    )
    # A cut beyond any answer: the first request passes untouched, the next one gets the 200.
    plan = (
        [whole]
        if which == "every"
        else [PlannedFault("cut_down", offset=1 << 40, method="GET", path=path), whole]
    )
    with run_fault_proxy(registry_emulator.port, plan=plan) as proxy:
        result = ops.copy(f"{proxy.endpoint}/{repo}:1.0", f"{distribution.host}/{repo}:1.0")
        answered_whole, ranged = proxy.faults["status_200"], proxy.ranged_gets
    assert result.blobs_copied == len(image.blobs)
    assert sum("reading it as one stream" in m for m in log_records) == 1
    other_layers = RANGES_PER_LAYER * (len(_large(image)) - 1)
    if which == "every":
        assert answered_whole == 2  # the first range, then the single stream's GET
        assert ranged == 1 + other_layers  # the ranges after the first never asked for
    else:
        assert answered_whole == 1
        assert ranged == RANGES_PER_LAYER + other_layers
    assert_image_in_registry(distribution.endpoint, repo, image, "1.0")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_a_range_cut_in_the_middle_resumes_that_range(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    ops: Ops,
    repo: str,
    direction: str,
    log_records: list[str],
) -> None:
    source, target = _registries(request, direction)
    image = _seed(tmp_path, source, repo)
    layer = _large(image)[0]
    cut = PlannedFault("cut_down", offset=3 * MIB, method="GET", path=f"/blobs/{layer}$")
    with run_fault_proxy(source.port, plan=[cut]) as proxy:
        result = ops.copy(f"{proxy.endpoint}/{repo}:1.0", f"{_where(target)}/{repo}:1.0")
        cuts, ranged, down = proxy.faults["cut_down"], proxy.ranged_gets, proxy.bytes_down
    assert result.blobs_copied == len(image.blobs)
    assert cuts == 1
    assert sum("interrupted at byte" in m and "resuming" in m for m in log_records) == 1
    assert ranged == RANGES_PER_LAYER * len(_large(image)) + 1  # the cut range asked again, once
    # Only what was in flight came twice (aiohttp may drop up to its 2 MiB read-ahead at a cut).
    assert down < sum(len(b) for b in image.blobs.values()) + 3 * MIB
    assert_image_in_registry(target.endpoint, repo, image, "1.0")


def test_the_ranged_reader_holds_a_window_not_the_blob(
    registry_emulator: Any, client_kind: ClientKind
) -> None:
    """48 MiB read in 1 MiB ranges, 4 at a time, by a consumer slower than the ranges arrive: the
    Python allocations peak near the window (4 x 1 MiB), not the blob; the bytes come in order."""
    size, chunk, concurrency = 48 * MIB, MIB, 4
    data = hashlib.sha256(b"seed").digest() * (size // 32)
    repo = f"img/ranged-window-{client_kind.flavour}"
    options: dict[str, Any] = {"max_chunk_get_size": chunk, "max_concurrency": concurrency}

    async def read_async() -> tuple[str, int]:
        from containerregistry.aio import ContainerRegistryContentClient

        async with ContainerRegistryContentClient(registry_emulator.endpoint, repo, **options) as client:
            digest = (await client.upload_blob(data)).digest
            chunks = client._read_in_ranges(digest, size, asyncio.Semaphore(8))
            assert chunks is not None
            hasher = hashlib.sha256()
            tracemalloc.start()
            try:
                async for piece in chunks:
                    hasher.update(piece)
                    await asyncio.sleep(0.0005)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        return "sha256:" + hasher.hexdigest(), peak

    def read_sync() -> tuple[str, int]:
        from containerregistry import ContainerRegistryContentClient

        with ContainerRegistryContentClient(registry_emulator.endpoint, repo, **options) as client:
            digest = client.upload_blob(data).digest
            chunks = client._read_in_ranges(digest, size, threading.Semaphore(8))
            assert chunks is not None
            hasher = hashlib.sha256()
            tracemalloc.start()
            try:
                for piece in chunks:
                    hasher.update(piece)
                    time.sleep(0.0005)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        return "sha256:" + hasher.hexdigest(), peak

    digest, peak = client_kind.run(read_async()) if client_kind.is_async else read_sync()
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert peak < concurrency * chunk + 6 * MIB, f"peak {peak / MIB:.1f} MiB reading {size // MIB} MiB"


@pytest.mark.parametrize("slots", [3, None])
def test_the_copy_budget_bounds_the_bytes_held(
    tmp_path: Path,
    registry_emulator: Any,
    distribution: Any,
    ops: Ops,
    repo: str,
    slots: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two 40 MiB layers relayed at once: ranges hold at most the copy's per-registry budget of 8 MiB
    ranges (3 here, the default 12 otherwise), whatever the layers' sizes."""
    for module in (sync_copier, async_copier):
        if slots is not None:
            monkeypatch.setattr(module, "REGISTRY_CONNECTIONS", slots)
    budget = slots or sync_copier.REGISTRY_CONNECTIONS
    image = build_layout(tmp_path / "src", layer_size=40 * MIB, platforms=("linux/amd64",))
    Ops(ClientKind("sync")).push(
        f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0"
    )
    tracemalloc.start()
    try:
        result = ops.copy(f"{registry_emulator.login_server}/{repo}:1.0", f"{distribution.host}/{repo}:1.0")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.blobs_copied == len(image.blobs)
    assert peak < budget * 8 * MIB + 16 * MIB, f"peak {peak / MIB:.1f} MiB with {budget} slots"
