"""A read/write lock that coroutines on any thread's event loop can share.

asyncio's own primitives belong to the loop that first waits on them, so a store shared by
threads that each run a loop would wake waiters on the wrong loop (and hang). Here the state
sits behind a ``threading.Lock`` held only for a few assignments, and a coroutine that must
wait parks on a future of its own loop, which a release resolves with
``call_soon_threadsafe``: waiting never blocks a loop's thread, and no loop owns the lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

__all__ = ["ReadWriteLock"]


class _Waiter:
    __slots__ = ("future", "granted", "loop", "writer")

    def __init__(self, writer: bool) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[None] = self.loop.create_future()
        self.writer = writer
        self.granted = False


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Held:
    """The context of one acquisition (a class, not a generator: it sits on every call)."""

    __slots__ = ("_lock", "_writer")

    def __init__(self, lock: ReadWriteLock, *, writer: bool) -> None:
        self._lock, self._writer = lock, writer

    async def __aenter__(self) -> None:
        await self._lock._acquire(self._writer)

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock._release(self._writer)


class ReadWriteLock:
    """Many readers or one writer, first come first served: a reader arriving while a writer
    waits queues behind it, so a stream of queries cannot starve writes."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._readers = 0
        self._writer = False
        self._queue: deque[_Waiter] = deque()

    def read(self) -> _Held:
        """``async with lock.read():`` shares the lock with other readers."""
        return _Held(self, writer=False)

    def write(self) -> _Held:
        """``async with lock.write():`` holds the lock alone."""
        return _Held(self, writer=True)

    def _free_for(self, writer: bool) -> bool:
        return not self._writer and (self._readers == 0 or not writer)

    def _take(self, writer: bool) -> None:
        if writer:
            self._writer = True
        else:
            self._readers += 1

    async def _acquire(self, writer: bool) -> None:
        with self._mutex:
            if not self._queue and self._free_for(writer):
                self._take(writer)
                return
            waiter = _Waiter(writer)
            self._queue.append(waiter)
        try:
            await waiter.future
        except BaseException:  # cancelled while queued, or just after being granted
            with self._mutex:
                if waiter.granted:
                    self._give_back(writer)
                else:
                    self._queue.remove(waiter)
                    self._grant_waiting()  # a writer leaving the queue may free readers
            raise

    def _release(self, writer: bool) -> None:
        with self._mutex:
            self._give_back(writer)

    def _give_back(self, writer: bool) -> None:
        if writer:
            self._writer = False
        else:
            self._readers -= 1
        self._grant_waiting()

    def _grant_waiting(self) -> None:
        """Hand the lock to the waiters at the head of the queue that may have it now (the
        caller holds the mutex). The grant is made here, so no newcomer can slip in between."""
        while self._queue and self._free_for(self._queue[0].writer):
            waiter = self._queue.popleft()
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # its loop has closed: nobody is waiting there any more
                continue
            self._take(waiter.writer)
            waiter.granted = True
