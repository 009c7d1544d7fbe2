"""Event-loop lag as a test sees it: how late a short sleep on the loop wakes up while some work runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

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
