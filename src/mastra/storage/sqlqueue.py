"""``SqlRunQueue``: the :class:`~mastra.storage.types.RunQueue` operations over SQL, shared
by SQLite (one writer at a time: claims serialise on the write lock) and PostgreSQL (claimers
pass over each other's rows with ``FOR NO KEY UPDATE SKIP LOCKED``; a queue with limits is counted
under a transaction-scoped advisory lock)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from mastra.errors import ValidationError, WorkflowError
from mastra.storage import sql
from mastra.storage.types import (
    TERMINAL_STATUSES,
    QueueLimits,
    RunEvent,
    WorkflowRun,
    check_id,
    lease_lost,
)

__all__ = ["Program", "SqlRunQueue", "one_statement"]

R = TypeVar("R")

# A transaction that decides as it goes: it yields (sql, params), is sent back the rows
# each statement returned, and its return value is the transaction's. Written once, run
# on SQLite's worker thread or on an async PostgreSQL connection alike.
Program = Generator[tuple[str, Any], list[tuple[Any, ...]], R]


def one_statement(query: str, params: Sequence[Any]) -> Program[list[tuple[Any, ...]]]:
    """The program of one statement: its rows."""
    return (yield (query, params))


class SqlRunQueue(ABC):
    """Queue operations for a SQL store; the store supplies its dialect and transactions."""

    dialect: sql.Dialect

    @abstractmethod
    async def _transact(self, program: Callable[[], Program[R]]) -> R:
        """Run ``program()`` in one transaction (SQLite takes the write lock at its start);
        an exception inside it rolls everything back."""

    @abstractmethod
    async def get_workflow_run(self, workflow_id: str, run_id: str) -> WorkflowRun | None: ...

    async def _statement(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run one statement on its own (its own transaction) and return its rows."""
        return await self._transact(lambda: one_statement(query, params))

    async def _small_statement(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """:meth:`_statement` for one that reads or writes a row or two (a lease, a run's
        state): a store that can run such a statement without a thread hop does."""
        return await self._statement(query, params)

    def _q(self, text: str) -> str:
        return self.dialect.sql(text)

    async def _run_by_idempotency_key(self, run: WorkflowRun) -> WorkflowRun | None:
        """The stored run of ``run``'s workflow enqueued with its idempotency key, if any."""
        if run.idempotency_key is None:
            return None
        key = (run.workflow_id, run.idempotency_key)

        def program() -> Program[list[WorkflowRun]]:
            return (yield from self._runs("workflow_id = ? AND idempotency_key = ?", key))

        found = await self._transact(program)
        return found[0] if found else None

    def _runs(self, where: str, params: Sequence[Any]) -> Program[list[WorkflowRun]]:
        """Runs matching ``where``, each with its step records (in the caller's
        transaction: one consistent view of both)."""
        runs = [sql.run_of(row) for row in (yield (self._q(sql.SELECT_RUNS + where), params))]
        if not runs:
            return runs
        steps: dict[tuple[str, str], dict[str, Any]] = {(r.workflow_id, r.run_id): {} for r in runs}
        workflow_ids = sorted({r.workflow_id for r in runs})
        run_ids = sorted({r.run_id for r in runs})
        rows = yield (
            self._q(sql.select_steps(len(workflow_ids), len(run_ids))),
            (*workflow_ids, *run_ids),
        )
        for workflow_id, run_id, step_key, result in rows:
            if (workflow_id, run_id) in steps:
                steps[(workflow_id, run_id)][step_key] = sql.decode(result)
        return [msgspec.structs.replace(r, steps=steps[(r.workflow_id, r.run_id)]) for r in runs]

    async def enqueue_workflow_run(self, run: WorkflowRun, *, delay: float = 0.0) -> WorkflowRun:
        check_id("workflow", run.workflow_id)
        check_id("run", run.run_id)
        if run.queue is None:
            raise ValidationError("a queued run needs a queue")
        values = list(sql.run_params(run))
        values[8] = int(delay * 1e6)  # wake_at: the database's now + delay
        steps = sql.step_rows(run.workflow_id, run.run_id, run.steps)
        if self.dialect.name == "postgres":  # the run and its steps in one statement
            params = [*values, *(value for step in steps for value in step)]
            inserted = await self._statement(self._q(sql.enqueue_with_steps(len(steps))), params)
        else:

            def program() -> Program[list[tuple[Any, ...]]]:
                rows = yield (self._q(sql.ENQUEUE_RUN), values)
                for step in steps if rows else ():
                    yield (self._q(sql.UPSERT_STEP), step)
                return rows

            inserted = await self._transact(program)
        if inserted:  # the stored row comes back with the insert: no second read
            recorded = {key: sql.decode(result) for _, _, key, result in steps}
            return msgspec.structs.replace(sql.run_of(inserted[0]), steps=recorded)
        stored = await self._run_by_idempotency_key(run)
        if stored is None:
            raise WorkflowError(
                f"run {run.run_id!r} of {run.workflow_id!r} already exists; enqueue a new "
                "run id, or pass idempotency_key= to get the existing run back"
            )
        return stored

    async def claim_workflow_runs(
        self,
        owner: str,
        lease_seconds: float,
        *,
        queue: str,
        workflow_ids: list[str],
        limit: int,
        limits: QueueLimits | None = None,
    ) -> list[WorkflowRun]:
        if limit <= 0 or not workflow_ids:
            return []
        ttl = int(lease_seconds * 1e6)
        postgres = self.dialect.name == "postgres"

        def program() -> Program[list[WorkflowRun]]:
            allowed = limit
            if limits is not None and (limits.concurrency is not None or limits.rate):
                if postgres:  # one claimer at a time counts this queue
                    yield ("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"mastra:{queue}",))
                if limits.concurrency is not None:
                    running = yield (self._q(sql.COUNT_RUNNING), (queue,))
                    allowed = min(allowed, limits.concurrency - running[0][0])
                if limits.rate is not None:
                    window = int(limits.per * 1e6)
                    started = yield (self._q(sql.COUNT_STARTED), (queue, window))
                    allowed = min(allowed, limits.rate - started[0][0])
            if allowed <= 0:
                return []
            due = yield (
                self._q(sql.due_runs(len(workflow_ids), skip_locked=postgres)),
                (queue, *workflow_ids, allowed),
            )
            if not due:
                return []
            keys = {f"workflow:{w}:{r}": (w, r) for w, r in due}
            taken = yield (
                self._q(sql.take_leases(len(keys))),
                [value for key in keys for value in (key, owner, ttl)],
            )
            claimed = [keys[row[0]] for row in taken]
            if not claimed:
                return []
            pairs = [value for pair in claimed for value in pair]
            yield (self._q(sql.mark_running(len(claimed))), pairs)
            where = f"(workflow_id, run_id) IN (VALUES {', '.join(['(?, ?)'] * len(claimed))})"
            return (yield from self._runs(where, pairs))

        return await self._transact(program)

    async def request_workflow_cancel(self, workflow_id: str, run_id: str) -> WorkflowRun | None:
        rows = await self._small_statement(self._q(sql.REQUEST_CANCEL), (workflow_id, run_id))
        return sql.run_of(rows[0]) if rows else None

    async def workflow_run_state(self, workflow_id: str, run_id: str) -> tuple[str, bool] | None:
        rows = await self._small_statement(self._q(sql.RUN_STATE), (workflow_id, run_id))
        return (rows[0][0], bool(rows[0][1])) if rows else None

    async def send_workflow_event(
        self, workflow_id: str, run_id: str, name: str, data: Any
    ) -> WorkflowRun | None:
        check_id("event", name)

        def program() -> Program[WorkflowRun | None]:
            rows = yield (
                self._q(sql.SELECT_RUNS + "workflow_id = ? AND run_id = ?"),
                (workflow_id, run_id),
            )
            if not rows or rows[0][2] in TERMINAL_STATUSES:  # status: nothing can take it
                return sql.run_of(rows[0]) if rows else None
            yield (self._q(sql.INSERT_EVENT), (workflow_id, run_id, name, sql.encode(data)))
            yield (self._q(sql.WAKE_WAITING), (workflow_id, run_id))
            return sql.run_of(rows[0])

        return await self._transact(program)

    async def take_workflow_event(
        self, workflow_id: str, run_id: str, name: str, taker: str, fence: tuple[str, str]
    ) -> RunEvent | None:
        def program() -> Program[RunEvent | None]:
            if not (yield (self._q(sql.HOLD_LEASE_RETURNING), fence)):
                raise lease_lost(fence[0])
            rows = yield (self._q(sql.EVENT_TAKEN_BY), (workflow_id, run_id, taker))
            if not rows:
                rows = yield (self._q(sql.FIRST_UNTAKEN_EVENT), (workflow_id, run_id, name))
                if not rows:
                    return None
                yield (self._q(sql.TAKE_EVENT), (taker, rows[0][0]))
            seq, taken_name, data = rows[0]
            return RunEvent(seq=seq, name=taken_name, data=sql.decode(data))

        return await self._transact(program)

    async def delete_workflow_runs(
        self, workflow_id: str, *, before: datetime, statuses: tuple[str, ...]
    ) -> int:
        if not statuses:
            return 0
        query = sql.DELETE_RUNS.format(statuses=", ".join("?" * len(statuses)))

        params = (workflow_id, sql.to_micros(before), *statuses)
        return len(await self._statement(self._q(query), params))
