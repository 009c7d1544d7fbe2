"""No response can exhaust the client's memory or escape the error contract (sync and async).

A hostile registry on loopback (an aiohttp server in the test process) answers with:

* a gzip-of-gzip bomb (`Content-Encoding: gzip, gzip`, ~2.5 KB on the wire, 1 GiB decoded) as a
  manifest, a token answer, a tag list, ACR JSON, an upload answer, an error body and a 401 body:
  each ends in a clear `RegistryError` (`RegistryProtocolError`, `ManifestTooLargeError` for a
  manifest, the mapped `HttpResponseError` for error bodies) with a tracemalloc peak far below the
  decoded size;
* JSON nested 100,000 deep as a token answer, a token error body, a tag list, ACR metadata, a manifest
  and an image config: a `RegistryError` subclass, never a bare `RecursionError`;
* an endless blob for `download_blob_content` (bounded by `max_size`), while `download_blob_to`
  streams a blob larger than that cap in constant memory.

Every request the clients send asks for `Accept-Encoding: identity`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import inspect
import json
import struct
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import containerregistry
import containerregistry.aio
import containerregistry.aio.images
import containerregistry.images
from containerregistry.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ManifestTooLargeError,
    RegistryError,
    RegistryProtocolError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from containerregistry.transport import RetryPolicy
from tests.support.hostile import Recorder, serve

pytestmark = pytest.mark.reliability

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
BOMB_DECODED = 1 << 30  # 1 GiB of zeros once both gzip layers are undone
#: What a bounded read may cost: the cap (4 MiB for manifests, 16 MiB for listings) plus slack.
PEAK_LIMIT = 48 << 20
DEPTH = 100_000
DEEP = b"[" * DEPTH + b"]" * DEPTH
MODES = ["sync", "async"]


def _gzip_of_zeros(mib: int) -> bytes:
    """gzip of `mib` MiB of zeros, built from one full-flushed deflate block repeated (fast)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + block * mib + tail + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)


BOMB = gzip.compress(_gzip_of_zeros(BOMB_DECODED >> 20), 9)


def _bomb(status: int = 200, **headers: Any) -> web.Response:
    return web.Response(
        status=status,
        body=BOMB,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip, gzip", **headers},
    )


def _deep(status: int = 200, prefix: bytes = b"", suffix: bytes = b"", **headers: Any) -> web.Response:
    return web.Response(
        status=status,
        body=prefix + DEEP + suffix,
        headers={"Content-Type": "application/json", **headers},
    )


Route = Callable[[web.Request, str], Any]


def _server(route: Route, recorder: Recorder | None = None) -> Any:
    """A registry whose answers come from `route(request, base_url)`; None means a plain 404."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if recorder is not None:
            recorder.add(request)
        if request.method in ("PATCH", "PUT", "POST"):
            await request.read()
        base = f"http://{request.host}"
        answer = route(request, base)
        if callable(answer):
            return await answer(request)
        if answer is not None:
            return answer
        return web.json_response({"errors": [{"code": "NOT_FOUND", "message": "no"}]}, status=404)

    return handler


def _bearer(base: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="{base}/token",service="evil"'}


async def _settle(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    if hasattr(value, "__aiter__"):
        return [item async for item in value]
    return value


def _call(
    mode: str, endpoint: str, kind: str, op: Callable[[Any], Any], **options: Any
) -> BaseException | None:
    """Run `op(client)` on a sync or async client; returns the exception it raised (None: none)."""
    options.setdefault("timeout", 10)
    options.setdefault("retry", RetryPolicy(max_retries=2, backoff_factor=0.01))
    package = containerregistry if mode == "sync" else containerregistry.aio

    def make() -> Any:
        if kind == "content":
            return package.ContainerRegistryContentClient(endpoint, "evil/app", **options)
        return package.ContainerRegistryClient(endpoint, **options)

    if mode == "sync":
        try:
            with make() as client:
                value = op(client)
                if hasattr(value, "by_page"):
                    list(value)
        except Exception as exc:
            return exc
        return None

    async def main() -> BaseException | None:
        try:
            async with make() as client:
                await asyncio.wait_for(_settle(op(client)), 60)
        except Exception as exc:
            return exc
        return None

    return asyncio.run(main())


def _measured(fn: Callable[[], Any]) -> tuple[Any, int, float]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, time.monotonic() - started


# -- compressed bombs -------------------------------------------------------------------------------


def _bomb_manifest(request: web.Request, base: str) -> Any:
    if request.path.endswith("/manifests/latest"):
        return _bomb(200, **{"Content-Type": OCI_MANIFEST})
    return None


def _bomb_token(request: web.Request, base: str) -> Any:
    if request.path == "/token":
        return _bomb()
    if "Authorization" not in request.headers:
        return web.Response(status=401, headers=_bearer(base))
    return None


def _bomb_tags(request: web.Request, base: str) -> Any:
    return _bomb() if request.path.endswith("/tags/list") else None


def _bomb_acr(request: web.Request, base: str) -> Any:
    return _bomb() if request.path.startswith("/acr/v1/_catalog") else None


def _bomb_upload(request: web.Request, base: str) -> Any:
    if request.method == "POST" and request.path.endswith("/blobs/uploads/"):
        return _bomb(202, Location="/v2/evil/app/blobs/uploads/session-1")
    return None


def _bomb_error(request: web.Request, base: str) -> Any:
    return _bomb(404)


def _bomb_503(request: web.Request, base: str) -> Any:
    return _bomb(503)  # the retry transport drains it before retrying


def _bomb_401(request: web.Request, base: str) -> Any:
    return _bomb(401, **{"WWW-Authenticate": 'Basic realm="evil"'})


BOMBS: dict[str, tuple[Route, str, Callable[[Any], Any], type[BaseException]]] = {
    "manifest": (_bomb_manifest, "content", lambda c: c.get_manifest("latest"), ManifestTooLargeError),
    "token": (_bomb_token, "content", lambda c: c.get_manifest("latest"), RegistryProtocolError),
    "tag-list": (_bomb_tags, "content", lambda c: c.list_tags(), RegistryProtocolError),
    "acr-json": (_bomb_acr, "registry", lambda c: c.list_repository_names(), RegistryProtocolError),
    "upload-answer": (_bomb_upload, "content", lambda c: c.upload_blob(b"layer"), RegistryProtocolError),
    "error-body": (_bomb_error, "content", lambda c: c.get_manifest("latest"), ResourceNotFoundError),
    "retried-503-body": (_bomb_503, "content", lambda c: c.get_manifest("latest"), HttpResponseError),
    "401-body": (_bomb_401, "content", lambda c: c.get_manifest("latest"), ClientAuthenticationError),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(BOMBS))
def test_gzip_bomb_is_refused_with_bounded_memory(case: str, mode: str) -> None:
    route, kind, op, expected = BOMBS[case]
    with serve(_server(route)) as endpoint:
        error, peak, elapsed = _measured(lambda: _call(mode, endpoint, kind, op))
    print(
        f"\n[reliability] {len(BOMB)} B gzip-of-gzip bomb ({BOMB_DECODED >> 20} MiB decoded) as {case}, {mode}: "
        f"{type(error).__name__} in {elapsed:.2f}s, tracemalloc peak {peak / 1e6:.1f} MB"
    )
    assert isinstance(error, expected), repr(error)
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < 30


@pytest.mark.parametrize("mode", MODES)
def test_every_request_asks_for_identity_encoding(mode: str) -> None:
    """Manifests, blobs, tokens and pings: nothing invites compression the client did not ask for."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).encode()
    layer = b"layer bytes"
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()

    def route(request: web.Request, base: str) -> Any:
        if request.path == "/token":
            return web.json_response({"token": "t0ken-value"})
        if "Authorization" not in request.headers:
            return web.Response(status=401, headers=_bearer(base))
        if request.path.endswith("/manifests/latest"):
            return web.Response(body=manifest, headers={"Content-Type": OCI_MANIFEST})
        if request.path.endswith(f"/blobs/{layer_digest}"):
            return web.Response(body=layer, headers={"Content-Type": "application/octet-stream"})
        return None

    recorder = Recorder()

    def op(client: Any) -> Any:
        if mode == "sync":
            client.get_manifest("latest")
            return client.download_blob_content(layer_digest)

        async def both() -> None:
            await client.get_manifest("latest")
            await client.download_blob_content(layer_digest)

        return both()

    with serve(_server(route, recorder)) as endpoint:
        error = _call(mode, endpoint, "content", op)
    assert error is None, repr(error)
    paths = {path.split("?")[0] for _, path, _ in recorder.requests}
    assert {"/token", "/v2/evil/app/manifests/latest", f"/v2/evil/app/blobs/{layer_digest}"} <= paths
    for method, path, headers in recorder.requests:
        sent = {k.lower(): v for k, v in headers.items()}
        assert sent.get("accept-encoding") == "identity", (method, path, sent.get("accept-encoding"))


# -- deeply nested JSON -----------------------------------------------------------------------------


def _deep_token(request: web.Request, base: str) -> Any:
    if request.path == "/token":
        return _deep(prefix=b'{"token":', suffix=b"}")
    if "Authorization" not in request.headers:
        return web.Response(status=401, headers=_bearer(base))
    return None


def _deep_token_error(request: web.Request, base: str) -> Any:
    if request.path == "/token":
        return _deep(401, prefix=b'{"errors":', suffix=b"}")
    if "Authorization" not in request.headers:
        return web.Response(status=401, headers=_bearer(base))
    return None


def _deep_tags(request: web.Request, base: str) -> Any:
    return (
        _deep(prefix=b'{"name":"evil/app","tags":', suffix=b"}")
        if request.path.endswith("/tags/list")
        else None
    )


def _deep_acr(request: web.Request, base: str) -> Any:
    return (
        _deep(prefix=b'{"repositories":', suffix=b"}")
        if request.path.startswith("/acr/v1/_catalog")
        else None
    )


def _deep_manifest(request: web.Request, base: str) -> Any:
    if request.path.endswith("/manifests/latest"):
        return _deep(200, b'{"schemaVersion":2,"layers":', b"}", **{"Content-Type": OCI_MANIFEST})
    return None


NESTED: dict[str, tuple[Route, str, Callable[[Any], Any], type[BaseException]]] = {
    "token": (_deep_token, "content", lambda c: c.get_manifest("latest"), RegistryProtocolError),
    "token-error-body": (
        _deep_token_error,
        "content",
        lambda c: c.get_manifest("latest"),
        ClientAuthenticationError,
    ),
    "tag-list": (_deep_tags, "content", lambda c: c.list_tags(), RegistryProtocolError),
    "acr-json": (_deep_acr, "registry", lambda c: c.list_repository_names(), RegistryProtocolError),
    "manifest": (_deep_manifest, "content", lambda c: c.get_manifest("latest"), RegistryProtocolError),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", sorted(NESTED))
def test_deeply_nested_json_is_a_registry_error(case: str, mode: str) -> None:
    route, kind, op, expected = NESTED[case]
    with serve(_server(route)) as endpoint:
        error = _call(mode, endpoint, kind, op)
    print(
        f"\n[reliability] JSON nested {DEPTH} deep as {case}, {mode}: {type(error).__name__}: {str(error)[:120]}"
    )
    assert not isinstance(error, RecursionError), repr(error)
    assert isinstance(error, expected), repr(error)
    assert isinstance(error, RegistryError)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("mode", MODES)
def test_deeply_nested_image_config_is_a_registry_error(tmp_path: Path, mode: str) -> None:
    """`pull_image(..., platforms=...)` reads the config of a single image to check its platform."""
    config = b'{"os":"linux","architecture":"amd64","history":' + DEEP + b"}"
    layer = b"layer"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _sha(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": _sha(layer), "size": len(layer)}],
        }
    ).encode()
    objects = {"latest": manifest, _sha(manifest): manifest, _sha(config): config, _sha(layer): layer}

    def route(request: web.Request, base: str) -> Any:
        if request.path in ("/v2", "/v2/"):
            return web.json_response({})
        found = objects.get(request.path.rsplit("/", 1)[-1])
        if found is None:
            return None
        kind = OCI_MANIFEST if found is manifest else "application/octet-stream"
        return web.Response(body=found, headers={"Content-Type": kind, "Docker-Content-Digest": _sha(found)})

    with serve(_server(route)) as endpoint:
        source = f"{endpoint.removeprefix('http://')}/evil/app:latest"
        target = f"oci:{tmp_path / 'layout'}:v1"
        error: BaseException | None = None
        try:
            if mode == "sync":
                containerregistry.images.pull_image(source, target, platforms=["linux/amd64"], timeout=10)
            else:
                asyncio.run(
                    containerregistry.aio.images.pull_image(
                        source, target, platforms=["linux/amd64"], timeout=10
                    )
                )
        except Exception as exc:
            error = exc
    print(
        f"\n[reliability] image config nested {DEPTH} deep, {mode}: {type(error).__name__}: {str(error)[:120]}"
    )
    assert isinstance(error, RegistryProtocolError), repr(error)


# -- blobs: a cap in memory, constant memory when streamed -------------------------------------------

_ENDLESS = 200 << 20  # what the server is willing to send; far beyond the cap under test


def _endless_blob(announce: bool) -> Route:
    def route(request: web.Request, base: str) -> Any:
        if "/blobs/" not in request.path:
            return None
        return _streamed(announce)

    return route


def _streamed(announce: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler sending 200 MB of zeros, with or without a Content-Length."""

    async def send(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if announce:
            response.content_length = _ENDLESS
        await response.prepare(request)
        block = bytes(1 << 20)
        try:
            for _ in range(_ENDLESS // len(block)):
                await response.write(block)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return response

    return send


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
def test_download_blob_content_is_capped(mode: str, announce: bool) -> None:
    digest = "sha256:" + "0" * 64
    cap = 8 << 20

    def op(client: Any) -> Any:
        return client.download_blob_content(digest, max_size=cap)

    with serve(_server(_endless_blob(announce))) as endpoint:
        error, peak, elapsed = _measured(lambda: _call(mode, endpoint, "content", op))
    print(
        f"\n[reliability] endless blob ({'length' if announce else 'chunked'}) into memory, max_size=8 MiB, {mode}: "
        f"{type(error).__name__} in {elapsed:.2f}s, tracemalloc peak {peak / 1e6:.1f} MB"
    )
    assert isinstance(error, RegistryProtocolError), repr(error)
    assert isinstance(error, ServiceRequestError)
    assert "max_size" in str(error)
    assert peak < cap + (16 << 20)


@pytest.mark.parametrize("mode", MODES)
def test_download_blob_to_streams_in_constant_memory(tmp_path: Path, mode: str) -> None:
    """No cap for streamed downloads, and no growth either: a 200 MB blob costs a few MB."""
    body = bytes(_ENDLESS)
    digest = _sha(body)
    del body

    def route(request: web.Request, base: str) -> Any:
        return _streamed(True) if request.path.endswith(f"/blobs/{digest}") else None

    target = tmp_path / "blob"

    def op(client: Any) -> Any:
        return client.download_blob_to(digest, target)

    with serve(_server(route)) as endpoint:
        error, peak, elapsed = _measured(lambda: _call(mode, endpoint, "content", op, timeout=30))
    print(
        f"\n[reliability] {_ENDLESS >> 20} MiB blob to a file, {mode}: in {elapsed:.2f}s, "
        f"tracemalloc peak {peak / 1e6:.1f} MB"
    )
    assert error is None, repr(error)
    assert target.stat().st_size == _ENDLESS
    assert peak < 24 << 20


# -- pull_image of a large index --------------------------------------------------------------------

CHILDREN = 300
CHILD_PAD = 1 << 20  # each child manifest is ~1 MB (one large annotation)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_PAD = b"p" * CHILD_PAD


class _BigIndex:
    """An index of `CHILDREN` image manifests of ~1 MB each, sharing one config and one layer.

    Children are generated on request from their number, so the server holds only the digests.
    """

    def __init__(self) -> None:
        self.config = b'{"architecture":"amd64","os":"linux"}'
        self.layer = b"shared layer"
        self.blobs = {_sha(self.config): self.config, _sha(self.layer): self.layer}
        self.by_digest: dict[str, int] = {}
        entries = []
        for number in range(CHILDREN):
            child = self.child(number)
            digest = _sha(child)
            self.by_digest[digest] = number
            entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(child)})
        self.index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()

    def child(self, number: int) -> bytes:
        head = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": _sha(self.config), "size": len(self.config)},
                "layers": [{"mediaType": OCI_LAYER, "digest": _sha(self.layer), "size": len(self.layer)}],
                "annotations": {"number": str(number)},
            }
        ).encode()
        return head[:-2] + b', "pad": "' + _PAD + b'"}}'

    def route(self, request: web.Request, base: str) -> Any:
        if request.path in ("/v2", "/v2/"):
            return web.json_response({})
        reference = request.path.rsplit("/", 1)[-1]
        if "/manifests/" in request.path:
            if reference in ("latest", _sha(self.index)):
                body, kind = self.index, OCI_INDEX
            elif reference in self.by_digest:
                body, kind = self.child(self.by_digest[reference]), OCI_MANIFEST
            else:
                return None
            headers = {"Content-Type": kind, "Docker-Content-Digest": _sha(body)}
            if request.method == "HEAD":
                return web.Response(headers={**headers, "Content-Length": str(len(body))})
            return web.Response(body=body, headers=headers)
        if "/blobs/" in request.path and reference in self.blobs:
            return web.Response(
                body=self.blobs[reference], headers={"Content-Type": "application/octet-stream"}
            )
        return None


@pytest.fixture(scope="module")
def big_index() -> _BigIndex:
    return _BigIndex()


@pytest.mark.parametrize("mode", MODES)
def test_pull_image_of_a_large_index_keeps_a_memory_budget(
    tmp_path: Path, mode: str, big_index: _BigIndex
) -> None:
    total = CHILDREN * CHILD_PAD
    with serve(_server(big_index.route)) as endpoint:
        source = f"{endpoint.removeprefix('http://')}/evil/app:latest"
        target = f"oci:{tmp_path / 'layout'}:v1"

        def pull() -> Any:
            if mode == "sync":
                return containerregistry.images.pull_image(source, target, timeout=30)
            return asyncio.run(containerregistry.aio.images.pull_image(source, target, timeout=30))

        result, peak, elapsed = _measured(pull)
    blobs = list((tmp_path / "layout" / "blobs" / "sha256").iterdir())
    print(
        f"\n[reliability] pull_image of an index of {CHILDREN} manifests of {CHILD_PAD >> 20} MiB "
        f"({total / 1e6:.0f} MB of manifests), {mode}: {elapsed:.1f}s, tracemalloc peak {peak / 1e6:.1f} MB"
    )
    assert result.blobs_copied == 2
    assert len(blobs) == CHILDREN + 3  # the children, the index, the config and the layer
    # Bounded by the spool budget (8 MiB) plus `concurrency` (4) manifests in flight, each parsed twice
    # (a few MB apiece), plus this server's own buffers: not by the 315 MB of manifests.
    assert peak < 96 << 20, f"peak {peak / 1e6:.0f} MB"
