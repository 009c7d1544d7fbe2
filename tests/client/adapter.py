"""Run one test body against both the sync client and its generated async twin.

`Adapted` wraps an async client and drives each call on a private event loop, turning coroutines
into results and `AsyncItemPaged` into lists, so a test written once exercises both code paths.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from containerregistry._sync import ItemPaged
from containerregistry.aio import AsyncItemPaged


class Adapted:
    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._resolve(attr(*args, **kwargs))

        return call

    def _resolve(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            return self._resolve(self._loop.run_until_complete(value))
        if isinstance(value, AsyncItemPaged):
            return self._loop.run_until_complete(_collect(value))
        return value

    def run(self, awaitable: Any) -> Any:
        return self._loop.run_until_complete(awaitable)


async def _collect(paged: AsyncItemPaged[Any]) -> list[Any]:
    return [item async for item in paged]


def as_list(value: Any) -> list[Any]:
    """Materialize a sync ItemPaged (the adapter already returns lists for async)."""
    return list(value) if isinstance(value, ItemPaged) else value
