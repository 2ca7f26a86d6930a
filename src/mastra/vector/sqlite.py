"""``SQLiteVector``: vectors as BLOBs beside their metadata in SQLite, searched in memory with
the compiled kernels. The matrix is rebuilt from the file on open and whenever another
process has written vectors to it, so reopening (or sharing) the file gives the same results."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from mastra.errors import StorageError
from mastra.storage.sqlite import SQLiteWorker, fits_here, transaction
from mastra.vector.base import QueryResult, check_index_name
from mastra.vector.locks import ReadWriteLock
from mastra.vector.memory import InMemoryVector
from mastra.vector.store import BaseVectorStore, Batch, IndexInfo, Search

__all__ = ["SQLiteVector"]

_REGISTRY = """CREATE TABLE IF NOT EXISTS mastra_vector_indexes (
    name TEXT PRIMARY KEY, dimension INTEGER NOT NULL, metric TEXT NOT NULL,
    dtype TEXT NOT NULL)"""
# One counter bumped by every vector write: a store reloads when it differs from the value its
# own last write (or load) saw. (PRAGMA data_version would also fire on unrelated writes, e.g.
# SQLiteStorage sharing the file.)
_GENERATION = """CREATE TABLE IF NOT EXISTS mastra_vector_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)"""


def _generation(connection: sqlite3.Connection) -> int:
    row = connection.execute("SELECT value FROM mastra_vector_generation").fetchone()
    return int(row[0]) if row else 0


def _write(connection: sqlite3.Connection, statements: list[tuple[str, Any, bool]]) -> int:
    """Apply statements and bump the generation in one transaction; returns the new value."""
    bump = (
        """INSERT INTO mastra_vector_generation (id, value) VALUES (1, 1)
               ON CONFLICT (id) DO UPDATE SET value = value + 1""",
        (),
        False,
    )
    transaction(connection, [*statements, bump])
    return _generation(connection)


def _table(name: str) -> str:
    return f'"mastra_vec_{check_index_name(name)}"'  # a validated identifier, quoted


# Rows one INSERT statement writes. The sqlite3 module lets go of the GIL around every
# statement it runs; one statement a row made the connection's thread wait for the GIL again
# after each row while the event loop's thread was busy (three parameters a row: far below
# SQLite's limit on parameters).
_ROWS_PER_INSERT = 64


def _upsert_statements(
    table: str, rows: list[tuple[str, bytes, str]]
) -> list[tuple[str, Any, bool]]:
    """The rows as INSERTs of ``_ROWS_PER_INSERT`` rows each, in their order, the last one
    shorter; an id already stored is overwritten."""
    statements: list[tuple[str, Any, bool]] = []
    whole = len(rows) - len(rows) % _ROWS_PER_INSERT
    for start, stop, size in ((0, whole, _ROWS_PER_INSERT), (whole, len(rows), len(rows) - whole)):
        if stop > start:
            groups = [
                tuple(chain.from_iterable(rows[at : at + size])) for at in range(start, stop, size)
            ]
            statements.append((_upsert_sql(table, size), groups, True))
    return statements


def _upsert_sql(table: str, rows: int) -> str:
    values = ", ".join(["(?, ?, ?)"] * rows)
    return f"""INSERT INTO {table} (id, vector, metadata) VALUES {values}
        ON CONFLICT (id) DO UPDATE SET vector = excluded.vector, metadata = excluded.metadata"""


def _row_blobs(rows: npt.NDArray[np.float32]) -> list[bytes]:
    """Each row's float32 bytes, cut from one copy of the matrix."""
    data, width = rows.tobytes(), rows.shape[1] * rows.itemsize
    return [data[at : at + width] for at in range(0, len(data), width)]


def _load(connection: sqlite3.Connection) -> tuple[int, list[tuple[Any, ...]]]:
    """The generation and every index with its rows: (name, dim, metric, dtype, rows)."""
    connection.execute(_REGISTRY)
    connection.execute(_GENERATION)
    version = _generation(connection)
    indexes = []
    for name, dimension, metric, dtype in connection.execute(
        "SELECT name, dimension, metric, dtype FROM mastra_vector_indexes ORDER BY name"
    ):
        rows = connection.execute(
            f"SELECT id, vector, metadata FROM {_table(name)} ORDER BY rowid"
        ).fetchall()
        indexes.append((name, dimension, metric, dtype, rows))
    return version, indexes


class SQLiteVector(BaseVectorStore):
    """A :class:`~mastra.vector.VectorStore` in a SQLite file (``":memory:"`` works too).

    Writes go to the file first... then to the in-memory copy: a failed write leaves both as
    they were. Queries run on the in-memory copy (see :class:`InMemoryVector`). Writes take
    turns and queries run together, also across threads that each run an event loop. Use it
    as ``async with SQLiteVector(path) as store:`` or call ``aclose()``: that stops the
    connection's thread.
    """

    def __init__(self, path: str | os.PathLike[str] = "mastra-vectors.db") -> None:
        super().__init__()
        self.path = os.fspath(path)
        self._worker: SQLiteWorker | None = None
        self._opening = threading.Lock()
        self._lock = ReadWriteLock()
        # The in-memory copy and the generation it reflects, swapped together (None: unread).
        self._state: tuple[InMemoryVector, int] | None = None

    def _open(self) -> SQLiteWorker:
        with self._opening:  # one connection thread, whichever thread asks first
            if self._worker is None:
                self._worker = SQLiteWorker(self.path)
            return self._worker

    async def _reload(self, worker: SQLiteWorker) -> InMemoryVector:
        version, indexes = await worker.run(_load)
        memory = InMemoryVector()
        for name, dimension, metric, dtype, rows in indexes:
            await memory.create_index(name, dimension, metric, dtype=dtype)
            if rows:
                matrix = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                await memory.upsert(
                    name, matrix, [orjson.loads(r[2]) for r in rows], [r[0] for r in rows]
                )
        self._state = (memory, version)
        return memory

    async def _fresh(self) -> InMemoryVector:
        """The in-memory copy, reloaded first if another connection changed the file."""
        worker = self._open()
        state = self._state
        if state is None or await worker.read_here(_generation) != state[1]:
            return await self._reload(worker)
        return state[0]

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[InMemoryVector]:
        async with self._lock.read():
            yield await self._fresh()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[InMemoryVector]:
        async with self._lock.write():
            yield await self._fresh()

    async def _persist(self, statements: list[tuple[str, Any, bool]]) -> None:
        """Write to the file and keep the in-memory copy in step (inside ``_writing``, which
        also keeps aclose from stopping the worker meanwhile)."""
        worker, state = self._worker, self._state
        assert worker is not None and state is not None
        try:
            run = worker.run_here if fits_here(statements) else worker.run
            written = await run(lambda c: _write(c, statements))
        except sqlite3.Error as exc:
            await self._reload(worker)  # put the in-memory copy back in step with the file
            raise StorageError(f"SQLite refused the vector write: {exc}") from None
        if written == state[1] + 1:
            self._state = (state[0], written)  # only our write happened since we last looked
        else:
            await self._reload(worker)  # another process wrote too: catch up

    async def _release(self) -> None:
        """Stop the connection's thread and drop the in-memory copy."""
        with self._opening:
            worker, self._worker = self._worker, None
        state, self._state = self._state, None
        if worker is not None:
            worker.close()
        if state is not None:
            await state[0].aclose()

    # -- the hooks of BaseVectorStore: the in-memory copy first, then the file -------------

    async def _info(self, index: str) -> IndexInfo:
        async with self._reading() as memory:
            return await memory._info(index)

    async def _create(self, name: str, info: IndexInfo, options: dict[str, Any]) -> None:
        table = f"""CREATE TABLE IF NOT EXISTS {_table(name)} (id TEXT PRIMARY KEY,
            vector BLOB NOT NULL, metadata TEXT NOT NULL)"""
        register = """INSERT INTO mastra_vector_indexes (name, dimension, metric, dtype)
            VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"""
        async with self._writing() as memory:
            await memory._create(name, info, options)
            await self._persist([(table, (), False), (register, (name, *info), False)])

    async def _upsert(self, index: str, batch: Batch) -> None:
        async with self._writing() as memory:
            await memory._upsert(index, batch)
            texts = map(bytes.decode, batch.encoded)
            rows = list(zip(batch.ids, _row_blobs(batch.rows), texts, strict=True))
            await self._persist(_upsert_statements(_table(index), rows))

    async def _query(self, index: str, search: Search) -> list[QueryResult]:
        # query() checked the file's generation a moment ago (in _info): a vector write by
        # another process since then is one that landed after this query, as it may anyway
        async with self._lock.read():
            memory = self._state[0] if self._state is not None else await self._fresh()
            return await memory._query(index, search)

    async def _update(
        self,
        index: str,
        id: str,
        row: npt.NDArray[np.float32] | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        statements: list[tuple[str, Any, bool]] = []
        if row is not None:
            statements.append(
                (f"UPDATE {_table(index)} SET vector = ? WHERE id = ?", (row.tobytes(), id), False)
            )
        if metadata is not None:
            text = orjson.dumps(metadata).decode()
            statements.append(
                (f"UPDATE {_table(index)} SET metadata = ? WHERE id = ?", (text, id), False)
            )
        async with self._writing() as memory:
            await memory._update(index, id, row, metadata)
            await self._persist(statements)

    async def _delete(self, index: str, id: str) -> None:
        async with self._writing() as memory:
            await memory._delete(index, id)
            await self._persist([(f"DELETE FROM {_table(index)} WHERE id = ?", (id,), False)])

    async def _count(self, index: str) -> int:
        async with self._reading() as memory:
            return await memory._count(index)

    async def _list(self) -> list[str]:
        async with self._reading() as memory:
            return await memory._list()

    async def _drop(self, index: str) -> None:
        async with self._writing() as memory:
            await memory._drop(index)
            await self._persist(
                [
                    (f"DROP TABLE IF EXISTS {_table(index)}", (), False),
                    ("DELETE FROM mastra_vector_indexes WHERE name = ?", (index,), False),
                ]
            )

    def __repr__(self) -> str:
        return f"SQLiteVector({self.path!r})"
