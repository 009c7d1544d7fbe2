"""Hostile input: the emulator's HTTP surface and the client's parsers never 500, crash, hang or balloon.

* Hypothesis drives a subprocess emulator with generated methods x paths x query strings x headers x
  bodies (bounded examples, a per-request timeout) and checks its RSS stays bounded.
* Raw sockets: huge `Content-Length`s are refused from the headers alone; endless chunked bodies on
  non-blob endpoints are cut off; a 100 MB manifest is refused after at most a few MB.
* The client: a hostile loopback server that sends a 100 MB "manifest" -> `ManifestTooLargeError` fast
  with bounded memory; a malicious registry cannot make `pull_image` write outside the layout.
* Hypothesis on the client's parsers (references, digests, WWW-Authenticate, Link, Content-Range,
  Range, Retry-After, error bodies, manifests, docker config files): only their documented errors.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from containerregistry.aio import ContainerRegistryContentClient
from containerregistry.auth import DockerConfigCredential
from containerregistry.exceptions import ManifestTooLargeError, RegistryError
from containerregistry.images import pull_image
from containerregistry.protocol.challenge import parse_www_authenticate
from containerregistry.protocol.digest import parse_digest
from containerregistry.protocol.http import (
    parse_content_range,
    parse_error_body,
    parse_link_next,
    parse_retry_after,
    parse_upload_range,
)
from containerregistry.protocol.models import parse_manifest
from containerregistry.protocol.reference import parse_reference, validate_digest
from tests.reliability._emu_common import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    SOAK,
    EmulatorProcess,
    push_image,
    raw_exchange,
    sha256,
)
from tests.support.hostile import serve

pytestmark = pytest.mark.reliability

HTTP_EXAMPLES = 1500 if SOAK else 150
PARSER_EXAMPLES = 3000 if SOAK else 300
EXAMPLE_COUNTS: dict[str, int] = {}

_HTTP_SETTINGS = settings(
    max_examples=HTTP_EXAMPLES,
    deadline=None,  # a per-request timeout bounds each example instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
_PARSER_SETTINGS = settings(max_examples=PARSER_EXAMPLES, deadline=2000, database=None)


def _count(name: str) -> None:
    EXAMPLE_COUNTS[name] = EXAMPLE_COUNTS.get(name, 0) + 1


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    root = tmp_path_factory.mktemp("hostile")
    process = EmulatorProcess(root / "data", root / "emulator.log")
    process.start()
    with httpx.Client(base_url=process.endpoint, timeout=10) as http:
        push_image(http, "fuzz/r", "latest", [b"layer one", os.urandom(2000)])
    yield process
    assert process.alive(), "the emulator crashed"
    assert "Traceback" not in process.log_text(), process.log_text()[-3000:]
    process.stop()
    print(f"\n[reliability] hypothesis examples run: {EXAMPLE_COUNTS}")


def _rss(process: EmulatorProcess) -> int:
    assert process.process is not None
    return int(psutil.Process(process.process.pid).memory_info().rss)


# -- the HTTP surface ---------------------------------------------------------------------------

_SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "v2",
            "acr",
            "v1",
            "fuzz",
            "r",
            "blobs",
            "uploads",
            "manifests",
            "tags",
            "list",
            "referrers",
            "_catalog",
            "_tags",
            "_manifests",
            "latest",
            "sha256:" + "a" * 64,
            "sha512:" + "b" * 128,
            "sha256:../../etc/passwd",
            "..",
            "%2e%2e",
            "%2F",
            "%00",
            "%ff",
            "oauth2",
            "token",
            "exchange",
            "00000000-0000-0000-0000-000000000000",
            "A" * 300,
        ]
    ),
    st.text(alphabet="abcXYZ019._-:@~+%!$&'()*,;=", max_size=20),
)
_HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip)
_HEADER_NAMES = st.sampled_from(
    [
        "Range",
        "Content-Range",
        "Content-Type",
        "Accept",
        "Authorization",
        "If-None-Match",
        "Host",
        "X-Forwarded-Proto",
        "Docker-Content-Digest",
        "Content-Encoding",
    ]
)
_QUERY_KEYS = st.sampled_from(
    ["n", "last", "digest", "mount", "from", "orderby", "artifactType", "_state", "scope", "service", "x"]
)


@_HTTP_SETTINGS
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FOO"]),
    prefix=st.sampled_from(["/v2/", "/v2/fuzz/r/", "/acr/v1/", "/acr/v1/fuzz/r/", "/oauth2/", "/"]),
    segments=st.lists(_SEGMENTS, max_size=6),
    query=st.lists(st.tuples(_QUERY_KEYS, _HEADER_VALUE), max_size=4),
    headers=st.dictionaries(_HEADER_NAMES, _HEADER_VALUE, max_size=4),
    body=st.one_of(st.binary(max_size=300), st.sampled_from([b"{}", b"[]", b'{"errors":1}', b"\x00" * 1000])),
)
def test_http_surface_never_500(
    emulator: EmulatorProcess,
    method: str,
    prefix: str,
    segments: list[str],
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> None:
    _count("emulator HTTP surface")
    url = emulator.endpoint + prefix + "/".join(segments)
    content = body if method in ("POST", "PUT", "PATCH", "DELETE") else None
    try:
        with httpx.Client(timeout=10) as http:
            response = http.request(method, url, params=tuple(query), headers=headers, content=content)
    except httpx.TimeoutException:
        pytest.fail(f"the emulator hung on {method} {url}")
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError):
        return  # httpx refused to send, or aiohttp refused a malformed request line: not a crash
    assert response.status_code < 500, (method, url, response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    if response.status_code == 400 and response.text.startswith("Invalid method encountered"):
        # aiohttp's HTTP parser refuses unknown methods before any handler runs (plain text, no OCI body).
        _count("protocol-level refusals")
        return
    if response.status_code >= 400 and method != "HEAD" and response.content:
        errors = response.json().get("errors")
        assert isinstance(errors, list) and errors, response.text[:300]
    assert emulator.alive()


def test_http_surface_memory_bounded(emulator: EmulatorProcess) -> None:
    """After the fuzzing above and 200 more hostile requests, the emulator's RSS has not run away."""
    before = _rss(emulator)
    with httpx.Client(base_url=emulator.endpoint, timeout=10) as http:
        for i in range(200):
            http.put(
                f"/v2/fuzz/m{i % 7}/manifests/t{i}",
                content=b"{" * 4000,
                headers={"Content-Type": OCI_MANIFEST},
            )
            http.get("/v2/_catalog", params={"n": "10000", "last": "z" * 5000})
            http.patch(f"/acr/v1/fuzz/r/_tags/latest{'x' * 100}", content=b"[" * 60000)
    growth = _rss(emulator) - before
    print(f"\n[reliability] emulator RSS growth over 600 hostile requests: {growth / 1e6:.1f} MB")
    assert growth < 64 << 20


# -- huge and endless bodies (raw sockets) ------------------------------------------------------

_TEN_GIB = 10 << 30


def _head(method: str, path: str, extra: str) -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def _new_session(endpoint: str, repo: str) -> str:
    with httpx.Client(base_url=endpoint, timeout=10) as http:
        response = http.post(f"/v2/{repo}/blobs/uploads/")
        assert response.status_code == 202
        return response.headers["Location"]


def test_ten_gib_manifest_is_refused_from_headers(emulator: EmulatorProcess) -> None:
    status, raw, elapsed = raw_exchange(
        emulator.port,
        _head(
            "PUT",
            "/v2/fuzz/r/manifests/huge",
            f"Content-Type: {OCI_MANIFEST}\r\nContent-Length: {_TEN_GIB}\r\n",
        ),
    )
    print(f"\n[reliability] 10 GiB manifest PUT, headers only: {status} after {elapsed * 1000:.0f} ms")
    assert status == 413, raw[:300]
    assert elapsed < 3
    assert b'"SIZE_INVALID"' in raw


def _zeros(piece: int = 64 << 10) -> Iterator[bytes]:
    block = b"\0" * piece
    while True:
        yield block


def _chunked(piece: int = 64 << 10) -> Iterator[bytes]:
    block = f"{piece:x}\r\n".encode() + b"\0" * piece + b"\r\n"
    while True:
        yield block


def test_100_mb_manifest_is_refused_without_reading_it(emulator: EmulatorProcess) -> None:
    sent = [0]

    def counted() -> Iterator[bytes]:
        for part in _zeros():
            sent[0] += len(part)
            yield part

    status, raw, elapsed = raw_exchange(
        emulator.port,
        _head(
            "PUT",
            "/v2/fuzz/r/manifests/big",
            f"Content-Type: {OCI_MANIFEST}\r\nContent-Length: {100_000_000}\r\n",
        ),
        counted(),
    )
    print(
        f"\n[reliability] 100 MB manifest PUT: {status} after {elapsed:.2f}s, {sent[0] / 1e6:.1f} MB offered"
    )
    assert status == 413, raw[:300]
    assert sent[0] < 20_000_000


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("PUT", "/v2/fuzz/r/manifests/endless", OCI_MANIFEST),
        ("PATCH", "/acr/v1/fuzz/r", "application/json"),
        ("PATCH", "/acr/v1/fuzz/r/_tags/latest", "application/json"),
        ("POST", "/oauth2/token", "application/x-www-form-urlencoded"),
        ("POST", "/oauth2/exchange", "application/x-www-form-urlencoded"),
    ],
)
def test_endless_chunked_body_is_refused(
    emulator: EmulatorProcess, method: str, path: str, content_type: str
) -> None:
    sent = [0]

    def counted() -> Iterator[bytes]:
        for part in _chunked():
            sent[0] += len(part)
            yield part

    status, raw, elapsed = raw_exchange(
        emulator.port,
        _head(method, path, f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n"),
        counted(),
        max_body_seconds=10,
    )
    print(
        f"\n[reliability] endless chunked {method} {path}: {status} after {elapsed:.2f}s, {sent[0] / 1e6:.1f} MB"
    )
    assert status in (400, 413), raw[:300]
    assert sent[0] < 20_000_000 and elapsed < 10


@contextlib.contextmanager
def _small_disk_emulator(tmp_path: Path) -> Iterator[EmulatorProcess]:
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    process = EmulatorProcess(mount / "data", tmp_path / "emulator.log")
    try:
        process.start()
        yield process
    finally:
        process.stop()
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_ten_gib_blob_body_is_refused_from_headers(tmp_path: Path, method: str) -> None:
    with _small_disk_emulator(tmp_path) as small:
        location = _new_session(small.endpoint, "fuzz/big")
        digest = "sha256:" + "0" * 64
        path = location if method == "PATCH" else f"{location}&digest={digest}"
        status, raw, elapsed = raw_exchange(
            small.port,
            _head(method, path, f"Content-Type: application/octet-stream\r\nContent-Length: {_TEN_GIB}\r\n"),
            timeout=3,
        )
        print(
            f"\n[reliability] 10 GiB blob {method}, headers only: status {status or 'none'} after {elapsed:.1f}s"
        )
        assert status in (413, 507), raw[:300]  # too large for any storage left: refused unread
        assert elapsed < 3


# -- the client against a hostile server --------------------------------------------------------

_HUNDRED_MB = 100_000_000


def _stream_handler(announce_length: bool) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/v2/":
            return web.Response(status=200)
        response = web.StreamResponse(headers={"Content-Type": OCI_MANIFEST})
        if announce_length:
            response.content_length = _HUNDRED_MB
        await response.prepare(request)
        block = b" " * (1 << 20)
        with contextlib.suppress(ConnectionError, RuntimeError):
            for _ in range(_HUNDRED_MB // len(block)):
                await response.write(block)
        return response

    return handler


@pytest.mark.parametrize("announce_length", [True, False], ids=["content-length", "chunked"])
def test_client_refuses_100_mb_manifest_quickly(announce_length: bool) -> None:
    async def fetch(endpoint: str) -> tuple[BaseException | None, float]:
        async with ContainerRegistryContentClient(endpoint, "evil/app", timeout=10) as client:
            started = time.monotonic()
            try:
                await asyncio.wait_for(client.get_manifest("latest"), 20)
            except ManifestTooLargeError as exc:
                return exc, time.monotonic() - started
            return None, time.monotonic() - started

    with serve(_stream_handler(announce_length)) as endpoint:
        tracemalloc.start()
        try:
            error, elapsed = asyncio.run(fetch(endpoint))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    print(
        f"\n[reliability] client 100 MB manifest ({'length' if announce_length else 'chunked'}): "
        f"{type(error).__name__} in {elapsed:.2f}s, peak traced memory {peak / 1e6:.1f} MB"
    )
    assert isinstance(error, ManifestTooLargeError)
    assert elapsed < 5
    assert peak < 32 << 20


# -- a malicious registry and pull_image into an OCI layout -------------------------------------


def _registry(objects: dict[str, tuple[bytes, str, str | None]]) -> Any:
    """A registry that answers `/v2/<repo>/manifests|blobs/<ref>` from `objects[ref]`, whatever ref is."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path in ("/v2", "/v2/"):
            return web.json_response({})
        ref = request.match_info["tail"].rsplit("/", 1)[-1]
        found = objects.get(ref)
        if found is None:
            return web.json_response({"errors": [{"code": "NOT_FOUND", "message": "no"}]}, status=404)
        content, media_type, header_digest = found
        headers = {"Content-Type": media_type}
        if header_digest is not None:
            headers["Docker-Content-Digest"] = header_digest
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(content))
            return web.Response(status=200, headers=headers)
        return web.Response(body=content, headers=headers)

    return handler


def _evil_cases() -> dict[str, dict[str, tuple[bytes, str, str | None]]]:
    layer = b"payload"
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    good_layer = {"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}
    good_config = {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)}
    blobs = {
        sha256(layer): (layer, "application/octet-stream", sha256(layer)),
        sha256(config): (config, "application/octet-stream", sha256(config)),
    }

    def manifest(doc: dict[str, Any], media_type: str = OCI_MANIFEST) -> tuple[bytes, dict[str, Any]]:
        body = json.dumps(doc).encode()
        return body, {
            "latest": (body, media_type, sha256(body)),
            sha256(body): (body, media_type, sha256(body)),
        }

    cases: dict[str, dict[str, tuple[bytes, str, str | None]]] = {}
    for name, bad in [
        ("layer digest ../", "sha256:../../../evil"),
        ("layer digest abs path", "sha256:/tmp/evil"),
        ("layer digest unknown alg", "../../evil:" + "a" * 64),
        ("layer digest with slash", "sha256/../../evil:" + "a" * 64),
    ]:
        _, objects = manifest(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": good_config,
                "layers": [{"mediaType": OCI_LAYER, "digest": bad, "size": 7}],
            }
        )
        objects[bad] = (layer, "application/octet-stream", None)
        cases[name] = {**blobs, **objects}
    _, objects = manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {**good_config, "digest": "sha256:../evil"},
            "layers": [good_layer],
        }
    )
    cases["config digest ../"] = {**blobs, **objects}
    # Docker-Content-Digest header naming a path.
    body, objects = manifest(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": good_config, "layers": [good_layer]}
    )
    objects["latest"] = (body, OCI_MANIFEST, "sha256:../../../evil")
    cases["Docker-Content-Digest ../"] = {**blobs, **objects}
    # An index whose child has a ref.name annotation escaping the layout, and a child digest that is a path.
    child_body, child_objects = manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": good_config,
            "layers": [good_layer],
            "annotations": {"org.opencontainers.image.ref.name": "../../../evil"},
        }
    )
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sha256(child_body),
                "size": len(child_body),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": "../../../evil"},
            }
        ],
        "annotations": {"org.opencontainers.image.ref.name": "../../../evil"},
    }
    _, objects = manifest(index, OCI_INDEX)
    cases["ref.name annotations ../"] = {
        **blobs,
        sha256(child_body): child_objects[sha256(child_body)],
        **objects,
    }
    index_bad_child = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": "sha256:../../../evil", "size": 10}],
    }
    _, objects = manifest(index_bad_child, OCI_INDEX)
    cases["index child digest ../"] = {**blobs, **objects}
    # Media types that look like paths.
    _, objects = manifest(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {**good_config, "mediaType": "../../../evil"},
            "layers": [{**good_layer, "mediaType": "/tmp/../../evil"}],
        }
    )
    cases["media types as paths"] = {**blobs, **objects}
    body, objects = manifest(
        {"schemaVersion": 2, "mediaType": "../../../evil", "config": good_config, "layers": [good_layer]},
        "../../../evil",
    )
    cases["manifest media type ../"] = {**blobs, **objects}
    return cases


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", sorted(_evil_cases()))
def test_malicious_registry_cannot_write_outside_the_layout(tmp_path: Path, case: str) -> None:
    sandbox = tmp_path / "sandbox"
    destination = sandbox / "a" / "b" / "layout"
    destination.parent.mkdir(parents=True)
    (sandbox / "marker").write_text("x")
    before = _snapshot(tmp_path)
    objects = _evil_cases()[case]
    with serve(_registry(objects)) as endpoint:
        host = endpoint.removeprefix("http://")
        error: BaseException | None = None
        try:
            pull_image(f"{host}/evil/app:latest", f"oci:{destination}:v1", timeout=10)
        except Exception as exc:
            error = exc
    after = _snapshot(tmp_path)
    new_outside = sorted(p for p in after - before if not p.startswith("sandbox/a/b/layout"))
    assert new_outside == [], new_outside
    assert not any("evil" in p for p in after), sorted(after)
    for path in destination.rglob("*") if destination.exists() else []:
        assert destination.resolve() in path.resolve().parents
    outcome = f"{type(error).__name__}: {str(error)[:140]}" if error else "pulled safely"
    print(f"\n[reliability] malicious registry, {case}: {outcome}")
    if "digest" in case:
        # Malformed digests must be refused, with a message that says so.
        assert isinstance(error, (RegistryError, ValueError)), error
        assert "digest" in str(error).lower()
    elif error is not None:
        assert isinstance(error, (RegistryError, ValueError)), repr(error)
    if error is None:
        index = json.loads((destination / "index.json").read_text())
        names = [
            m.get("annotations", {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]
        ]
        assert names == ["v1"], names


# -- the client's parsers -------------------------------------------------------------------------

_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(list('abcAZ09:/@.+-_ ,;="\\<>\t*%?&#')), max_size=200),
)


@_PARSER_SETTINGS
@given(text=_TEXT)
def test_reference_and_digest_parsers(text: str) -> None:
    _count("references/digests")
    for function in (parse_reference, validate_digest, parse_digest):
        try:
            function(text)
        except ValueError:
            pass


@_PARSER_SETTINGS
@given(text=_TEXT, many=st.lists(_TEXT, max_size=3))
def test_www_authenticate_parser(text: str, many: list[str]) -> None:
    _count("WWW-Authenticate")
    for value in (text, many, f'Bearer realm="{text}",service={text},scope="{text}"'):
        try:
            challenges = parse_www_authenticate(value)
        except ValueError:
            continue
        for challenge in challenges:
            assert isinstance(challenge.scheme, str)


@_PARSER_SETTINGS
@given(text=_TEXT, base=st.sampled_from(["http://127.0.0.1:5000/v2/_catalog", "https://r.io/acr/v1/x/_tags"]))
def test_link_parser(text: str, base: str) -> None:
    _count("Link")
    for value in (text, f"<{text}>; rel=next", f'<{text}>; rel="next", <x>; rel="prev"'):
        try:
            result = parse_link_next(value, base)
        except ValueError:
            continue
        assert result is None or isinstance(result, str)


@_PARSER_SETTINGS
@given(text=_TEXT, sent=st.one_of(st.none(), st.integers(0, 2**64)))
def test_range_parsers(text: str, sent: int | None) -> None:
    _count("Content-Range/Range/Retry-After")
    for value in (text, f"bytes {text}", f"0-{text}"):
        try:
            start, end, total = parse_content_range(value)
            assert 0 <= start <= end and (total is None or total > end)
        except ValueError:
            pass
        try:
            held = parse_upload_range(value, sent=sent)
            assert held is None or held >= 0
        except ValueError:
            pass
        try:
            wait = parse_retry_after(value)
            assert wait is None or wait >= 0
        except ValueError:
            pass


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=5),
    max_leaves=25,
)
_MANIFEST_KEYS = st.sampled_from(
    [
        "schemaVersion",
        "mediaType",
        "config",
        "layers",
        "manifests",
        "subject",
        "annotations",
        "artifactType",
        "digest",
        "size",
        "platform",
        "urls",
        "data",
    ]
)
_MANIFESTISH = st.recursive(
    _JSON, lambda children: st.dictionaries(_MANIFEST_KEYS, children, max_size=6), max_leaves=30
)


@_PARSER_SETTINGS
@given(
    doc=_MANIFESTISH,
    raw=st.binary(max_size=300),
    media_type=st.sampled_from(
        [
            None,
            OCI_MANIFEST,
            OCI_INDEX,
            "application/json",
            "x/y",
            "application/vnd.docker.distribution.manifest.v2+json",
        ]
    ),
)
def test_manifest_and_error_body_parsers(doc: Any, raw: bytes, media_type: str | None) -> None:
    _count("manifests/error bodies")
    for content in (json.dumps(doc).encode(), raw):
        try:
            parse_manifest(content, media_type)
        except ValueError:
            pass
        details = parse_error_body(content, "application/json")
        assert isinstance(details, list)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(
    max_examples=PARSER_EXAMPLES // 3,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    auths=st.one_of(
        _JSON,
        st.dictionaries(
            st.sampled_from(["r.io", "https://r.io", "http://r.io/v1/", "R.IO:443", "other"]),
            st.one_of(
                _JSON,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "auth": st.one_of(
                            _TEXT.filter(str.isascii),
                            st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
                        ),
                        "username": _JSON,
                        "password": _JSON,
                        "identitytoken": _JSON,
                        "registrytoken": _JSON,
                    },
                ),
            ),
            max_size=4,
        ),
    ),
    # Non-UTF-8 files and non-ASCII `auth` values are left to the xfail tests below (known bugs).
    raw=st.one_of(st.none(), st.binary(max_size=200).filter(_is_utf8)),
)
def test_docker_config_parser(
    tmp_path_factory: pytest.TempPathFactory, auths: Any, raw: bytes | None
) -> None:
    _count("docker config")
    path = tmp_path_factory.mktemp("dockercfg") / "config.json"
    # credHelpers/credsStore are left out on purpose: they name programs to run.
    path.write_bytes(raw if raw is not None else json.dumps({"auths": auths}).encode())
    try:
        DockerConfigCredential(path).resolve("r.io")
    except RegistryError as exc:
        assert "Traceback" not in str(exc)


def test_docker_config_not_utf8_is_a_registry_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b"\x80{}")
    with pytest.raises(RegistryError, match="docker config"):
        DockerConfigCredential(path).resolve("r.io")


def test_docker_config_non_ascii_auth_is_a_registry_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"r.io": {"auth": "\u0080"}}}), encoding="utf-8")
    with pytest.raises(RegistryError, match="not base64"):
        DockerConfigCredential(path).resolve("r.io")
