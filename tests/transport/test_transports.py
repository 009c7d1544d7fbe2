"""Both transports against a misbehaving loopback server: headers, bodies, errors, timeouts, TLS, proxies."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.transport.conftest import TlsMaterial
from tests.transport.harness import Harness
from tests.transport.servers import EdgeServer


@pytest.fixture(params=["sync", "async"])
def h(request: pytest.FixtureRequest) -> Harness:
    return Harness(request.param)


def test_keeps_duplicate_headers_status_reason_and_version(h: Harness, edge: EdgeServer) -> None:
    r = h.fetch("GET", f"{edge.url}/multi")
    assert r.status_code == 200
    assert r.reason_phrase == "Very Fine"
    assert r.http_version == "HTTP/1.1"
    assert r.headers.get_list("WWW-Authenticate") == [
        'Bearer realm="https://auth.example/token",service="reg"',
        'Basic realm="reg"',
    ]
    assert (b"X-Case-Kept", b"yes") in r.headers.raw
    assert r.content == b"hello"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("HEAD", "/head", 200), ("GET", "/no-content", 204), ("GET", "/not-modified", 304)],
)
def test_bodiless_responses_are_empty(
    h: Harness, edge: EdgeServer, method: str, path: str, status: int
) -> None:
    r = h.fetch(method, f"{edge.url}{path}")
    assert r.status_code == status
    assert r.content == b""
    if method == "HEAD":
        assert r.headers["Content-Length"] == "12345"
    # The connection must still be usable after a bodiless response (no stray bytes read as body).
    assert h.fetch("GET", f"{edge.url}/multi").content == b"hello"


def _chunks(total: int, size: int = 1 << 16) -> Iterator[bytes]:
    block = bytes(range(256)) * (size // 256)
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


def _expected_sha(total: int) -> str:
    return hashlib.sha256(b"".join(_chunks(total))).hexdigest()


def test_streamed_body_with_content_length_is_not_chunked(h: Harness, edge: EdgeServer) -> None:
    total = 3 * (1 << 20) + 17
    r = h.fetch(
        "PUT",
        f"{edge.url}/echo",
        content=h.body(lambda: _chunks(total)),
        headers={"Content-Length": str(total)},
    )
    seen = json.loads(r.content)
    assert seen["chunked"] is False
    assert seen["transfer_encoding"] is None
    assert seen["content_length"] == str(total)
    assert seen["length"] == total
    assert seen["sha256"] == _expected_sha(total)


def test_streamed_body_without_length_is_chunked(h: Harness, edge: EdgeServer) -> None:
    total = (1 << 20) + 5
    r = h.fetch("PATCH", f"{edge.url}/echo", content=h.body(lambda: _chunks(total)))
    seen = json.loads(r.content)
    assert seen["chunked"] is True
    assert seen["content_length"] is None
    assert seen["length"] == total
    assert seen["sha256"] == _expected_sha(total)


def test_bytes_body_and_query_string(h: Harness, edge: EdgeServer) -> None:
    r = h.fetch("POST", f"{edge.url}/echo?digest=sha256%3Aab&x=1", content=b"abc")
    seen = json.loads(r.content)
    assert seen == {
        "method": "POST",
        "target": "/echo?digest=sha256%3Aab&x=1",
        "length": 3,
        "sha256": hashlib.sha256(b"abc").hexdigest(),
        "chunked": False,
        "content_length": "3",
        "transfer_encoding": None,
    }


def test_userinfo_becomes_a_header_never_part_of_the_target(h: Harness, edge: EdgeServer) -> None:
    # httpx turns `user:pw@` into an Authorization header; the aiohttp transport used to raise a
    # ValueError ("Cannot combine AUTHORIZATION header with ... credentials encoded in URL").
    url = edge.url.replace("http://", "http://user:pw@") + "/echo?x=1"
    r = h.fetch("GET", url)
    assert r.status_code == 200 and json.loads(r.content)["target"] == "/echo?x=1"
    seen = edge.requests[-1]
    assert seen.header("Authorization") == "Basic dXNlcjpwdw=="  # user:pw
    assert "pw" not in seen.target


def test_redirect_is_returned_not_followed(h: Harness, edge: EdgeServer) -> None:
    before = edge.hits["/multi"]
    r = h.fetch("GET", f"{edge.url}/redirect")
    assert r.status_code == 307
    assert r.headers["Location"] == "/multi"
    assert edge.hits["/multi"] == before


def test_redirect_followed_by_httpx(h: Harness, edge: EdgeServer) -> None:
    """httpx builds the redirected request around the original's body stream, unread: still sendable."""
    r = h.fetch("GET", f"{edge.url}/redirect", follow_redirects=True)
    assert r.status_code == 200 and r.content == b"hello"


def test_content_encoding_left_to_httpx(h: Harness, edge: EdgeServer) -> None:
    raw = h.fetch("GET", f"{edge.url}/gzip", raw=True)
    assert raw.raw_body[:2] == b"\x1f\x8b"  # type: ignore[attr-defined]
    assert gzip.decompress(raw.raw_body) == b"plain text " * 100  # type: ignore[attr-defined]
    decoded = h.fetch("GET", f"{edge.url}/gzip")
    assert decoded.content == b"plain text " * 100


def test_body_cut_short_is_a_protocol_error(h: Harness, edge: EdgeServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        h.fetch("GET", f"{edge.url}/cut")


def test_reset_mid_body_is_a_read_error(h: Harness, edge: EdgeServer) -> None:
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)) as info:
        h.fetch("GET", f"{edge.url}/reset")
    assert info.value.__cause__ is not None


def test_close_without_response_is_a_protocol_error(h: Harness, edge: EdgeServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        h.fetch("GET", f"{edge.url}/hangup")


def test_slow_body_times_out(h: Harness, edge: EdgeServer) -> None:
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        h.fetch("GET", f"{edge.url}/slow-body", timeout=httpx.Timeout(5.0, read=0.3))
    assert time.monotonic() - start < 2.5


def test_slow_headers_time_out(h: Harness, edge: EdgeServer) -> None:
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        h.fetch("GET", f"{edge.url}/slow-headers", timeout=httpx.Timeout(5.0, read=0.3))
    assert time.monotonic() - start < 2.5


def test_connection_refused_is_connect_error(h: Harness) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError) as info:
        h.fetch("GET", f"http://127.0.0.1:{port}/v2/")
    assert info.value.__cause__ is not None


def test_connect_timeout(h: Harness) -> None:
    # A listener whose accept queue is full and never drained: further SYNs go unanswered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            time.sleep(0.1)
            start = time.monotonic()
            with pytest.raises(httpx.ConnectTimeout) as info:
                h.fetch(
                    "GET",
                    f"http://127.0.0.1:{port}/v2/r/blobs/x?sig=SECRETSIG",
                    timeout=httpx.Timeout(10.0, connect=0.4),
                )
            # Query strings (pre-signed URLs) never reach our messages.
            assert "SECRETSIG" not in str(info.value)
            # The connect timeout is used as given, not stretched to the other timeouts.
            assert time.monotonic() - start < 3
        finally:
            for filler in fillers:
                filler.close()


def test_stalled_upload_is_a_write_timeout(h: Harness, edge: EdgeServer) -> None:
    total = 256 << 20
    start = time.monotonic()
    with pytest.raises(httpx.WriteTimeout):
        h.fetch(
            "PUT",
            f"{edge.url}/stall-upload",
            content=h.body(lambda: _chunks(total, 1 << 20)),
            headers={"Content-Length": str(total)},
            # aiohttp has no write timeout; its read timeout fires while the body is still going
            # out, which the transport reports as a write timeout.
            timeout=httpx.Timeout(10.0, write=0.5, read=0.5),
        )
    assert time.monotonic() - start < 4


def test_server_hanging_up_during_upload_is_a_write_error(h: Harness, edge: EdgeServer) -> None:
    total = 256 << 20
    with pytest.raises((httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError)) as info:
        h.fetch(
            "PUT",
            f"{edge.url}/upload-cut",
            content=h.body(lambda: _chunks(total, 1 << 20)),
            headers={"Content-Length": str(total)},
        )
    # 256 MiB cannot fit in loopback socket buffers, so the failure is seen while sending.
    assert isinstance(info.value, httpx.WriteError)


def test_error_from_the_callers_body_iterator_is_not_disguised(h: Harness, edge: EdgeServer) -> None:
    def failing() -> Iterator[bytes]:
        yield b"x" * 1000
        raise ValueError("cannot read the file")

    with pytest.raises(ValueError, match="cannot read the file"):
        h.fetch("PUT", f"{edge.url}/echo", content=h.body(failing), headers={"Content-Length": "5000"})


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_with_custom_ca(h: Harness, tls_edge: EdgeServer, tls_material: TlsMaterial) -> None:
    ca_path = tls_material.ca_path
    r = h.fetch("GET", f"{tls_edge.url}/multi", transport=h.transport(verify=ca_path))
    assert r.content == b"hello"
    with pytest.raises(httpx.ConnectError):
        h.fetch("GET", f"{tls_edge.url}/multi", transport=h.transport(verify=True))
    r = h.fetch("GET", f"{tls_edge.url}/multi", transport=h.transport(verify=False))
    assert r.status_code == 200


def test_client_certificate(h: Harness, mtls_edge: EdgeServer, tls_material: TlsMaterial) -> None:
    cert = (tls_material.client_cert_path, tls_material.client_key_path)
    r = h.fetch(
        "GET", f"{mtls_edge.url}/multi", transport=h.transport(verify=tls_material.ca_path, cert=cert)
    )
    assert r.content == b"hello"
    # Without a certificate the server refuses the handshake (TLS 1.3 reports it on first read).
    with pytest.raises(httpx.TransportError):
        h.fetch("GET", f"{mtls_edge.url}/multi", transport=h.transport(verify=tls_material.ca_path))


def test_proxy_from_environment(h: Harness, edge: EdgeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", edge.url)
    monkeypatch.setenv("no_proxy", "direct.invalid")
    r = h.fetch("GET", "http://registry.invalid/v2/x", transport=h.transport())
    assert r.content == b"proxied http://registry.invalid/v2/x"
    # One Host header (a second one makes strict proxies, aiohttp's parser among them, answer 400).
    hosts = [value for key, value in edge.requests[-1].headers if key.lower() == "host"]
    assert hosts == ["registry.invalid"], edge.requests[-1].headers
    # NO_PROXY and trust_env=False both mean a direct connection, which cannot resolve .invalid.
    with pytest.raises(httpx.ConnectError):
        h.fetch("GET", "http://direct.invalid/v2/", transport=h.transport())
    with pytest.raises(httpx.ConnectError):
        h.fetch("GET", "http://registry.invalid/v2/", transport=h.transport(trust_env=False))
