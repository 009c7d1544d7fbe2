"""httpx transports: fast sync (urllib3) and async (aiohttp) transports, and retry with backoff.

`create_transport()` / `create_async_transport()` build the default stack that the clients use:
`RetryTransport(Urllib3Transport(...))` and `AsyncRetryTransport(AiohttpTransport(...))`.
"""

from __future__ import annotations

from ._aiohttp import AiohttpTransport
from ._async_retry import AsyncRetryTransport
from ._factory import create_async_transport, create_transport
from ._policy import RETRY_EXTENSION, RetryPolicy, RetryStats
from ._sync_retry import RetryTransport
from ._urllib3 import Urllib3Transport

__all__ = [
    "RETRY_EXTENSION",
    "AiohttpTransport",
    "AsyncRetryTransport",
    "RetryPolicy",
    "RetryStats",
    "RetryTransport",
    "Urllib3Transport",
    "create_async_transport",
    "create_transport",
]
