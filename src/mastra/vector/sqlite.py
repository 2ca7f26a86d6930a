"""``SQLiteVector``: vectors as BLOBs beside their metadata in SQLite, searched in memory with
the compiled kernels. The matrix is rebuilt from the file on open and whenever another
process has written vectors to it, so reopening (or sharing) the file gives the same results."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from mastra.errors import StorageError
from mastra.storage.sqlite import SQLiteWorker, transaction
from mastra.vector.base import IndexStats, QueryResult, check_index_name
from mastra.vector.compressed import StorageDtype
from mastra.vector.kernels import Metric
from mastra.vector.memory import InMemoryVector

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


class SQLiteVector:
    """A :class:`~mastra.vector.VectorStore` in a SQLite file (``":memory:"`` works too).

    Writes go to the file first... then to the in-memory copy: a failed write leaves both as
    they were. Queries run on the in-memory copy (see :class:`InMemoryVector`).
    """

    def __init__(self, path: str | os.PathLike[str] = "mastra-vectors.db") -> None:
        self.path = os.fspath(path)
        self._worker: SQLiteWorker | None = None
        self._memory = InMemoryVector()
        self._version: int | None = None

    async def _ready(self) -> SQLiteWorker:
        if self._worker is None:
            self._worker = SQLiteWorker(self.path)
            await self._reload()
        return self._worker

    async def _reload(self) -> None:
        assert self._worker is not None
        version, indexes = await self._worker.run(_load)
        memory = InMemoryVector()
        for name, dimension, metric, dtype, rows in indexes:
            await memory.create_index(name, dimension, metric, dtype=dtype)
            if rows:
                matrix = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                await memory.upsert(
                    name, matrix, [orjson.loads(r[2]) for r in rows], [r[0] for r in rows]
                )
        self._memory, self._version = memory, version

    async def _fresh(self) -> InMemoryVector:
        """The in-memory copy, reloaded first if another connection changed the file."""
        worker = await self._ready()
        if await worker.run(_generation) != self._version:
            await self._reload()
        return self._memory

    async def _persist(self, statements: list[tuple[str, Any, bool]]) -> None:
        worker = await self._ready()
        try:
            written = await worker.run(lambda c: _write(c, statements))
        except sqlite3.Error as exc:
            await self._reload()  # put the in-memory copy back in step with the file
            raise StorageError(f"SQLite refused the vector write: {exc}") from None
        if written == (self._version or 0) + 1:
            self._version = written  # only our write happened since we last looked
        else:
            await self._reload()  # another process wrote too: catch up

    async def close(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()

    async def create_index(
        self,
        name: str,
        dimension: int,
        metric: Metric = "cosine",
        *,
        dtype: StorageDtype = "float32",
    ) -> None:
        memory = await self._fresh()
        await memory.create_index(name, dimension, metric, dtype=dtype)
        await self._persist(
            [
                (
                    f"""CREATE TABLE IF NOT EXISTS {_table(name)} (id TEXT PRIMARY KEY,
                 vector BLOB NOT NULL, metadata TEXT NOT NULL)""",
                    (),
                    False,
                ),
                (
                    """INSERT INTO mastra_vector_indexes (name, dimension, metric, dtype)
                VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING""",
                    (name, dimension, metric, dtype),
                    False,
                ),
            ]
        )

    async def upsert(
        self,
        index: str,
        vectors: npt.ArrayLike,
        metadata: Sequence[dict[str, Any]] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        memory = await self._fresh()
        id_list = await memory.upsert(index, vectors, metadata, ids)
        if not id_list:
            return id_list
        rows = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(id_list), -1)
        metas = metadata or [{} for _ in id_list]
        params = [
            (i, rows[n].tobytes(), orjson.dumps(metas[n]).decode()) for n, i in enumerate(id_list)
        ]
        await self._persist(
            [
                (
                    f"""INSERT INTO {_table(index)} (id, vector, metadata) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET vector = excluded.vector,
                metadata = excluded.metadata""",
                    params,
                    True,
                )
            ]
        )
        return id_list

    async def query(
        self,
        index: str,
        vector: npt.ArrayLike,
        top_k: int = 10,
        filter: dict[str, Any] | None = None,
        include_vector: bool = False,
    ) -> list[QueryResult]:
        memory = await self._fresh()
        return await memory.query(index, vector, top_k, filter, include_vector)

    async def update_vector(
        self,
        index: str,
        id: str,
        vector: npt.ArrayLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        memory = await self._fresh()
        await memory.update_vector(index, id, vector, metadata)
        statements: list[tuple[str, Any, bool]] = []
        if vector is not None:
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            statements.append(
                (f"UPDATE {_table(index)} SET vector = ? WHERE id = ?", (blob, id), False)
            )
        if metadata is not None:
            statements.append(
                (
                    f"UPDATE {_table(index)} SET metadata = ? WHERE id = ?",
                    (orjson.dumps(metadata).decode(), id),
                    False,
                )
            )
        await self._persist(statements)

    async def delete_vector(self, index: str, id: str) -> None:
        memory = await self._fresh()
        await memory.delete_vector(index, id)
        await self._persist([(f"DELETE FROM {_table(index)} WHERE id = ?", (id,), False)])

    async def describe_index(self, index: str) -> IndexStats:
        return await (await self._fresh()).describe_index(index)

    async def list_indexes(self) -> list[str]:
        return await (await self._fresh()).list_indexes()

    async def delete_index(self, index: str) -> None:
        memory = await self._fresh()
        await memory.delete_index(index)
        await self._persist(
            [
                (f"DROP TABLE IF EXISTS {_table(index)}", (), False),
                ("DELETE FROM mastra_vector_indexes WHERE name = ?", (index,), False),
            ]
        )

    def __repr__(self) -> str:
        return f"SQLiteVector({self.path!r})"
