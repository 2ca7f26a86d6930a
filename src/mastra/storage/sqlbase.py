"""``SqlStorage``: the Storage protocol over any SQL executor (SQLite or PostgreSQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mastra.closeable import AsyncCloseable
from mastra.errors import NotFoundError, StorageError, ValidationError
from mastra.storage import sql
from mastra.storage.sqlqueue import SqlRunQueue
from mastra.storage.types import (
    Order,
    Resource,
    ScoreRecord,
    StoredMessage,
    Thread,
    WorkflowRun,
    check_id,
    check_message,
    check_page,
    check_score,
    lease_lost,
    now,
)
from mastra.telemetry import SpanRecord

__all__ = ["Guard", "SqlStorage", "Statement"]

R = TypeVar("R")

# (sql, params, many): many=True runs executemany over a list of parameter tuples.
Statement = tuple[str, Any, bool]
# (sql, params): a statement that must change a row for a guarded write to proceed.
Guard = tuple[str, Any]


class SqlStorage(SqlRunQueue, AsyncCloseable, ABC):
    """Everything but the connection: subclasses run statements their own way."""

    @abstractmethod
    async def _read(
        self, query: str, params: Sequence[Any], row: Callable[[Sequence[Any]], R]
    ) -> list[R]:
        """Run a query and map each row (possibly off the event loop)."""

    @abstractmethod
    async def _write(
        self, build: Callable[[], list[Statement]], *, guard: Guard | None = None
    ) -> bool:
        """Run the statements ``build()`` returns in one transaction (build may run off the
        event loop); foreign-key violations raise StorageError. A ``guard`` statement runs
        first: when it changes no row, nothing is written and the result is False."""

    def _map(self, fn: Callable[[Any], R], items: Sequence[Any]) -> list[R]:
        """Map items while building statements (overridden to yield the GIL off-loop)."""
        return [fn(item) for item in items]

    # -- threads --------------------------------------------------------------------------

    async def save_thread(self, thread: Thread) -> Thread:
        check_id("thread", thread.id)
        check_id("resource", thread.resource_id)
        await self._write(lambda: [(self._q(sql.UPSERT_THREAD), sql.thread_params(thread), False)])
        return thread

    async def get_thread(self, thread_id: str) -> Thread | None:
        rows = await self._read(
            self._q(f"SELECT {sql.THREAD_COLUMNS} FROM mastra_threads WHERE id = ?"),
            (thread_id,),
            sql.thread_of,
        )
        return rows[0] if rows else None

    async def list_threads(
        self, resource_id: str, *, limit: int = 50, offset: int = 0, order: Order = "desc"
    ) -> list[Thread]:
        check_page(limit, offset, order)
        direction = "DESC" if order == "desc" else "ASC"
        rows = await self._read(
            self._q(
                f"SELECT {sql.THREAD_COLUMNS} FROM mastra_threads WHERE resource_id = ? "
                f"ORDER BY updated_at {direction}, id {direction} LIMIT ? OFFSET ?"
            ),
            (resource_id, limit, offset),
            sql.thread_of,
        )
        return rows

    async def update_thread(
        self, thread_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Thread:
        current = await self.get_thread(thread_id)
        if current is None:
            raise NotFoundError(f"no thread {thread_id!r}")
        updated = Thread(
            id=current.id,
            resource_id=current.resource_id,
            title=current.title if title is None else title,
            metadata=current.metadata if metadata is None else metadata,
            created_at=current.created_at,
            updated_at=now(),
        )
        return await self.save_thread(updated)

    async def delete_thread(self, thread_id: str) -> None:
        await self._write(
            lambda: [
                (self._q("DELETE FROM mastra_messages WHERE thread_id = ?"), (thread_id,), False),
                (self._q("DELETE FROM mastra_threads WHERE id = ?"), (thread_id,), False),
            ]
        )

    # -- messages -------------------------------------------------------------------------

    async def save_messages(self, messages: list[StoredMessage]) -> None:
        if not messages:
            return

        def build() -> list[Statement]:
            newest: dict[str, int] = {}  # thread -> its newest message's time

            def row(m: StoredMessage) -> tuple[Any, ...]:
                params = sql.message_params(m, check_message(m))
                if params[5] > newest.get(m.thread_id, -1):  # [5]: created_at, in micros
                    newest[m.thread_id] = params[5]
                return params

            rows = self._map(row, messages)  # one pass, yielding the GIL off-loop
            touches = [(stamp, thread, stamp) for thread, stamp in newest.items()]
            return [
                (self._q(sql.UPSERT_MESSAGE), rows, True),
                (self._q(sql.TOUCH_THREAD), touches, True),
            ]

        await self._write(build)

    async def list_messages(
        self,
        thread_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        order: Order = "asc",
        last: int | None = None,
    ) -> list[StoredMessage]:
        check_page(last if last is not None else limit, offset, order)
        query = self._q(sql.messages_query(last, order))
        params = (thread_id, last) if last is not None else (thread_id, limit, offset)
        return await self._read(query, params, sql.message_of)

    async def list_messages_around(
        self, thread_id: str, message_id: str, *, before: int = 1, after: int = 1
    ) -> list[StoredMessage]:
        check_page(before + 1, 0, "asc")
        check_page(after + 1, 0, "asc")
        params = (
            thread_id,
            message_id,
            thread_id,
            before + 1,
            thread_id,
            message_id,
            thread_id,
            after,
        )
        return await self._read(self._q(sql.around_query()), params, sql.message_of)

    async def delete_messages(self, message_ids: list[str]) -> None:
        ids = list(message_ids)
        await self._write(
            lambda: [
                (self._q("DELETE FROM mastra_messages WHERE id = ?"), [(i,) for i in ids], True)
            ]
        )

    # -- resources, workflow runs, spans, key-value -----------------------------------------

    async def get_resource(self, resource_id: str) -> Resource | None:
        rows = await self._read(
            self._q(f"SELECT {sql.RESOURCE_COLUMNS} FROM mastra_resources WHERE id = ?"),
            (resource_id,),
            sql.resource_of,
        )
        return rows[0] if rows else None

    async def save_resource(self, resource: Resource) -> Resource:
        check_id("resource", resource.id)
        await self._write(
            lambda: [(self._q(sql.UPSERT_RESOURCE), sql.resource_params(resource), False)]
        )
        return resource

    async def save_workflow_run(
        self, run: WorkflowRun, *, fence: tuple[str, str] | None = None, release: bool = False
    ) -> None:
        check_id("workflow", run.workflow_id)
        check_id("run", run.run_id)
        statements: list[Statement] = [(self._q(sql.UPSERT_RUN), sql.run_params(run), False)]
        if run.steps:
            statements.append(
                (
                    self._q(sql.UPSERT_STEP),
                    sql.step_rows(run.workflow_id, run.run_id, run.steps),
                    True,
                )
            )
        if release and fence is not None:
            statements.append((self._q(sql.RELEASE_LEASE), fence, False))
        await self._fenced(statements, fence)

    async def save_workflow_steps(
        self,
        workflow_id: str,
        run_id: str,
        steps: dict[str, Any],
        *,
        fence: tuple[str, str] | None = None,
    ) -> None:
        if steps:
            rows = sql.step_rows(workflow_id, run_id, steps)
            await self._fenced([(self._q(sql.UPSERT_STEP), rows, True)], fence)

    async def _fenced(self, statements: list[Statement], fence: tuple[str, str] | None) -> None:
        guard = (self._q(sql.HOLD_LEASE), fence) if fence is not None else None
        if not await self._write_now(statements, guard):
            raise lease_lost(fence[0] if fence else "")

    async def _write_now(self, statements: list[Statement], guard: Guard | None) -> bool:
        """``_write`` of statements already built, for a write its caller waits on (a run's
        step records): a backend may take a shorter path for it."""
        return await self._write(lambda: statements, guard=guard)

    async def get_workflow_run(self, workflow_id: str, run_id: str) -> WorkflowRun | None:
        found = await self._transact(
            lambda: self._runs("workflow_id = ? AND run_id = ?", (workflow_id, run_id))
        )
        return found[0] if found else None

    async def list_workflow_runs(
        self, workflow_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[WorkflowRun]:
        check_page(limit, offset, "desc")
        where, params = "workflow_id = ?", [workflow_id]
        if status is not None:
            where, params = where + " AND status = ?", [*params, status]
        return await self._transact(
            lambda: self._runs(
                f"{where} ORDER BY created_at DESC, run_id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
        )

    async def save_spans(self, spans: list[SpanRecord]) -> None:
        if spans:
            await self._write(
                lambda: [(self._q(sql.UPSERT_SPAN), [sql.span_params(s) for s in spans], True)]
            )

    async def list_spans(
        self, *, trace_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[SpanRecord]:
        check_page(limit, offset, "asc")
        where = "WHERE trace_id = ? " if trace_id is not None else ""
        params = (trace_id, limit, offset) if trace_id is not None else (limit, offset)
        rows = await self._read(
            self._q(
                f"SELECT record FROM mastra_spans {where}ORDER BY start_ns, span_id LIMIT ? "
                "OFFSET ?"
            ),
            params,
            sql.span_of,
        )
        return rows

    async def save_scores(self, scores: list[ScoreRecord]) -> None:
        for score in scores:  # validate everything before writing anything
            check_score(score)
        if scores:
            await self._write(
                lambda: [(self._q(sql.UPSERT_SCORE), [sql.score_params(s) for s in scores], True)]
            )

    async def list_scores(
        self,
        *,
        scorer_id: str | None = None,
        run_id: str | None = None,
        entity_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ScoreRecord]:
        check_page(limit, offset, "desc")
        filters = {"scorer_id": scorer_id, "run_id": run_id, "entity_id": entity_id}
        given = {column: value for column, value in filters.items() if value is not None}
        where = " AND ".join(f"{column} = ?" for column in given)
        return await self._read(
            self._q(
                f"SELECT record FROM mastra_scores {'WHERE ' + where if where else ''} "
                "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
            ),
            (*given.values(), limit, offset),
            sql.score_of,
        )

    async def acquire_lease(self, key: str, owner: str, ttl: float) -> bool:
        params = (key, owner, int(ttl * 1e6))
        return bool(await self._small_statement(self._q(sql.ACQUIRE_LEASE), params))

    async def renew_lease(self, key: str, owner: str, ttl: float) -> bool:
        params = (int(ttl * 1e6), key, owner)
        return bool(await self._small_statement(self._q(sql.RENEW_LEASE), params))

    async def release_lease(self, key: str, owner: str) -> None:
        await self._write(lambda: [(self._q(sql.RELEASE_LEASE), (key, owner), False)])

    async def kv_get(self, key: str) -> Any:
        rows = await self._read(
            self._q("SELECT value FROM mastra_kv WHERE key = ?"),
            (key,),
            lambda row: sql.decode(row[0]),
        )
        return rows[0] if rows else None

    async def kv_set(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"keys are non-empty strings, got {key!r}")
        try:
            encoded = sql.encode(value)
        except TypeError as exc:
            raise ValidationError(f"value for {key!r} is not JSON: {exc}") from None
        await self._write(lambda: [(self._q(sql.UPSERT_KV), (key, encoded), False)])

    async def kv_delete(self, key: str) -> None:
        await self._write(lambda: [(self._q("DELETE FROM mastra_kv WHERE key = ?"), (key,), False)])


def refused_write(text: str) -> StorageError:
    """The error for a write the database refused; a missing thread is said plainly."""
    if "foreign key" in text.lower():
        return StorageError(
            f"cannot save messages to a thread that does not exist ({text}); save the thread first"
        )
    return StorageError(text)
