"""A registry that refuses a resumed PATCH's range (416) while it still stores the cut request's bytes.

Real registries (CNCF Distribution, ACR) can report an upload's offset while a cut PATCH is still being
written, and then refuse the PATCH resumed from it: `Content-Range` does not continue the upload. The
client must ask the offset again and resume from there, in the same session, a bounded number of times.
The hostile registry is an aiohttp server on 127.0.0.1 in this process. Sync and async (`make_client`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from containerregistry import RetryPolicy
from containerregistry.exceptions import HttpResponseError
from tests.support.hostile import serve

SIZE = 1 << 20
CUT = 600_000  # what the registry really keeps of the first PATCH
STALE = 200_000  # the offset it first reports, while it is still storing the rest
FAST = RetryPolicy(max_retries=4, backoff_factor=0.01, backoff_max=0.05)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RacyRegistry:
    """One upload session. The first PATCH keeps CUT bytes and fails (500); the status then says STALE;
    the PATCH resumed from STALE gets `refusals` 416s (the true offset is CUT); then the truth."""

    def __init__(self, refusals: int) -> None:
        self.held = bytearray()
        self.refusals = refusals
        self.stale = True
        self.sessions = 0
        self.log: list[str] = []

    def _range(self, offset: int) -> dict[str, str]:
        return {"Range": f"0-{max(offset - 1, 0)}", "Location": "/v2/r/blobs/uploads/u1"}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        self.log.append(f"{method} {request.headers.get('Content-Range', '')}".strip())
        if method == "POST":
            self.sessions += 1
            return web.Response(status=202, headers=self._range(0))
        if method == "GET" and "/uploads/" in request.path:
            self.log[-1] = "STATUS"
            offset = STALE if self.stale and len(self.held) >= CUT else len(self.held)
            self.stale = False
            return web.Response(status=204, headers=self._range(offset))
        if method == "PATCH":
            if not self.held:
                self.held += await request.content.readexactly(CUT)
                return web.Response(status=500, text="cut")
            start = int(request.headers["Content-Range"].split("-")[0])
            if start != len(self.held):
                if self.refusals > 0:
                    self.refusals -= 1
                    self.stale = True  # still "settling": the next status is stale again
                    if self.refusals == 0:
                        self.stale = False
                await request.read()
                return web.json_response(
                    {"errors": [{"code": "RANGE_INVALID", "message": "does not continue the upload"}]},
                    status=416,
                    headers=self._range(len(self.held)),
                )
            self.held += await request.read()
            return web.Response(status=202, headers=self._range(len(self.held)))
        if method == "PUT":
            digest = request.query.get("digest", "")
            if digest != _sha(bytes(self.held)):
                return web.json_response({"errors": [{"code": "DIGEST_INVALID", "message": "x"}]}, status=400)
            return web.Response(status=201, headers={"Docker-Content-Digest": digest})
        return web.Response(status=404)


@pytest.fixture
def racy() -> Iterator[Callable[[int], tuple[str, RacyRegistry]]]:
    servers: list[Any] = []

    def start(refusals: int) -> tuple[str, RacyRegistry]:
        registry = RacyRegistry(refusals)
        context = serve(registry.handle)
        servers.append(context)
        return context.__enter__(), registry

    yield start
    for context in servers:
        context.__exit__(None, None, None)


@pytest.mark.parametrize("refusals", [1, 2])
def test_a_refused_range_asks_the_offset_again(make_client: Any, racy: Any, refusals: int) -> None:
    data = random.Random(3).randbytes(SIZE)
    url, registry = racy(refusals)
    result = make_client(url, "r", retry=FAST).upload_blob(data)
    assert result.digest == _sha(data)
    assert bytes(registry.held) == data
    assert registry.sessions == 1, registry.log  # resumed in the same session, not started over
    assert registry.log.count("STATUS") == 1 + refusals  # after the cut, and after each refusal


def test_refused_ranges_are_bounded(make_client: Any, racy: Any) -> None:
    data = random.Random(4).randbytes(SIZE)
    url, registry = racy(1000)  # never settles
    with pytest.raises(HttpResponseError) as info:
        make_client(url, "r", retry=FAST).upload_blob(data)
    assert info.value.status_code == 416
    assert len(registry.log) < 30, registry.log
