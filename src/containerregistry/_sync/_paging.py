# This file is generated from containerregistry/aio/_paging.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""Lazy paged iteration over registry listings (tags, repositories, manifests, referrers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .._azure_core import azure_twin

__all__ = ["ItemPaged", "PageIterator"]

T = TypeVar("T")

#: Fetches one page: given the continuation token (None for the first page), returns the items and the next token.
PageFetcher = Callable[[str | None], tuple[list[T], str | None]]


class PageIterator(Generic[T]):
    """Iterates pages; `continuation_token` is the token of the next page (None when done)."""

    def __init__(self, fetch: PageFetcher[T], continuation_token: str | None = None) -> None:
        self._fetch = fetch
        self.continuation_token = continuation_token
        self._started = False

    def __iter__(self) -> PageIterator[T]:
        return self

    def __next__(self) -> Iterator[T]:
        if self._started and self.continuation_token is None:
            raise StopIteration
        self._started = True
        items, self.continuation_token = self._fetch(self.continuation_token)
        return _ListIterator(items)


class _ListIterator(Generic[T]):
    def __init__(self, items: list[T]) -> None:
        self._items = iter(items)

    def __iter__(self) -> _ListIterator[T]:
        return self

    def __next__(self) -> T:
        try:
            return next(self._items)
        except StopIteration:
            raise StopIteration from None


class ItemPaged(Generic[T]):
    """An iterable of items fetched page by page, on demand (also an azure-core `ItemPaged` when loaded).

    Iterate it for the items, or call `by_page()` to iterate pages (each page an iterator of items)
    and resume later from a `continuation_token`.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> ItemPaged[T]:
        return super().__new__(azure_twin(cls))

    def __init__(self, fetch: PageFetcher[T]) -> None:
        self._fetch = fetch
        self._pages: PageIterator[T] | None = None
        self._current: Iterator[T] | None = None

    def by_page(self, continuation_token: str | None = None) -> PageIterator[T]:
        """Iterate page by page, starting at `continuation_token` (None: the first page)."""
        return PageIterator(self._fetch, continuation_token)

    def __iter__(self) -> ItemPaged[T]:
        return self

    def __next__(self) -> T:
        if self._pages is None:
            self._pages = self.by_page()
        while True:
            if self._current is None:
                self._current = self._pages.__next__()
            try:
                return self._current.__next__()
            except StopIteration:
                self._current = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
