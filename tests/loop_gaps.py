"""How long the event loop went without running another task while some work was awaited."""

import asyncio
import time
from collections.abc import Awaitable
from typing import Any


async def loop_gaps(work: Awaitable[Any], pause: float = 0.0) -> tuple[Any, list[float], float]:
    """Await ``work`` while a ticker task wakes every ``pause`` seconds; returns the work's
    result, the gaps between the ticker's turns, and the seconds the work took."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(pause)
            moment = time.perf_counter()
            gaps.append(moment - last)
            last = moment

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker takes its first turn before the work starts
    started = time.perf_counter()
    try:
        result = await work
    finally:
        tick.cancel()
    return result, gaps, time.perf_counter() - started
