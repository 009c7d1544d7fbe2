"""Run one test body against the sync ACR clients and their generated async twins.

`Adapted` wraps an async object and drives each call on a private event loop: coroutines become
results, `AsyncItemPaged` becomes a sync iterable (items via `async for`, `by_page()` via the async page
iterator), and the repositories and artifacts an async client returns are wrapped the same way.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

from containerregistry import aio


class Adapted:
    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    @property
    def target(self) -> Any:
        return self._target

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
        if isinstance(value, aio.AsyncItemPaged):
            return PagedAdapter(value, self._loop)
        if isinstance(value, (aio.ContainerRepository, aio.RegistryArtifact)):
            return Adapted(value, self._loop)
        return value

    def __enter__(self) -> Adapted:
        self._loop.run_until_complete(self._target.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.run_until_complete(self._target.__aexit__(None, None, None))

    def __repr__(self) -> str:
        return repr(self._target)


class PagedAdapter:
    """A sync view of an `AsyncItemPaged`."""

    def __init__(self, paged: aio.AsyncItemPaged[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._paged = paged
        self._loop = loop

    def __iter__(self) -> Iterator[Any]:
        return iter(self._loop.run_until_complete(_collect(self._paged)))

    def by_page(self, continuation_token: str | None = None) -> PagesAdapter:
        return PagesAdapter(self._paged.by_page(continuation_token), self._loop)


class PagesAdapter:
    def __init__(self, pages: aio.AsyncPageIterator[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._pages = pages
        self._loop = loop

    @property
    def continuation_token(self) -> str | None:
        return self._pages.continuation_token

    def __iter__(self) -> PagesAdapter:
        return self

    def __next__(self) -> list[Any]:
        try:
            page = self._loop.run_until_complete(self._pages.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None
        return self._loop.run_until_complete(_collect(page))


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]
