# This file is generated from containerregistry/transport/_async_retry.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""Retry wrapper for any httpx transport. The async module is the source; scripts/unasync.py generates the sync one."""

from __future__ import annotations

import time

import httpx

from ..protocol.http import redact_url
from ._policy import (
    RETRY_EXTENSION,
    RetryPolicy,
    RetryStats,
    is_refused,
    is_replayable,
    is_retryable_error,
    log,
)

__all__ = ["RetryTransport"]

#: Error bodies up to this size are read before a retry so the connection can be reused;
#: anything larger (or of unknown size) is dropped with its connection.
_DRAIN_LIMIT = 64 * 1024


class RetryTransport(httpx.BaseTransport):
    """Retries requests on connection errors and retryable statuses, with backoff and jitter.

    A request is retried only when its method is in `policy.methods`, its body can be sent
    again (no body, or bytes in memory; a generator is consumed by the first attempt), and its
    `"containerregistry.retry"` extension is not `False`. When the budget is spent, the last
    response is returned (the caller maps its status to an error) or the last exception is raised.
    Failures while streaming a response body happen after this transport has returned and are
    not retried here.

    Args:
        inner: the transport that sends each attempt.
        policy: how often and how long to retry; `RetryPolicy()` by default.

    Attributes:
        stats: counters of retries performed, for tests and diagnostics.
    """

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy if policy is not None else RetryPolicy()
        self.stats = RetryStats()
        #: Hosts that answered at least once through this transport. A refused connection to a host
        #: that never answered means it is down (or the address is wrong): failing at once beats
        #: seconds of backoff. Once a host has answered, a refusal (a restart) is retried as usual.
        self._answered: set[tuple[str, int | None]] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` through the inner transport, retrying as the policy allows."""
        policy = self.policy
        retryable = (
            policy.max_retries > 0
            and request.method.upper() in policy.methods
            and request.extensions.get(RETRY_EXTENSION, True) is not False
            and is_replayable(request)
        )
        if not retryable:
            return self.inner.handle_request(request)

        attempt = 0
        while True:
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                if attempt >= policy.max_retries or not is_retryable_error(exc):
                    raise
                if is_refused(exc) and (request.url.host, request.url.port) not in self._answered:
                    raise
                attempt += 1
                delay = policy.delay(attempt, None)
                self._log_retry(request, exc.__class__.__name__, attempt, delay)
                self.stats.record(status=None)
                time.sleep(delay)
                continue

            self._answered.add((request.url.host, request.url.port))
            status = response.status_code
            if attempt >= policy.max_retries or not policy.should_retry(request.method, status):
                return response
            attempt += 1
            delay = policy.delay(attempt, response.headers.get("Retry-After"))
            self._discard(response)
            self._log_retry(request, f"status {status}", attempt, delay)
            self.stats.record(status=status)
            time.sleep(delay)

    def _discard(self, response: httpx.Response) -> None:
        """Release a response that will be retried, keeping its connection when that is cheap."""
        try:
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) <= _DRAIN_LIMIT:
                # Raw bytes only: decoding a small compressed body could still expand to gigabytes.
                for _ in response.iter_raw():
                    pass
        except httpx.HTTPError:
            pass
        finally:
            response.close()

    def _log_retry(self, request: httpx.Request, reason: str, attempt: int, delay: float) -> None:
        log.debug(
            "retrying %s %s after %s (retry %d of %d) in %.2f s",
            request.method,
            redact_url(str(request.url)),
            reason,
            attempt,
            self.policy.max_retries,
            delay,
        )

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()
