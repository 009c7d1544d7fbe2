"""Event-loop lag as a test sees it: how late a short sleep on the loop wakes up while some work runs;
and a file system whose creation of partial files is slow (`slow_partial_opens`)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable
from typing import Any

import pytest

#: The ticker's sleep (seconds).
TICK = 0.005


async def worst_lag(work: Awaitable[Any], tick: float = TICK) -> float:
    """The latest a `tick` sleep on this loop woke up (seconds) while `work` ran."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(tick)
            worst = max(worst, time.perf_counter() - start - tick)

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    try:
        await work
    finally:
        done = True
        await task
    return worst


def slow_partial_opens(monkeypatch: pytest.MonkeyPatch, stall: float, *, within: str = "") -> list[int]:
    """Make each `os.open` of a `.partial` file (whose path contains `within`) take `stall` seconds.

    Returns the list the opening threads' idents are appended to (undone with `monkeypatch`)."""
    real_open = os.open
    threads: list[int] = []

    def slow_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith(".partial") and within in str(path):
            threads.append(threading.get_ident())
            time.sleep(stall)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", slow_open)
    return threads
