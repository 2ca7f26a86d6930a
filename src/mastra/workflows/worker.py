"""Workers: processes that take queued workflow runs from storage and execute them.

Any number of workers (threads of one process, processes, machines) share one SQLite file or
one PostgreSQL database. A worker claims due runs atomically with their lease, renews the
lease while it executes them, and records each step's result as the step finishes; when a
worker dies its leases lapse and another worker continues its runs from their last recorded
step. Workers also fire the workflows' cron schedules, once per tick across the fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from mastra.closeable import AsyncCloseable
from mastra.errors import ConfigError, MastraError
from mastra.storage.types import QueueLimits, RunQueue, WorkflowRun, check_id
from mastra.workflows.cron import Cron
from mastra.workflows.run import Run

if TYPE_CHECKING:
    from mastra.mastra import Mastra
    from mastra.workflows.workflow import Workflow

__all__ = ["Queue", "Schedule", "Worker"]

log = logging.getLogger("mastra.workflows.worker")

# How often a worker looks at the schedules (seconds).
_SCHEDULE_EVERY = 0.5


class Queue(msgspec.Struct, frozen=True):
    """A named queue and its limits across every worker: ``concurrency`` runs executing at
    once, ``rate`` runs started per ``per`` seconds (None: no limit)."""

    name: str = "default"
    concurrency: int | None = None
    rate: int | None = None
    per: float = 1.0

    def __post_init__(self) -> None:
        check_id("queue", self.name)
        for label, value in (("concurrency", self.concurrency), ("rate", self.rate)):
            if value is not None and (isinstance(value, bool) or value < 1):
                raise ConfigError(f"queue {self.name!r}: {label} must be >= 1, got {value!r}")
        if self.per <= 0:
            raise ConfigError(f"queue {self.name!r}: per must be > 0 seconds, got {self.per!r}")

    @property
    def limits(self) -> QueueLimits | None:
        if self.concurrency is None and self.rate is None:
            return None
        return QueueLimits(concurrency=self.concurrency, rate=self.rate, per=self.per)


class Schedule:
    """Start ``workflow`` with ``input`` at every tick of ``cron`` (made by
    :meth:`Workflow.schedule`). Workers serving ``queue`` enqueue each tick exactly once
    between them (the tick is the run's idempotency key); a tick missed by more than
    ``grace`` seconds (every worker was down) is skipped, not made up."""

    def __init__(
        self,
        workflow: Workflow,
        cron: str,
        input: Any = None,
        *,
        id: str | None = None,
        queue: str = "default",
        priority: int = 0,
        timezone: str = "UTC",
        grace: float = 60.0,
    ) -> None:
        self.workflow, self.cron = workflow, Cron(cron, timezone)
        self.input, self.queue, self.priority, self.grace = input, queue, priority, grace
        self.id = check_id("schedule", id or cron.replace(" ", "_"))

    def tick_key(self, tick: datetime) -> str:
        return f"schedule:{self.id}:{int(tick.timestamp())}"

    def __repr__(self) -> str:
        return f"Schedule({self.workflow.id!r}, {self.cron.expression!r}, id={self.id!r})"


class Worker(AsyncCloseable):
    """Executes queued runs of ``workflows`` (a :class:`~mastra.Mastra`, or workflows).

    >>> async with Worker(mastra, queues=["default", Queue("emails", concurrency=4)]) as w:
    ...     await w.run()          # until aclose() (or SIGTERM under `mastra worker`)

    Args:
        queues: queue names or :class:`Queue` s with limits, served in this order.
        concurrency: runs this worker executes at once.
        poll_interval: seconds between looks at an empty queue.
        schedules: fire the workflows' cron schedules on these queues.
        grace: on close, seconds to let runs in flight finish; runs still going are then
            handed back (their lease released, another worker continues them).
        clock: the time schedules follow (an aware datetime; the system clock by default).
    """

    def __init__(
        self,
        workflows: Mastra | Iterable[Workflow],
        *,
        queues: Iterable[str | Queue] = ("default",),
        concurrency: int = 16,
        poll_interval: float = 0.5,
        schedules: bool = True,
        grace: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from mastra.mastra import Mastra

        found = workflows.workflows.values() if isinstance(workflows, Mastra) else workflows
        self.workflows = {w.id: w for w in found}
        if not self.workflows:
            raise ConfigError("a worker needs at least one workflow")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        self.queues = [q if isinstance(q, Queue) else Queue(q) for q in queues]
        if not self.queues:
            raise ConfigError("a worker needs at least one queue")
        self.concurrency, self.poll_interval = concurrency, poll_interval
        self.grace, self.clock = grace, clock or _now
        for workflow in self.workflows.values():
            if not workflow.committed:
                workflow.commit()
        self.store = self._one_queue_store()
        self.lease_seconds = max(w.lease_seconds for w in self.workflows.values())
        self.owner = f"worker:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        names = {q.name for q in self.queues}
        self.schedules = (
            [s for w in self.workflows.values() for s in w.schedules if s.queue in names]
            if schedules
            else []
        )
        self._active: dict[asyncio.Task[None], Run] = {}
        self._stopping = asyncio.Event()
        self._freed = asyncio.Event()
        self._done = asyncio.Event()
        self._done.set()
        self.executed = 0

    def _one_queue_store(self) -> RunQueue:
        stores = {id(w.storage): w.storage for w in self.workflows.values()}
        if len(stores) != 1 or None in stores.values():
            raise ConfigError(
                "a worker's workflows must share one storage (SQLite or PostgreSQL); found "
                f"{sorted({type(s).__name__ for s in stores.values()})}"
            )
        store = next(iter(stores.values()))
        if not isinstance(store, RunQueue):
            raise ConfigError(
                f"{type(store).__name__} has no queue; workers need SQLiteStorage or "
                "PostgresStorage"
            )
        return store

    @property
    def running(self) -> int:
        """Runs executing now."""
        return len(self._active)

    async def run(self) -> None:
        """Claim and execute runs until :meth:`aclose` (or :meth:`stop`)."""
        self._done.clear()
        start = self.clock()
        due = {s.id: s.cron.next_after(start - timedelta(seconds=s.grace)) for s in self.schedules}
        scheduled_at = 0.0
        try:
            while not self._stopping.is_set():
                claimed = await self._claim()
                if self.schedules and time.monotonic() - scheduled_at >= _SCHEDULE_EVERY:
                    scheduled_at = time.monotonic()
                    await self._fire_schedules(due)
                if claimed and len(self._active) < self.concurrency:
                    continue  # more may be due: look again at once
                self._freed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await _first(self._freed, self._stopping)
        finally:
            self._done.set()

    async def _claim(self) -> int:
        claimed = 0
        for queue in self.queues:
            free = self.concurrency - len(self._active)
            if free <= 0:
                break
            try:
                taken = await self.store.claim_workflow_runs(
                    self.owner,
                    self.lease_seconds,
                    queue=queue.name,
                    workflow_ids=list(self.workflows),
                    limit=free,
                    limits=queue.limits,
                )
            except MastraError as exc:  # the database is briefly away: try again soon
                log.warning("worker %s could not claim runs: %s", self.owner, exc)
                return claimed
            for stored in taken:
                run = Run(self.workflows[stored.workflow_id], stored.run_id)
                task = asyncio.ensure_future(self._execute(run, stored))
                self._active[task] = run
                task.add_done_callback(self._finished)
            claimed += len(taken)
        return claimed

    async def _execute(self, run: Run, stored: WorkflowRun) -> None:
        try:
            await run.work(self.owner, stored)
        except MastraError as exc:
            level = logging.DEBUG if self._stopping.is_set() else logging.WARNING
            log.log(level, "run %s of %s stopped: %s", run.run_id, run.workflow.id, exc)
        except Exception:  # a bug in a step's callbacks: keep the worker alive
            log.exception("run %s of %s crashed", run.run_id, run.workflow.id)
        else:
            self.executed += 1

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._active.pop(task, None)
        self._freed.set()

    async def _fire_schedules(self, due: dict[str, datetime]) -> None:
        now = self.clock()
        for schedule in self.schedules:
            while due[schedule.id] <= now:
                tick = due[schedule.id]
                if (now - tick).total_seconds() <= schedule.grace:
                    try:
                        await schedule.workflow.enqueue(
                            schedule.input,
                            queue=schedule.queue,
                            priority=schedule.priority,
                            idempotency_key=schedule.tick_key(tick),
                        )
                    except MastraError as exc:
                        log.warning("schedule %s could not enqueue: %s", schedule.id, exc)
                        return  # this tick is tried again next time
                due[schedule.id] = schedule.cron.next_after(tick)

    def stop(self) -> None:
        """Stop claiming runs (runs in flight go on); :meth:`run` returns once asked."""
        self._stopping.set()

    async def aclose(self) -> None:
        """Stop claiming, let runs in flight finish within ``grace`` seconds, then hand the
        rest back to the queue."""
        self.stop()
        await self._done.wait()
        if self._active:
            await asyncio.wait(list(self._active), timeout=self.grace)
        for run in list(self._active.values()):
            run.abandon()
        if self._active:
            await asyncio.wait(list(self._active))


def _now() -> datetime:
    return datetime.now(UTC)


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
