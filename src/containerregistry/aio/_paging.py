"""Lazy paged iteration over registry listings (tags, repositories, manifests, referrers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from .._azure_core import azure_twin

__all__ = ["AsyncItemPaged", "AsyncPageIterator"]

T = TypeVar("T")

#: Fetches one page: given the continuation token (None for the first page), returns the items and the next token.
PageFetcher = Callable[[str | None], Awaitable[tuple[list[T], str | None]]]


class AsyncPageIterator(Generic[T]):
    """Iterates pages; `continuation_token` is the token of the next page (None when done)."""

    def __init__(self, fetch: PageFetcher[T], continuation_token: str | None = None) -> None:
        self._fetch = fetch
        self.continuation_token = continuation_token
        self._started = False

    def __aiter__(self) -> AsyncPageIterator[T]:
        return self

    async def __anext__(self) -> AsyncIterator[T]:
        if self._started and self.continuation_token is None:
            raise StopAsyncIteration
        self._started = True
        items, self.continuation_token = await self._fetch(self.continuation_token)
        return _ListIterator(items)


class _ListIterator(Generic[T]):
    def __init__(self, items: list[T]) -> None:
        self._items = iter(items)

    def __aiter__(self) -> _ListIterator[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return next(self._items)
        except StopIteration:
            raise StopAsyncIteration from None


class AsyncItemPaged(Generic[T]):
    """An iterable of items fetched page by page, on demand (also an azure-core `AsyncItemPaged` when loaded).

    Iterate it for the items, or call `by_page()` to iterate pages (each page an iterator of items)
    and resume later from a `continuation_token`.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> AsyncItemPaged[T]:
        return super().__new__(azure_twin(cls))

    def __init__(self, fetch: PageFetcher[T]) -> None:
        self._fetch = fetch
        self._pages: AsyncPageIterator[T] | None = None
        self._current: AsyncIterator[T] | None = None

    def by_page(self, continuation_token: str | None = None) -> AsyncPageIterator[T]:
        """Iterate page by page, starting at `continuation_token` (None: the first page)."""
        return AsyncPageIterator(self._fetch, continuation_token)

    def __aiter__(self) -> AsyncItemPaged[T]:
        return self

    async def __anext__(self) -> T:
        if self._pages is None:
            self._pages = self.by_page()
        while True:
            if self._current is None:
                self._current = await self._pages.__anext__()
            try:
                return await self._current.__anext__()
            except StopAsyncIteration:
                self._current = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
