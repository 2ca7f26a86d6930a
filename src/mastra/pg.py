"""PostgreSQL plumbing that ``PostgresStorage`` and ``PgVector`` share (psycopg 3, the
``postgres`` extra): a connection pool per event loop, prepared once per store, and
psycopg's errors mapped to ours with passwords kept out of every message."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from typing import Any

from mastra.closeable import AsyncCloseable
from mastra.errors import (
    ConnectionError,
    ErrorMapping,
    MastraError,
    StorageError,
    TimeoutError,
    map_exceptions,
    mapped,
)
from mastra.loops import PerLoop

__all__ = ["PgPools", "pg_errors", "without_password"]

_PASSWORD = re.compile(r"(password=|://[^:/@\s]+:)[^@\s]+")


def without_password(text: str) -> str:
    """``text`` with any password of a DSN in it replaced by ``***``."""
    return _PASSWORD.sub(r"\1***", text)


def _redacted(make: Callable[..., MastraError], **details: Any) -> Callable[[str], MastraError]:
    return lambda text: make(without_password(text), **details)


@cache
def pg_errors() -> ErrorMapping:
    """psycopg's exceptions, most specific first, as ours: a pool or statement timeout is a
    TimeoutError, a failed or lost connection a ConnectionError, anything else a
    StorageError."""
    import psycopg
    from psycopg_pool import PoolTimeout

    return {
        PoolTimeout: _redacted(TimeoutError, provider="postgres"),
        psycopg.errors.QueryCanceled: _redacted(TimeoutError, provider="postgres"),
        psycopg.OperationalError: _redacted(ConnectionError, provider="postgres"),
        psycopg.Error: _redacted(StorageError),
    }


@cache
def _open_errors() -> ErrorMapping:
    """While a pool opens, running out of time means the server could not be reached."""
    from psycopg_pool import PoolTimeout

    return {**pg_errors(), PoolTimeout: _redacted(ConnectionError, provider="postgres")}


class PgPools(AsyncCloseable):
    """psycopg pools belong to the loop that opened them: one per loop that uses the store.
    ``prepare(pool)`` runs once per store, on its first pool (migrations, extensions)."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int,
        max_size: int,
        prepare: Callable[[Any], Awaitable[None]],
        configure: Callable[[Any], Awaitable[None]] | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        self.dsn, self.min_size, self.max_size = dsn, min_size, max_size
        self.connect_timeout = connect_timeout
        self._prepare, self._configure = prepare, configure
        self._prepared = False
        self._pools: PerLoop[Any] = PerLoop(self._open, lambda pool: pool.close())

    async def get(self) -> Any:
        """This event loop's pool, opened (and the store prepared) if need be."""
        return await self._pools.get()

    async def aclose(self) -> None:
        await self._pools.aclose()

    @contextlib.asynccontextmanager
    async def connection(self, what: str) -> AsyncIterator[Any]:
        """A connection from this loop's pool; psycopg's errors in the block become ours,
        their messages starting with ``what``."""
        pool = await self.get()
        with map_exceptions(pg_errors(), what):
            async with pool.connection() as conn:
                yield conn

    async def _open(self) -> Any:
        try:
            from psycopg_pool import AsyncConnectionPool
        except ImportError:  # pragma: no cover - exercised only without the extra
            raise StorageError("PostgreSQL needs psycopg: pip install 'mastra[postgres]'") from None
        pool = AsyncConnectionPool(
            self.dsn,
            min_size=self.min_size,
            max_size=self.max_size,
            configure=self._configure,
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=self.connect_timeout)
            if not self._prepared:
                await self._prepare(pool)
                self._prepared = True
        except Exception as exc:
            await pool.close()
            error = mapped(exc, _open_errors(), "cannot connect to PostgreSQL")
            if error is None or error is exc:
                raise
            raise error from None
        return pool
