"""pull_image and push_image stay within the copy's per-registry connection budget (issue 14; sync, async).

Against the emulator, through a transport that counts the blob requests in flight (a GET from its
send until its body is closed; an upload's POST, PATCH or PUT until its answer), each delayed by 20 ms
so that requests overlap even on a loaded machine. A pull of an image with 3 large layers (over
`max_single_get_size`, so each is fetched in ranges: 4 workers x 8 ranges could have 32 GETs in
flight) never has more than `REGISTRY_CONNECTIONS` GETs in flight, and still fetches every range of
each layer once, several at a time. A push with 4 workers and a budget of 2 has at most 2 uploads'
requests in flight.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry.exceptions import HttpResponseError
from containerregistry.images._async import _copier as async_copier
from containerregistry.images._sync import _copier as sync_copier
from containerregistry.transport import AiohttpTransport, Urllib3Transport
from tests.images.support import BuiltImage, Ops, build_layout
from tests.images.test_copy import assert_image_in_registry
from tests.support.adapter import ClientKind
from tests.support.faults import PlannedFault, run_fault_proxy

MIB = 1024 * 1024
_DELAY = 0.02


class _InFlight:
    """Blob GETs and upload requests in flight, their peaks, and the ranged GETs of each path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gets = self.peak_gets = self.uploads = self.peak_uploads = 0
        self.ranged: Counter[str] = Counter()

    def start(self, request: httpx.Request) -> str | None:
        path = request.url.path
        with self.lock:
            if request.method == "GET" and "/blobs/" in path:
                self.gets += 1
                self.peak_gets = max(self.peak_gets, self.gets)
                if "range" in request.headers:
                    self.ranged[path.rsplit("/", 1)[-1]] += 1
                return "gets"
            if request.method in ("POST", "PATCH", "PUT") and "/blobs/uploads/" in path:
                self.uploads += 1
                self.peak_uploads = max(self.peak_uploads, self.uploads)
                return "uploads"
        return None

    def end(self, kind: str) -> None:
        with self.lock:
            setattr(self, kind, getattr(self, kind) - 1)


class _Closing(httpx.SyncByteStream):
    def __init__(self, inner: Any, done: Any) -> None:
        self.inner, self.done = inner, done

    def __iter__(self) -> Iterator[bytes]:
        yield from self.inner

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.done()


class _AsyncClosing(httpx.AsyncByteStream):
    def __init__(self, inner: Any, done: Any) -> None:
        self.inner, self.done = inner, done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self.done()


def _once(count: _InFlight, kind: str) -> Any:
    ended = False

    def done() -> None:
        nonlocal ended
        if not ended:
            ended = True
            count.end(kind)

    return done


class _SyncCounting(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner, self.count = Urllib3Transport(), _InFlight()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kind = self.count.start(request)
        if kind is None:
            return self.inner.handle_request(request)
        done = _once(self.count, kind)
        try:
            time.sleep(_DELAY)
            response = self.inner.handle_request(request)
        except BaseException:
            done()
            raise
        if kind == "uploads":
            done()  # an upload's request is over when it is answered
        else:
            response.stream = _Closing(response.stream, done)
        return response

    def close(self) -> None:
        self.inner.close()


class _AsyncCounting(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner, self.count = AiohttpTransport(), _InFlight()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind = self.count.start(request)
        if kind is None:
            return await self.inner.handle_async_request(request)
        done = _once(self.count, kind)
        try:
            await asyncio.sleep(_DELAY)
            response = await self.inner.handle_async_request(request)
        except BaseException:
            done()
            raise
        if kind == "uploads":
            done()
        else:
            response.stream = _AsyncClosing(response.stream, done)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _counting(ops: Ops) -> _SyncCounting | _AsyncCounting:
    return _AsyncCounting() if ops.kind.is_async else _SyncCounting()


def _budget(monkeypatch: pytest.MonkeyPatch, slots: int | None) -> int:
    for module in (sync_copier, async_copier):
        if slots is not None:
            monkeypatch.setattr(module, "REGISTRY_CONNECTIONS", slots)
    return slots or sync_copier.REGISTRY_CONNECTIONS


@pytest.mark.parametrize(("slots", "layer_mib"), [(1, 24), (3, 24), (None, 40)])
def test_a_pull_of_large_layers_stays_within_the_budget_and_uses_ranges(
    tmp_path: Path,
    registry_emulator: Any,
    ops: Ops,
    repo: str,
    monkeypatch: pytest.MonkeyPatch,
    slots: int | None,
    layer_mib: int,
) -> None:
    """3 large layers (a shared one and one per platform), each `layer_mib / 8` ranges of 8 MiB. With one
    slot, each download's further connections never find a free one: they end, and the first fetches
    every range (no download waits for a slot while holding one, so none is stuck)."""
    budget = _budget(monkeypatch, slots)
    size = layer_mib * MIB
    image: BuiltImage = build_layout(tmp_path / "src", layer_size=size)
    Ops(ClientKind("sync")).push(
        f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0"
    )
    large = [d for d, content in image.blobs.items() if len(content) == size]
    assert len(large) == 3
    transport = _counting(ops)
    result = ops.pull(
        f"{registry_emulator.login_server}/{repo}:1.0", f"oci:{tmp_path / 'out'}", transport=transport
    )
    count = transport.count
    assert result.blobs_copied == len(image.blobs)
    for digest in large:
        assert (tmp_path / "out" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == image.blobs[
            digest
        ]
    print(f"budget {budget}: at most {count.peak_gets} blob GETs in flight; ranged GETs {dict(count.ranged)}")
    # Without the budget, 3 layers x up to 8 ranges each would be in flight at once.
    assert count.peak_gets <= budget
    assert count.peak_gets >= min(2, budget)  # the budget is used, not one request at a time
    assert count.gets == 0  # every body was closed
    # Every 8 MiB range of each large layer asked for once (the first request too carries a Range).
    assert all(count.ranged[digest] == layer_mib // 8 for digest in large), count.ranged


def test_a_push_holds_a_slot_per_upload(
    tmp_path: Path,
    registry_emulator: Any,
    ops: Ops,
    repo: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """4 workers, a budget of 2: at most 2 uploads have a request in flight; the image arrives whole."""
    budget = _budget(monkeypatch, 2)
    image = build_layout(tmp_path / "src", platforms=("linux/amd64", "linux/arm64", "linux/s390x"))
    transport = _counting(ops)
    result = ops.push(
        f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0", transport=transport
    )
    assert result.blobs_copied == len(image.blobs) == 7
    assert 1 <= transport.count.peak_uploads <= budget, transport.count.peak_uploads
    assert_image_in_registry(registry_emulator.endpoint, repo, image, "1.0")


@pytest.mark.parametrize("slots", [1, 3])
def test_a_failed_range_ends_the_pull_with_connections_waiting_for_a_slot(
    tmp_path: Path,
    registry_emulator: Any,
    ops: Ops,
    repo: str,
    monkeypatch: pytest.MonkeyPatch,
    slots: int,
) -> None:
    """A layer's second range is answered 404 (no retry): the pull fails with it at once, also when
    the download's further connections are waiting for a slot (with one slot, they all are); no
    manifest is written."""
    _budget(monkeypatch, slots)
    size = 24 * MIB
    image = build_layout(tmp_path / "src", layer_size=size)
    Ops(ClientKind("sync")).push(
        f"oci:{tmp_path / 'src'}:1.0", f"{registry_emulator.login_server}/{repo}:1.0"
    )
    layer = image.shared_layer
    path = f"/blobs/{layer}$"
    # A cut beyond any answer: the layer's first request passes untouched, the next one gets the 404.
    plan = [
        PlannedFault("cut_down", offset=1 << 40, method="GET", path=path),
        PlannedFault("status", status=404, method="GET", path=path),
    ]
    started = time.monotonic()
    with run_fault_proxy(registry_emulator.port, plan=plan) as proxy:
        with pytest.raises(HttpResponseError) as caught:
            ops.pull(f"{proxy.endpoint}/{repo}:1.0", f"oci:{tmp_path / 'out'}")
        answered = proxy.faults["status_404"]
    assert caught.value.status_code == 404
    assert answered == 1
    assert time.monotonic() - started < 60
    index = tmp_path / "out" / "index.json"
    assert not index.exists() or json.loads(index.read_text())["manifests"] == []
