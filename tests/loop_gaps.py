"""How long the event loop went without running another task while some work was awaited."""

import asyncio
import gc
import time
from collections.abc import Awaitable
from typing import Any


async def loop_gaps(work: Awaitable[Any], pause: float = 0.0) -> tuple[Any, list[float], float]:
    """Await ``work`` while a ticker task wakes every ``pause`` seconds; returns the work's
    result, the gaps between the ticker's turns, and the seconds the work took.

    The heap that earlier tests left is frozen meanwhile: a full collection that the work's
    allocations set off (on whichever thread) then walks the work's objects, not the whole
    test session's (in a full run that walk alone stalled every thread for ~0.4 s)."""
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(pause)
            moment = time.perf_counter()
            gaps.append(moment - last)
            last = moment

    gc.collect()
    gc.freeze()
    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker takes its first turn before the work starts
    started = time.perf_counter()
    try:
        result = await work
    finally:
        tick.cancel()
        gc.unfreeze()
    return result, gaps, time.perf_counter() - started
