"""Retry policy (pure decisions: whether and how long) and helpers shared by the transports.

The protocol facts it needs (`Retry-After`, URL redaction) are `protocol.http`'s: none is kept here.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from dataclasses import dataclass, field

import httpx

from ..protocol.http import parse_retry_after

__all__ = [
    "RETRY_EXTENSION",
    "RetryPolicy",
    "RetryStats",
    "is_refused",
    "is_replayable",
    "is_retryable_error",
    "log",
    "scrub",
]

#: Request extension: set to `False` to disable transport-level retry for one request.
RETRY_EXTENSION = "containerregistry.retry"

_DEFAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_DEFAULT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"})
_jitter = random.Random()

#: Logger of the transports (retries are logged at DEBUG, URLs without query strings).
log = logging.getLogger("containerregistry.transport")


@dataclass(frozen=True)
class RetryPolicy:
    """How requests are retried on connection errors and retryable statuses.

    Attributes:
        max_retries: retries after the first attempt (`0` disables retrying).
        backoff_factor: base of the exponential backoff in seconds: attempt *n* waits a random
            time in `[0, backoff_factor * 2**(n-1)]` ("full jitter").
        backoff_max: cap of the backoff before jitter.
        statuses: response statuses that are retried.
        methods: methods that are retried (requests with a non-replayable body never are).
        retry_after_max: cap on a server's `Retry-After`, so a hostile or confused server cannot
            park the client for hours.
    """

    max_retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 20.0
    statuses: frozenset[int] = field(default=_DEFAULT_STATUSES)
    methods: frozenset[str] = field(default=_DEFAULT_METHODS)
    retry_after_max: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff_factor < 0 or self.backoff_max < 0 or self.retry_after_max < 0:
            raise ValueError("backoff_factor, backoff_max and retry_after_max must be >= 0")
        # Accept any iterable for convenience but keep the frozen dataclass hashable.
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    def should_retry(self, method: str, status: int | None) -> bool:
        """Whether a request with `method` that got `status` (`None`: no response) may be retried.

        This looks only at method and status; the retry transport also checks the attempt budget,
        that the body can be sent again, and the per-request opt-out.
        """
        if method.upper() not in self.methods:
            return False
        return status is None or status in self.statuses

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based).

        Args:
            attempt: 1 for the first retry, 2 for the second, ...
            retry_after: the response's `Retry-After` header (delta-seconds or an HTTP date), if any.
                A valid value wins over the backoff, capped at `retry_after_max`.

        Returns:
            A delay in seconds, `>= 0`.
        """
        parsed = parse_retry_after(retry_after) if retry_after is not None else None
        if parsed is not None:
            return min(parsed, self.retry_after_max)
        exponent = max(attempt - 1, 0)
        # Guard the power: a huge attempt number must not overflow a float.
        ceiling = (
            self.backoff_max if exponent >= 64 else min(self.backoff_max, self.backoff_factor * 2.0**exponent)
        )
        return _jitter.uniform(0.0, ceiling)


class RetryStats:
    """Counters of what a retry transport did (thread-safe).

    Attributes:
        retries: retries performed.
        connection_errors: retries caused by a failure before any response.
        retryable_statuses: retries caused by a retryable status.
    """

    def __init__(self) -> None:
        self.retries = 0
        self.connection_errors = 0
        self.retryable_statuses = 0
        self._lock = threading.Lock()

    def record(self, *, status: int | None) -> None:
        """Count one retry, caused by `status` or (when `None`) by a connection error."""
        with self._lock:
            self.retries += 1
            if status is None:
                self.connection_errors += 1
            else:
                self.retryable_statuses += 1

    def __repr__(self) -> str:
        return (
            f"RetryStats(retries={self.retries}, connection_errors={self.connection_errors}, "
            f"retryable_statuses={self.retryable_statuses})"
        )


def is_replayable(request: httpx.Request) -> bool:
    """Whether the request body can be sent again (no body, or bytes held in memory)."""
    return isinstance(request.stream, httpx.ByteStream)


def is_retryable_error(exc: httpx.TransportError) -> bool:
    """Whether a transport failure may be transient (network and timeout errors, broken framing)."""
    return isinstance(exc, (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError))


def is_refused(exc: BaseException) -> bool:
    """Whether a transport failure is a refused connection (nothing listens at that address)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return isinstance(exc, httpx.ConnectError) and (
        "Connection refused" in str(exc) or "[Errno 111]" in str(exc)
    )


_URL_QUERY = re.compile(r"(?P<base>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>?#]*)[?#][^\s'\"<>)]*")


def scrub(message: str) -> str:
    """Drop query strings and fragments from URLs inside a message (they may carry signatures)."""
    return _URL_QUERY.sub(r"\g<base>", message)
