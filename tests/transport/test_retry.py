"""Retry transports (sync and async) against a real server, and the pure RetryPolicy."""

from __future__ import annotations

import email.utils
import logging
import time
import uuid

import httpx
import pytest

import containerregistry.transport as transport_pkg
from containerregistry.transport import (
    AiohttpTransport,
    AsyncRetryTransport,
    RetryPolicy,
    RetryTransport,
    Urllib3Transport,
    create_async_transport,
    create_transport,
)
from containerregistry.transport._policy import scrub
from tests.transport.harness import Harness
from tests.transport.servers import EdgeServer

FAST = RetryPolicy(max_retries=3, backoff_factor=0.01, backoff_max=0.05)


@pytest.fixture(params=["sync", "async"])
def h(request: pytest.FixtureRequest) -> Harness:
    return Harness(request.param)


def _unique(path: str) -> str:
    return f"{path}/{uuid.uuid4().hex}"


def test_503_with_retry_after_is_retried_then_succeeds(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    start = time.monotonic()
    r = h.fetch(
        "GET", edge.url + path, transport=transport, headers={"X-Retry-After": "1", "X-Fail-Count": "1"}
    )
    elapsed = time.monotonic() - start
    assert r.status_code == 200
    assert r.content == b"ok"
    assert edge.hits[path] == 2
    assert transport.stats.retries == 1
    assert transport.stats.retryable_statuses == 1
    assert transport.stats.connection_errors == 0
    # Retry-After (1 s) wins over the policy's 50 ms backoff cap.
    assert elapsed >= 0.9


def test_replayable_bytes_body_is_resent(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    r = h.fetch(
        "PUT", edge.url + path, transport=transport, content=b"payload", headers={"X-Fail-Count": "2"}
    )
    assert r.status_code == 200
    assert edge.hits[path] == 3
    bodies = [req.body_length for req in edge.requests if req.target == path]
    assert bodies == [7, 7, 7]


def test_streamed_body_is_not_retried(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    r = h.fetch(
        "POST",
        edge.url + path,
        transport=transport,
        content=h.body(lambda: iter([b"a" * 100, b"b" * 100])),
        headers={"X-Fail-Count": "1"},
    )
    assert r.status_code == 503
    assert edge.hits[path] == 1
    assert transport.stats.retries == 0


def test_method_outside_policy_is_not_retried(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(RetryPolicy(max_retries=3, backoff_factor=0.01, methods=frozenset({"GET"})))
    path = _unique("/flaky")
    r = h.fetch("DELETE", edge.url + path, transport=transport, headers={"X-Fail-Count": "1"})
    assert r.status_code == 503
    assert edge.hits[path] == 1


def test_extension_disables_retry(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    r = h.fetch(
        "GET",
        edge.url + path,
        transport=transport,
        headers={"X-Fail-Count": "1"},
        extensions={"containerregistry.retry": False},
    )
    assert r.status_code == 503
    assert edge.hits[path] == 1


def test_budget_spent_returns_last_response(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    r = h.fetch("GET", edge.url + path, transport=transport, headers={"X-Fail-Count": "100"})
    assert r.status_code == 503
    assert b"UNAVAILABLE" in r.content  # the last response is returned unread, body intact
    assert edge.hits[path] == FAST.max_retries + 1
    assert transport.stats.retries == FAST.max_retries


def test_connection_error_before_response_is_retried(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/drop")
    r = h.fetch("GET", edge.url + path, transport=transport, headers={"X-Drops": "2"})
    assert r.status_code == 200
    assert edge.hits[path] == 3
    assert transport.stats.connection_errors == 2


def test_connection_errors_beyond_budget_reraise(h: Harness, edge: EdgeServer) -> None:
    transport = h.retrying(FAST)
    path = _unique("/drop")
    with pytest.raises(httpx.TransportError) as info:
        h.fetch("GET", edge.url + path, transport=transport, headers={"X-Drops": "100"})
    assert isinstance(info.value, (httpx.RemoteProtocolError, httpx.ReadError))
    assert edge.hits[path] == FAST.max_retries + 1


def test_retry_log_has_no_query_string(
    h: Harness, edge: EdgeServer, caplog: pytest.LogCaptureFixture
) -> None:
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    with caplog.at_level(logging.DEBUG, logger="containerregistry.transport"):
        h.fetch(
            "GET", edge.url + path + "?_state=SECRETSTATE", transport=transport, headers={"X-Fail-Count": "1"}
        )
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "containerregistry.transport"]
    assert len(messages) == 1
    assert path in messages[0] and "status 503" in messages[0]
    assert "SECRETSTATE" not in messages[0]


@pytest.mark.parametrize("value", [b"\xb2", b"1_0", b"1e1", b"-5"])
def test_invalid_retry_after_falls_back_to_backoff(h: Harness, edge: EdgeServer, value: bytes) -> None:
    # RFC 9110: delay-seconds is ASCII digits. "\xb2" (superscript two) used to crash the retry with a
    # ValueError, "1_0" and "1e1" were read as 10 s by the transport's own copy of the parser.
    transport = h.retrying(FAST)
    path = _unique("/flaky")
    start = time.monotonic()
    r = h.fetch(
        "GET", edge.url + path, transport=transport, headers={"X-Retry-After": value, "X-Fail-Count": "1"}
    )
    assert r.status_code == 200 and transport.stats.retries == 1
    assert time.monotonic() - start < 5.0  # the 50 ms backoff, not a 10 s wait


# --- pure policy -------------------------------------------------------------------------------


def test_should_retry() -> None:
    policy = RetryPolicy()
    for status in (408, 429, 500, 502, 503, 504):
        assert policy.should_retry("GET", status)
    for status in (200, 201, 400, 401, 403, 404, 405, 416, 501):
        assert not policy.should_retry("GET", status)
    assert policy.should_retry("put", None)
    assert not RetryPolicy(methods=frozenset({"GET"})).should_retry("POST", 503)
    assert not RetryPolicy(methods={"GET"}).should_retry("POST", None)  # type: ignore[arg-type]


def test_delay_full_jitter_within_exponential_cap() -> None:
    policy = RetryPolicy(backoff_factor=0.5, backoff_max=3.0)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0), (10_000, 3.0)]:
        samples = [policy.delay(attempt, None) for _ in range(300)]
        assert all(0.0 <= s <= cap for s in samples)
        # Full jitter spreads over the range, not a fixed value.
        assert max(samples) > cap * 0.8 and min(samples) < cap * 0.2


def test_delay_honours_retry_after_capped() -> None:
    policy = RetryPolicy(backoff_factor=0.5, backoff_max=1.0)
    assert policy.delay(1, "7") == 7.0
    assert policy.delay(1, "0") == 0.0
    assert policy.delay(1, "3600") == 60.0
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= policy.delay(1, future) <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert policy.delay(1, past) == 0.0
    assert 0.0 <= policy.delay(1, "soon") <= 0.5  # malformed: fall back to backoff
    assert RetryPolicy(retry_after_max=5).delay(1, "30") == 5.0


def test_policy_validation_and_hashable() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    assert hash(RetryPolicy()) == hash(RetryPolicy())
    with pytest.raises(AttributeError):
        RetryPolicy().max_retries = 3  # type: ignore[misc]


def test_scrub_drops_query_strings() -> None:
    assert (
        scrub("timeout to host http://h:1/v2/x?sig=S&se=1 after 5 s")
        == "timeout to host http://h:1/v2/x after 5 s"
    )
    assert scrub("url=URL('https://a.example/b?sv=1&sig=S')") == "url=URL('https://a.example/b')"
    assert scrub("no url here ?a=b") == "no url here ?a=b"


def test_factories_build_the_default_stacks() -> None:
    sync = create_transport(retry=FAST, verify=False)
    assert isinstance(sync, RetryTransport)
    assert isinstance(sync.inner, Urllib3Transport)
    assert sync.policy is FAST
    sync.close()
    default = create_async_transport()
    assert isinstance(default, AsyncRetryTransport)
    assert isinstance(default.inner, AiohttpTransport)
    assert default.policy == RetryPolicy()


def test_public_names() -> None:
    assert set(transport_pkg.__all__) == {
        "RETRY_EXTENSION",
        "AiohttpTransport",
        "AsyncRetryTransport",
        "RetryPolicy",
        "RetryStats",
        "RetryTransport",
        "Urllib3Transport",
        "create_async_transport",
        "create_transport",
    }
    for name in transport_pkg.__all__:
        assert getattr(transport_pkg, name) is not None
