"""The suite's own fault proxy and sync/async adapter (tests/support) do what the tests rely on.

Over real loopback sockets: a small upstream served by `tests.support.hostile.serve`, the proxy in
front of it, and raw `http.client` requests, so a proxy that stopped injecting a fault (and made the
fault tests prove nothing) fails here.
"""

from __future__ import annotations

import hashlib
import http.client
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from tests.support.adapter import ClientKind
from tests.support.faults import FaultConfig, PlannedFault, run_fault_proxy
from tests.support.hostile import serve

BODY = bytes(range(256)) * 64  # 16 KiB
DIGEST = "sha256:" + hashlib.sha256(BODY).hexdigest()


async def _upstream(request: web.Request) -> web.StreamResponse:
    await request.read()
    return web.Response(body=BODY, headers={"X-Path": request.path})


@pytest.fixture(scope="module")
def upstream_port() -> Iterator[int]:
    with serve(_upstream) as url:
        yield int(urlsplit(url).port or 80)


def _get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def test_a_connection_plan_cuts_the_first_connection_after_exactly_n_bytes(upstream_port: int) -> None:
    with run_fault_proxy(upstream_port, connection_plan=[PlannedFault("cut_down", 1000)]) as proxy:
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            _get(proxy.port, "/first")
        assert proxy.bytes_down == 1000
        assert _get(proxy.port, "/second") == (200, BODY)  # the plan is used up: pass through
        assert proxy.faults["cut_down"] == 1 and proxy.connections == 2


def test_a_connection_cut_counts_bytes_across_the_requests_of_the_connection(upstream_port: int) -> None:
    plan = [PlannedFault("cut_down", len(BODY) + 2000)]  # beyond the first response, inside the second
    with run_fault_proxy(upstream_port, connection_plan=plan) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        assert _get(proxy.port, "/one", conn) == (200, BODY)
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            _get(proxy.port, "/two", conn)
        assert proxy.faults["cut_down"] == 1 and proxy.connections == 1
        assert proxy.bytes_down == len(BODY) + 2000


def test_a_request_plan_matches_method_and_path_and_counts_its_hits(upstream_port: int) -> None:
    refuse = PlannedFault("status", method="GET", path="^/acr/", times=2, status=404, body=b"nope\n")
    with run_fault_proxy(upstream_port, plan=[refuse]) as proxy:
        assert _get(proxy.port, "/v2/acr/x") == (200, BODY)  # the pattern is anchored: not this one
        assert _get(proxy.port, "/acr/v1/_catalog") == (404, b"nope\n")
        assert _get(proxy.port, "/acr/v1/_catalog") == (404, b"nope\n")
        assert _get(proxy.port, "/acr/v1/_catalog") == (200, BODY)  # two hits, then used up
        assert proxy.faults["status_404"] == 2 and proxy.requests == 4
    assert refuse.times == 2  # the caller's plan is copied, not consumed


def test_a_request_cut_counts_from_the_start_of_its_response(upstream_port: int) -> None:
    with run_fault_proxy(upstream_port, plan=[PlannedFault("cut_down", 500, path="^/two$")]) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        assert _get(proxy.port, "/one", conn) == (200, BODY)
        # The proxy counts a write once it drained, which can be after the client read it: wait for the
        # whole first response (its head and body) to be counted.
        deadline = time.monotonic() + 5
        while proxy.bytes_down <= len(BODY) and time.monotonic() < deadline:
            time.sleep(0.01)
        before = proxy.bytes_down
        assert before > len(BODY)
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            _get(proxy.port, "/two", conn)
        assert proxy.bytes_down - before == 500 and proxy.faults["cut_down"] == 1


def test_the_default_error_answer_is_an_oci_error_with_retry_after(upstream_port: int) -> None:
    with run_fault_proxy(upstream_port, plan=[PlannedFault("status", status=503, retry_after="1")]) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        conn.request("GET", "/v2/")
        response = conn.getresponse()
        assert response.status == 503 and response.getheader("Retry-After") == "1"
        assert b'"code":"UNAVAILABLE"' in response.read()
        assert proxy.faults["status_503_retry_after"] == 1


def test_connections_beyond_the_bound_are_refused(upstream_port: int) -> None:
    with run_fault_proxy(upstream_port, FaultConfig(max_connections=1)) as proxy:
        assert _get(proxy.port, "/ok") == (200, BODY)
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            _get(proxy.port, "/refused")


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_client_kind_calls_both_flavours_the_same_way(flavour: str, upstream_port: int) -> None:
    with ClientKind(flavour) as kind:
        client = kind.package.ContainerRegistryContentClient(f"http://127.0.0.1:{upstream_port}", "app")
        with kind.adapt(client) as adapted:
            assert adapted.download_blob_content(DIGEST).content == BODY
        assert kind.is_async == (flavour == "async")
        assert kind.run(42) == 42
    assert kind.loop is None  # closed
