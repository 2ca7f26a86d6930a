"""``PostgresStorage``: the scale-out backend — many stateless app replicas, one database.
psycopg 3 async with a connection pool; JSONB documents; the same migrations as SQLite,
applied under an advisory lock so replicas starting together migrate once."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from mastra.errors import ErrorMapping, map_exceptions
from mastra.pg import PgPools, pg_errors
from mastra.storage import sql
from mastra.storage.sqlbase import Guard, SqlStorage, Statement, refused_write
from mastra.storage.sqlqueue import Program
from mastra.storage.types import WorkflowRun, check_id, lease_lost

__all__ = ["PostgresStorage"]

T = TypeVar("T")

_MIGRATION_LOCK = 0x6D617374  # "mast": pg_advisory_xact_lock key for migrations


async def _configure(connection: Any) -> None:
    """Return json/jsonb columns as text: the shared row mappers decode them with msgspec.
    Autocommit: a lone statement is its own transaction, one round trip; several statements
    run inside an explicit transaction."""
    from psycopg.types.string import TextLoader

    for name in ("json", "jsonb"):
        connection.adapters.register_loader(name, TextLoader)
    await connection.set_autocommit(True)


class PostgresStorage(SqlStorage):
    """Storage in PostgreSQL (``pip install mastra[postgres]``).

    Args:
        dsn: a libpq connection string or URI.
        min_size, max_size: the connection pool bounds (per event loop that uses the store).
        connect_timeout: seconds to wait for the first connections before a
            :class:`~mastra.errors.ConnectionError`.
    """

    dialect = sql.POSTGRES

    def __init__(
        self, dsn: str, *, min_size: int = 1, max_size: int = 10, connect_timeout: float = 30.0
    ) -> None:
        self.dsn = dsn
        self.min_size, self.max_size = min_size, max_size
        self._pools = PgPools(
            dsn,
            min_size=min_size,
            max_size=max_size,
            prepare=self._migrate,
            configure=_configure,
            connect_timeout=connect_timeout,
        )

    async def init(self) -> None:
        await self._pools.get()

    async def aclose(self) -> None:
        await self._pools.aclose()

    async def _migrate(self, pool: Any) -> None:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS mastra_schema (version INTEGER NOT NULL)"
            )
            row = await (await conn.execute("SELECT max(version) FROM mastra_schema")).fetchone()
            for number, statements in sql.pending_migrations(row[0] or 0, sql.POSTGRES):
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute("INSERT INTO mastra_schema (version) VALUES (%s)", (number,))

    async def _read(
        self, query: str, params: Sequence[Any], row: Callable[[Sequence[Any]], T]
    ) -> list[T]:
        return [row(r) for r in await self._statement(query, params, "PostgreSQL error")]

    async def _write(
        self, build: Callable[[], list[Statement]], *, guard: Guard | None = None
    ) -> bool:
        pool = await self._pools.get()
        statements = build()

        async def attempt() -> bool:
            async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                if guard is not None:
                    await cur.execute(*guard)
                    if cur.rowcount == 0:
                        return False  # nothing was written; the transaction ends empty
                for query, params, many in statements:
                    if many:
                        await cur.executemany(query, params)
                    else:
                        await cur.execute(query, params)
            return True

        with map_exceptions(_write_errors(), "PostgreSQL refused the write"):
            return await _retry_conflicts(attempt)

    async def _transact(self, program: Callable[[], Program[T]]) -> T:
        pool = await self._pools.get()

        async def attempt() -> T:
            steps = program()
            async with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                statement = next(steps)
                while True:
                    await cur.execute(*statement)
                    rows = await cur.fetchall() if cur.description is not None else []
                    try:
                        statement = steps.send(rows)
                    except StopIteration as done:
                        return done.value  # type: ignore[no-any-return]

        with map_exceptions(_write_errors(), "PostgreSQL refused the write"):
            return await _retry_conflicts(attempt)

    # A run's fenced writes are one statement each (one round trip, no BEGIN/COMMIT): the
    # lease row is locked by the statement's own guard until it commits, as in a transaction.

    async def save_workflow_run(
        self, run: WorkflowRun, *, fence: tuple[str, str] | None = None, release: bool = False
    ) -> None:
        if fence is None:
            await super().save_workflow_run(run)
            return
        check_id("workflow", run.workflow_id)
        check_id("run", run.run_id)
        steps = sql.step_rows(run.workflow_id, run.run_id, run.steps)
        query = sql.fenced_run_write(len(steps), release=release)
        params = [*fence, *sql.run_params(run), *(value for step in steps for value in step)]
        await self._guarded(query, params, fence)

    async def save_workflow_steps(
        self,
        workflow_id: str,
        run_id: str,
        steps: dict[str, Any],
        *,
        fence: tuple[str, str] | None = None,
    ) -> None:
        if fence is None or not steps:
            await super().save_workflow_steps(workflow_id, run_id, steps, fence=fence)
            return
        run = WorkflowRun(workflow_id=workflow_id, run_id=run_id, status="")
        rows = sql.step_rows(run.workflow_id, run.run_id, steps)
        query = sql.fenced_run_write(len(rows), run=False)
        await self._guarded(query, [*fence, *(value for row in rows for value in row)], fence)

    async def _guarded(self, query: str, params: Sequence[Any], fence: tuple[str, str]) -> None:
        held = await self._statement(self._q(query), params)
        if not held or not held[0][0]:
            raise lease_lost(fence[0])

    async def _statement(
        self, query: str, params: Sequence[Any], what: str = "PostgreSQL refused the write"
    ) -> list[tuple[Any, ...]]:
        """One statement in autocommit: its own transaction, one round trip (``what`` begins
        the message of an error)."""
        pool = await self._pools.get()

        async def attempt() -> list[tuple[Any, ...]]:
            async with pool.connection() as conn:
                cursor = await conn.execute(query, params)
                return await cursor.fetchall() if cursor.description is not None else []

        with map_exceptions(_write_errors(), what):
            return await _retry_conflicts(attempt)

    def __repr__(self) -> str:
        return "PostgresStorage(<dsn>)"  # the DSN may hold a password


async def _retry_conflicts(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` (one transaction) again when PostgreSQL aborted it to break a deadlock
    or a serialization conflict: nothing of it was committed, and each attempt re-checks its
    lease, so running it again is safe. The fourth failure is raised."""
    from psycopg import errors

    for backoff in (0.01, 0.02, 0.04):
        try:
            return await attempt()
        except (errors.DeadlockDetected, errors.SerializationFailure):
            await asyncio.sleep(random.uniform(0, backoff))
    return await attempt()


@functools.cache
def _write_errors() -> ErrorMapping:
    import psycopg

    return {psycopg.errors.ForeignKeyViolation: refused_write, **pg_errors()}
