"""A run's durable record: the lease that makes one process its only executor (renewed by a
heartbeat while it runs), and snapshot writes fenced by that lease in the workflow's
durability mode."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any, Literal

from mastra.storage import Storage, WorkflowRun
from mastra.storage.types import RunQueue

__all__ = ["Durability", "RunStore"]

# When snapshots are written: after every node, waited for ("sync"); in the background, the
# latest state whenever the previous write is done, flushed before the run returns ("async");
# only when the run stops — finished, failed, suspended or canceled ("exit").
Durability = Literal["sync", "async", "exit"]


class RunStore:
    """One run's record in a :class:`~mastra.storage.Storage`.

    While a process executes the run it holds the lease ``workflow:<id>:<run>`` for
    ``lease_seconds``, renewed every third of that by a heartbeat; every write is fenced by
    the lease, so a process that lost it (paused past its lease, partitioned) can never
    overwrite what the new owner wrote. A worker that claimed the run from a queue already
    holds the lease as ``owner``. The run's row is written when its status changes; in
    between, each step writes only its own record.
    """

    def __init__(
        self,
        storage: Storage,
        workflow_id: str,
        run_id: str,
        *,
        durability: Durability,
        lease_seconds: float,
        owner: str | None = None,
    ) -> None:
        self.storage, self.durability = storage, durability
        self.workflow_id, self.run_id = workflow_id, run_id
        self.lease_seconds = lease_seconds
        self.key = f"workflow:{workflow_id}:{run_id}"
        self.held = owner is not None
        self.owner = owner or uuid.uuid4().hex
        self._heartbeat: asyncio.Task[None] | None = None
        self._writer: asyncio.Future[None] | None = None
        self._row: Callable[[], WorkflowRun] | None = None  # a status change to write
        self._steps: Callable[[], dict[str, Any]] | None = None  # step records to write
        self._released = False

    @property
    def queue(self) -> RunQueue | None:
        """The store's queue operations (SQLite, PostgreSQL), if it has them."""
        return self.storage if isinstance(self.storage, RunQueue) else None

    async def load(self) -> WorkflowRun | None:
        return await self.storage.get_workflow_run(self.workflow_id, self.run_id)

    async def claim(self, on_lost: Callable[[], None], on_cancel: Callable[[], None]) -> bool:
        """Take the lease (False when another live owner holds it; a worker's claim already
        took it) and keep it renewed; ``on_lost`` is called if it cannot be renewed before
        it expires, ``on_cancel`` when another process asked to cancel the run."""
        if not self.held and not await self.storage.acquire_lease(
            self.key, self.owner, self.lease_seconds
        ):
            return False
        self._heartbeat = asyncio.ensure_future(self._renew(on_lost, on_cancel))
        return True

    async def _renew(self, on_lost: Callable[[], None], on_cancel: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        expires = loop.time() + self.lease_seconds
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            asked = loop.time()
            try:
                held = await self.storage.renew_lease(self.key, self.owner, self.lease_seconds)
                queue = self.queue
                if held and queue is not None:
                    state = await queue.workflow_run_state(self.workflow_id, self.run_id)
                    if state is not None and state[1]:
                        on_cancel()
            except Exception:  # storage briefly unreachable: retry while the lease lasts
                held = loop.time() < expires
            else:
                if held:
                    expires = asked + self.lease_seconds
            if not held:
                on_lost()
                return

    async def release(self) -> None:
        """Stop renewing and writing, and give the lease up (if the final write did not)."""
        for task in (self._heartbeat, self._writer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._heartbeat = self._writer = None
        if not self._released:
            with contextlib.suppress(Exception):  # unreleased, the lease expires on its own
                await self.storage.release_lease(self.key, self.owner)

    async def save(self, row: Callable[[], WorkflowRun], *, final: bool) -> None:
        """Write the run's row (``row()`` gives it, with the step records changed since the
        last call) as the durability mode says; a final save also gives the lease up."""
        self._row = row
        await self._request(final)

    async def checkpoint(self, steps: Callable[[], dict[str, Any]]) -> None:
        """Write the step records changed since the last write (``steps()`` gives them), not
        the run's row."""
        self._steps = steps
        await self._request(final=False)

    async def _request(self, final: bool) -> None:
        """ "sync": write now. "async": one background writer keeps writing the latest state
        (requests made while a write is in flight are coalesced). "exit": only the final
        write. A final write first waits for the background writer."""
        if self.durability == "exit" and not final:
            return
        if self.durability == "async" and not final:
            if self._writer is None or self._writer.done():
                self._writer = asyncio.ensure_future(self._drain())
            return
        await self.flush()
        await self._write(final)

    async def flush(self) -> None:
        """Wait for the background writer; its failure (a lost lease) is raised here."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer

    async def _drain(self) -> None:
        while self._row is not None or self._steps is not None:
            await self._write(False)

    async def _write(self, final: bool) -> None:
        """Write what is due: the run's row (its changed step records with it) when its
        status changed, else only the changed step records."""
        row, steps = self._row, self._steps
        self._row = self._steps = None
        fence = (self.key, self.owner)
        if row is not None:
            await self.storage.save_workflow_run(row(), fence=fence, release=final)
            self._released = final
        elif steps is not None:
            records = steps()
            if records:
                await self.storage.save_workflow_steps(
                    self.workflow_id, self.run_id, records, fence=fence
                )
