"""httpx transports: fast sync (urllib3) and async (aiohttp) transports, and retry with backoff.

`create_transport()` / `create_async_transport()` build the default stack that the clients use:
`RetryTransport(Urllib3Transport(...))` and `AsyncRetryTransport(AiohttpTransport(...))`.

`AiohttpTransport` and `AsyncRetryTransport` are imported on first use (PEP 562), so that sync users never
load aiohttp or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._factory import create_async_transport, create_transport
from ._policy import RETRY_EXTENSION, RetryPolicy, RetryStats
from ._sync_retry import RetryTransport
from ._urllib3 import Urllib3Transport

if TYPE_CHECKING:
    from ._aiohttp import AiohttpTransport
    from ._async_retry import AsyncRetryTransport

#: Public names loaded on first access: name -> module (relative to this package).
_LAZY = {"AiohttpTransport": "._aiohttp", "AsyncRetryTransport": "._async_retry"}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
