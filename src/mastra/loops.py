"""``PerLoop``: one instance of a loop-bound resource (an aiohttp session, a psycopg pool) per
event loop, so that one client or store can be shared by ``asyncio.run()`` after
``asyncio.run()`` and by threads that each run a loop; ``run_sync``: the loop behind every
``*_sync`` twin, one per thread, kept between calls."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["PerLoop", "run_sync"]

T = TypeVar("T")


class _Held(Generic[T]):
    """One loop's resource. Closed by :meth:`close`, or — when the loop ends first, as
    ``asyncio.run()`` ends — by the loop itself, which finalises the async generators it
    started (``shutdown_asyncgens``): the watcher generator closes the resource then, while
    the loop can still close its sockets."""

    def __init__(self, value: T, close: Callable[[T], Awaitable[None]]) -> None:
        self.value = value
        self._watcher = self._watch(close)

    async def _watch(self, close: Callable[[T], Awaitable[None]]) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await close(self.value)

    async def start(self) -> None:
        await anext(self._watcher)  # the running loop now knows it and will finalise it

    async def close(self) -> None:
        await self._watcher.aclose()


class PerLoop(Generic[T]):
    """A resource per event loop: made by ``open()`` at the first :meth:`get` in a loop (or
    again once ``usable(value)`` says it is spent), closed by ``close(value)``."""

    def __init__(
        self,
        open: Callable[[], Awaitable[T]],
        close: Callable[[T], Awaitable[None]],
        usable: Callable[[T], bool] = lambda value: True,
    ) -> None:
        self._open, self._close, self._usable = open, close, usable
        self._held: dict[asyncio.AbstractEventLoop, _Held[T]] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    async def get(self) -> T:
        """This loop's resource, opened now if it has none (concurrent first calls in one
        loop open it once)."""
        loop = asyncio.get_running_loop()
        held = self._held.get(loop)
        if held is not None and self._usable(held.value):
            return held.value
        async with self._locks.setdefault(loop, asyncio.Lock()):
            held = self._held.get(loop)
            if held is None or not self._usable(held.value):
                for gone in [other for other in self._held if other.is_closed()]:
                    self._locks.pop(gone, None)
                    await self._held.pop(gone).close()  # no I/O: their loop already ended
                held = _Held(await self._open(), self._close)
                await held.start()
                self._held[loop] = held
        return held.value

    async def aclose(self) -> None:
        """Close every loop's resource; a loop running in another thread closes its own."""
        everything, self._held = self._held, {}
        self._locks = {}
        current = asyncio.get_running_loop()
        for loop, held in everything.items():
            if loop is not current and loop.is_running():
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(held.close(), loop))
            else:  # this loop's, or a finished loop's (closed when that loop shut down)
                await held.close()


def run_sync(start: Callable[[], Awaitable[T]], *, name: str, instead: str) -> T:
    """The ``*_sync`` twin of an async entry point: run ``start()`` on this thread's own event
    loop, which stays open between calls so their per-loop resources (connection pools) are
    reused; it closes, and them with it, after the thread ended or at interpreter exit. Inside
    a running loop that would block it, so it is refused with what to write instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        from mastra.errors import MastraError

        raise MastraError(f"{name} cannot run inside a running event loop; use {instead} there")
    return _run_until_done(_thread_runner().get_loop(), _awaited(start))


def _run_until_done(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end on ``loop``. Not ``Runner.run``: that swaps the SIGINT handler
    on every call, which costs more than a short run. An interrupt (Ctrl-C) cancels the
    work before it propagates, so nothing of it runs during a later call."""
    task = loop.create_task(work)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise


async def _awaited(start: Callable[[], Awaitable[T]]) -> T:
    return await start()


def _thread_runner() -> asyncio.Runner:
    """This thread's runner, made at its first ``run_sync``. Its loop closes (tasks cancelled,
    async generators, and so PerLoop resources, finalised) when the thread's ``Thread`` object
    is gone, after the thread ended, or at interpreter exit."""
    runner = _local.runner
    if runner is None:
        runner = _local.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        key = object()
        _closers[key] = weakref.finalize(threading.current_thread(), _close, runner, key)
    return runner


def _close(runner: asyncio.Runner, key: object) -> None:
    del _closers[key]
    if not runner.get_loop().is_running():  # a daemon thread's, still running at exit: left
        runner.close()


class _Local(threading.local):
    runner: asyncio.Runner | None = None


_local = _Local()
_closers: dict[object, weakref.finalize[[asyncio.Runner, object], threading.Thread]] = {}


def _after_fork_in_child() -> None:
    """A forked child must not close (or use) its parent's loops and connections: it forgets
    them, unclosed, and makes its own loop at its first ``run_sync``."""
    global _local
    for closer in _closers.values():
        closer.detach()
    _closers.clear()
    _local = _Local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
