"""``PostgresStorage``: the scale-out backend — many stateless app replicas, one database.
psycopg 3 async with a connection pool; JSONB documents; the same migrations as SQLite,
applied under an advisory lock so replicas starting together migrate once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mastra.errors import StorageError
from mastra.storage import sql
from mastra.storage.sqlbase import Guard, SqlStorage, Statement, unknown_thread

__all__ = ["PostgresStorage"]

T = TypeVar("T")

_MIGRATION_LOCK = 0x6D617374  # "mast": pg_advisory_xact_lock key for migrations


def _text_loaders(connection: Any) -> None:
    """Return json/jsonb columns as text: the shared row mappers decode them with msgspec."""
    from psycopg.types.string import TextLoader

    for name in ("json", "jsonb"):
        connection.adapters.register_loader(name, TextLoader)


class PostgresStorage(SqlStorage):
    """Storage in PostgreSQL (``pip install mastra[postgres]``).

    Args:
        dsn: a libpq connection string or URI.
        min_size, max_size: the connection pool bounds.
    """

    dialect = sql.POSTGRES

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.min_size, self.max_size = min_size, max_size
        self._pool: Any = None

    async def init(self) -> None:
        if self._pool is not None:
            return
        try:
            from psycopg_pool import AsyncConnectionPool
        except ImportError:  # pragma: no cover - exercised only without the extra
            raise StorageError(
                "PostgresStorage needs psycopg: pip install 'mastra[postgres]'"
            ) from None

        async def configure(connection: Any) -> None:
            _text_loaders(connection)

        pool = AsyncConnectionPool(
            self.dsn,
            min_size=self.min_size,
            max_size=self.max_size,
            configure=configure,
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=30)
        except Exception as exc:
            await pool.close()
            raise StorageError(f"cannot connect to PostgreSQL: {_without_password(exc)}") from None
        self._pool = pool
        await self._migrate()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _migrate(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS mastra_schema (version INTEGER NOT NULL)"
            )
            row = await (await conn.execute("SELECT max(version) FROM mastra_schema")).fetchone()
            version = row[0] or 0
            if version > len(sql.MIGRATIONS):
                raise StorageError(
                    f"database schema version {version} is newer than this "
                    f"mastra ({len(sql.MIGRATIONS)}); upgrade mastra"
                )
            for number, statements in enumerate(sql.MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    await conn.execute(sql.POSTGRES.ddl(statement))
                await conn.execute("INSERT INTO mastra_schema (version) VALUES (%s)", (number,))

    async def _ready(self) -> Any:
        if self._pool is None:
            await self.init()
        return self._pool

    async def _read(
        self, query: str, params: Sequence[Any], row: Callable[[Sequence[Any]], T]
    ) -> list[T]:
        import psycopg

        pool = await self._ready()
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(query, params)
                return [row(r) for r in await cursor.fetchall()]
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL error: {exc}") from None

    async def _write(
        self, build: Callable[[], list[Statement]], *, guard: Guard | None = None
    ) -> bool:
        import psycopg

        pool = await self._ready()
        statements = build()
        try:
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
        except psycopg.errors.ForeignKeyViolation as exc:
            raise unknown_thread(exc) from None
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL refused the write: {exc}") from None
        return True

    def __repr__(self) -> str:
        return "PostgresStorage(<dsn>)"  # the DSN may hold a password


def _without_password(exc: BaseException) -> str:
    import re

    return re.sub(r"(password=|://[^:/@]+:)[^@\s]+", r"\1***", str(exc))
