"""Run the same scenario through the sync (urllib3) and the async (aiohttp) transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from containerregistry.transport import (
    AiohttpTransport,
    AsyncRetryTransport,
    RetryPolicy,
    RetryTransport,
    Urllib3Transport,
)

__all__ = ["Harness"]


class Harness:
    """`kind` is "sync" or "async"; `fetch` sends one request and reads the whole body."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def transport(self, **kwargs: Any) -> Any:
        return Urllib3Transport(**kwargs) if self.kind == "sync" else AiohttpTransport(**kwargs)

    def retrying(self, policy: RetryPolicy, **kwargs: Any) -> Any:
        inner = self.transport(**kwargs)
        return RetryTransport(inner, policy) if self.kind == "sync" else AsyncRetryTransport(inner, policy)

    def body(self, chunks: Callable[[], Iterator[bytes]]) -> Any:
        """A non-replayable streamed request body of the right flavour."""
        if self.kind == "sync":
            return chunks()

        async def agen() -> AsyncIterator[bytes]:
            for chunk in chunks():
                yield chunk

        return agen()

    def fetch(
        self,
        method: str,
        url: str,
        *,
        transport: Any = None,
        timeout: httpx.Timeout | float = 10.0,
        raw: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send and read the body (`raw=True`: as sent, undecoded; kept in `response.raw_body`)."""
        if self.kind == "sync":
            transport = transport if transport is not None else Urllib3Transport()
            with httpx.Client(transport=transport, timeout=timeout) as client:
                with client.stream(method, url, **kwargs) as response:
                    if raw:
                        response.raw_body = b"".join(response.iter_raw())  # type: ignore[attr-defined]
                    else:
                        response.read()
                return response

        async def run() -> httpx.Response:
            nonlocal transport
            transport = transport if transport is not None else AiohttpTransport()
            async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
                async with client.stream(method, url, **kwargs) as response:
                    if raw:
                        chunks = [chunk async for chunk in response.aiter_raw()]
                        response.raw_body = b"".join(chunks)  # type: ignore[attr-defined]
                    else:
                        await response.aread()
                return response

        return asyncio.run(asyncio.wait_for(run(), 30))
