"""The one sync/async adapter of the test suite: run one test body against a sync object and its async twin.

`ClientKind` (the `client_kind` fixture of tests/conftest.py, parametrized over `flavour` "sync" and
"async") says which flavour a test runs and owns the one event loop its async calls run on:
`kind.package` / `kind.images` are the flavour's modules, `kind.adapt(obj)` gives an object whose
methods are called the same way for both flavours (the sync object itself, or `Adapted`), and
`kind.run(value)` resolves what a flavour's function returned (an awaitable is run on the loop).
A test that needs both flavours in one body makes them itself: ``with ClientKind("async") as kind:``.

`Adapted` wraps an async object and drives each call on that loop: coroutines become results,
`AsyncItemPaged` becomes a sync iterable (items via `async for`, `by_page()` via the async page
iterator), and the repositories and artifacts an async client returns are wrapped the same way;
``with`` enters and exits the async context manager. Tests whose point is the async code path itself
(cancellation, concurrency on one loop, event-loop blocking) write their `async def` bodies instead.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import containerregistry
import containerregistry.images
from containerregistry import aio
from containerregistry.aio import images as aio_images

__all__ = ["FLAVOURS", "Adapted", "ClientKind", "PagedAdapter", "PagesAdapter"]

FLAVOURS = ("sync", "async")


class ClientKind:
    """One flavour of the library for one test (see the module docstring); `close` ends its loop."""

    def __init__(self, flavour: str) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}")
        self.flavour = flavour
        self.loop: asyncio.AbstractEventLoop | None = asyncio.new_event_loop() if flavour == "async" else None

    @property
    def is_async(self) -> bool:
        return self.loop is not None

    @property
    def package(self) -> ModuleType:
        """`containerregistry` or `containerregistry.aio`."""
        return aio if self.is_async else containerregistry

    @property
    def images(self) -> ModuleType:
        """`containerregistry.images` or `containerregistry.aio.images`."""
        return aio_images if self.is_async else containerregistry.images

    def adapt(self, target: Any) -> Any:
        """`target` itself (sync), or `Adapted(target)` driven on this kind's loop (async)."""
        return target if self.loop is None else Adapted(target, self.loop)

    def run(self, value: Any) -> Any:
        """`value`, or (async) what awaiting it on this kind's loop gives."""
        if self.loop is not None and inspect.isawaitable(value):
            return self.loop.run_until_complete(value)
        return value

    def close(self) -> None:
        """End the loop as `asyncio.run` does: async generators and the default executor first."""
        loop, self.loop = self.loop, None
        if loop is None or loop.is_closed():
            return
        try:
            loop.run_until_complete(asyncio.sleep(0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()

    def __enter__(self) -> ClientKind:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ClientKind({self.flavour!r})"


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
