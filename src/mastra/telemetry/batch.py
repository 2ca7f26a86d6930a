"""``BatchWorker``: hand items to a background thread without ever waiting for it.

``put()`` appends to a bounded buffer and returns; a daemon thread takes batches off it and
sends them (to a collector, a database, a scorer). When the buffer is full the item is
dropped and counted, so a slow or dead receiver never slows or fails the caller. Span
exporters (OTLP, storage) and live scoring are built on it.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from mastra.errors import ValidationError
from mastra.telemetry.logs import get_logger
from mastra.telemetry.metrics import Counter, Meter

__all__ = ["BatchWorker"]

T = TypeVar("T")
R = TypeVar("R")
_log = get_logger("telemetry")
_WARN_EVERY = 60.0  # seconds between warnings about one worker's failing receiver


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValidationError(f"{name} must be a number > 0, got {value!r}")


class BatchWorker(Generic[T]):
    """Collects items and sends them in batches from a daemon thread.

    Subclasses implement :meth:`send` (runs on the worker thread; it may call :meth:`run`
    to await a coroutine on the thread's own event loop).

    Args:
        name: names the thread and the ``dropped`` metric's ``worker`` attribute.
        max_queue: items waiting at most; more are dropped and counted.
        max_batch: items per :meth:`send` at most.
        interval: seconds between sends while the buffer is not full.
        meter: where ``mastra.<kind>.dropped`` is counted (``Telemetry`` attaches its own).
        kind: ``spans`` or ``scores``: the metric's name part.
    """

    def __init__(
        self,
        name: str,
        *,
        max_queue: int = 2048,
        max_batch: int = 512,
        interval: float = 1.0,
        meter: Meter | None = None,
        kind: str = "items",
    ) -> None:
        _positive("max_queue", max_queue)
        _positive("max_batch", max_batch)
        _positive("interval", interval)
        self.name = name
        self.max_queue, self.max_batch, self.interval = int(max_queue), int(max_batch), interval
        self.kind = kind
        self._counter: Counter | None = None
        self.meter = meter
        self._buffer: collections.deque[T] = collections.deque()
        self._wake = threading.Event()
        self._waiters: list[threading.Event] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._count_lock = threading.Lock()
        self._warned_at = -_WARN_EVERY
        self.dropped = 0
        self.sent = 0

    @property
    def meter(self) -> Meter | None:
        return self._meter

    @meter.setter
    def meter(self, meter: Meter | None) -> None:
        self._meter = meter
        self._counter = (
            meter.counter(f"mastra.{self.kind}.dropped", f"{self.kind} dropped before delivery")
            if meter is not None
            else None
        )

    # -- the caller's side ----------------------------------------------------------------

    def put(self, item: T) -> bool:
        """Queue ``item``; False (and counted as dropped) when the buffer is full or the
        worker is shut down. Never blocks."""
        buffer = self._buffer
        if len(buffer) >= self.max_queue or self._closing:
            self.count_dropped(1, "queue_full" if not self._closing else "shut_down")
            return False
        buffer.append(item)
        if self._thread is None:
            self._start()
        if len(buffer) >= self.max_batch:
            self._wake.set()
        return True

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything queued before this call was sent (or failed); False when
        ``timeout`` seconds pass first."""
        if self._thread is None or not self._thread.is_alive():
            return not self._buffer
        done = threading.Event()
        self._waiters.append(done)
        self._wake.set()
        return done.wait(timeout)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Send what is queued, stop the thread (waiting ``timeout`` seconds at most) and
        refuse further items."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close_sink()

    # -- the worker's side ----------------------------------------------------------------

    def send(self, batch: list[T]) -> None:
        """Deliver one batch (worker thread). Raising counts the batch as dropped."""
        raise NotImplementedError

    def close_sink(self) -> None:
        """Release what :meth:`send` uses (called once by :meth:`shutdown`)."""

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        """Await ``coroutine`` on the worker thread's event loop (from :meth:`send`)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(
                    target=self._work, name=f"mastra-{self.name}", daemon=True
                )
                thread.start()
                self._thread = thread

    def _work(self) -> None:
        try:
            while True:
                self._wake.wait(self.interval)
                self._wake.clear()
                waiters, self._waiters = self._waiters, []
                self._drain()
                for waiter in waiters:
                    waiter.set()
                if self._closing:
                    self._drain()
                    return
        finally:
            for waiter in self._waiters:
                waiter.set()
            self._close_loop()

    def _drain(self) -> None:
        buffer = self._buffer
        while buffer:
            batch = [buffer.popleft() for _ in range(min(len(buffer), self.max_batch))]
            try:
                self.send(batch)
            except Exception as exc:  # a receiver's failure must never reach the caller
                self.count_dropped(len(batch), "send_failed")
                if time.monotonic() - self._warned_at >= _WARN_EVERY:
                    self._warned_at = time.monotonic()
                    _log.warning(
                        "%s could not send %d %s (dropped; counted in mastra.%s.dropped): %s",
                        self.name,
                        len(batch),
                        self.kind,
                        self.kind,
                        exc,
                    )
            else:
                self.sent += len(batch)

    def count_dropped(self, count: int, reason: str) -> None:
        """Count ``count`` items lost for ``reason`` (in ``dropped`` and the meter)."""
        with self._count_lock:
            self.dropped += count
        if self._counter is not None:
            self._counter.add(count, worker=self.name, reason=reason)

    def _close_loop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
