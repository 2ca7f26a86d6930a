"""``PgVector``: vectors in PostgreSQL with pgvector — exact search or HNSW / IVFFlat indexes,
filters translated to parameterised SQL over JSONB, batch upserts."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import orjson

from mastra.closeable import AsyncCloseable
from mastra.errors import NotFoundError, ValidationError
from mastra.pg import PgPools
from mastra.vector.base import (
    IndexStats,
    QueryResult,
    check_index_name,
    check_open,
    metadata_json,
)
from mastra.vector.filters import validate_filter
from mastra.vector.kernels import Metric, check_k, check_metric, real_matrix
from mastra.vector.pgfilter import to_sql

__all__ = ["PgVector"]

IndexType = Literal["exact", "hnsw", "ivfflat"]
# metric -> (distance operator, operator class, distance -> score)
_METRICS: dict[str, tuple[str, str, str]] = {
    "cosine": ("<=>", "vector_cosine_ops", "1 - ({d})"),
    "dot": ("<#>", "vector_ip_ops", "-({d})"),
    "euclidean": ("<->", "vector_l2_ops", "{d}"),
}
_REGISTRY = """CREATE TABLE IF NOT EXISTS mastra_vector_indexes (
    name TEXT PRIMARY KEY, dimension INTEGER NOT NULL, metric TEXT NOT NULL,
    index_type TEXT NOT NULL)"""


async def _prepare(pool: Any) -> None:
    async with pool.connection() as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute(_REGISTRY)


def _table(name: str) -> str:
    return f'"mastra_vec_{check_index_name(name)}"'


def _text(vector: npt.NDArray[np.float32]) -> str:
    return "[" + ",".join(repr(float(v)) for v in vector) + "]"


class PgVector(AsyncCloseable):
    """A :class:`~mastra.vector.VectorStore` on PostgreSQL + pgvector.

    ``create_index(..., index_type="exact" | "hnsw" | "ivfflat")`` picks exact scans or an
    approximate index with the operator class of the metric; ``ef_search`` / ``probes`` tune
    approximate queries.

    A connection pool opens on first use in each event loop that uses the store (psycopg
    pools belong to one loop), so one PgVector serves several loops and threads. Use it as
    ``async with PgVector(dsn) as store:`` or call ``aclose()``; a closed store refuses
    further calls.
    """

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        ef_search: int = 100,
        probes: int = 10,
    ) -> None:
        self.dsn = dsn
        self.min_size, self.max_size = min_size, max_size
        self.ef_search, self.probes = ef_search, probes
        self._pools = PgPools(dsn, min_size=min_size, max_size=max_size, prepare=_prepare)
        self._closed = False
        self._indexes: dict[str, tuple[int, str, str]] = {}

    def _connection(self) -> contextlib.AbstractAsyncContextManager[Any]:
        check_open(self, self._closed)
        return self._pools.connection("PostgreSQL refused a PgVector operation")

    async def aclose(self) -> None:
        """Close the connection pools (every event loop's); idempotent."""
        self._closed = True
        await self._pools.aclose()

    async def _info(self, name: str) -> tuple[int, str, str]:
        check_index_name(name)
        if name not in self._indexes:
            async with self._connection() as conn:
                row = await (
                    await conn.execute(
                        "SELECT dimension, metric, index_type FROM mastra_vector_indexes "
                        "WHERE name = %s",
                        (name,),
                    )
                ).fetchone()
            if row is None:
                raise NotFoundError(
                    f"unknown vector index {name!r}; indexes: "
                    f"{', '.join(await self.list_indexes()) or 'none'}"
                )
            self._indexes[name] = (row[0], row[1], row[2])
        return self._indexes[name]

    async def create_index(
        self,
        name: str,
        dimension: int,
        metric: Metric = "cosine",
        *,
        index_type: IndexType = "exact",
        dtype: str = "float32",
    ) -> None:
        check_index_name(name)
        check_metric(metric)
        if (
            isinstance(dimension, bool)
            or not isinstance(dimension, int)
            or not (0 < dimension <= 16000)
        ):
            raise ValidationError(
                f"dimension must be an integer from 1 to 16000, got {dimension!r}"
            )
        if index_type not in ("exact", "hnsw", "ivfflat"):
            raise ValidationError(f"index_type must be exact, hnsw or ivfflat, got {index_type!r}")
        if dtype != "float32":
            raise ValidationError("PgVector stores float32 vectors; dtype must be 'float32'")
        table, (_, opclass, _) = _table(name), _METRICS[metric]
        async with self._connection() as conn, conn.transaction():
            existing = await (
                await conn.execute(
                    "SELECT dimension, metric FROM mastra_vector_indexes WHERE name = %s", (name,)
                )
            ).fetchone()
            if existing is not None:
                if tuple(existing) != (dimension, metric):
                    raise ValidationError(
                        f"index {name!r} exists with dimension={existing[0]}, "
                        f"metric={existing[1]!r}; asked for dimension={dimension}, "
                        f"metric={metric!r}"
                    )
                return
            await conn.execute(f"""CREATE TABLE {table} (id TEXT PRIMARY KEY,
                embedding vector({dimension}) NOT NULL, metadata JSONB NOT NULL)""")
            if index_type != "exact":
                options = "WITH (lists = 100)" if index_type == "ivfflat" else ""
                await conn.execute(
                    f"CREATE INDEX ON {table} USING {index_type} (embedding {opclass}) {options}"
                )
            await conn.execute(
                "INSERT INTO mastra_vector_indexes VALUES (%s, %s, %s, %s)",
                (name, dimension, metric, index_type),
            )
        self._indexes[name] = (dimension, metric, index_type)

    def _rows(self, dimension: int, vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
        rows = real_matrix("vectors", vectors, (1, 2))
        rows = rows.reshape(1, -1) if rows.ndim == 1 else rows
        if rows.shape[1] != dimension:
            raise ValidationError(
                f"vectors have dimension {rows.shape[1]}; the index has dimension {dimension}"
            )
        if not np.isfinite(rows).all():
            raise ValidationError("vectors contain NaN or infinity; expected finite values")
        return rows

    async def upsert(
        self,
        index: str,
        vectors: npt.ArrayLike,
        metadata: Sequence[dict[str, Any]] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        dimension, _, _ = await self._info(index)
        rows = self._rows(dimension, vectors)
        count = len(rows)
        if metadata is not None and len(metadata) != count:
            raise ValidationError(f"got {len(metadata)} metadata objects for {count} vectors")
        id_list = list(ids) if ids is not None else [uuid.uuid4().hex for _ in range(count)]
        if (
            len(id_list) != count
            or len(set(id_list)) != count
            or not all(isinstance(i, str) and i for i in id_list)
        ):
            raise ValidationError("ids must be unique non-empty strings, one per vector")
        metas = [
            metadata_json(f"metadata[{i}]", m).decode()
            for i, m in enumerate(metadata or [{}] * count)
        ]
        params = [(i, _text(r), m) for i, r, m in zip(id_list, rows, metas, strict=True)]
        async with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                f"""INSERT INTO {_table(index)} (id, embedding, metadata)
                    VALUES (%s, %s::vector, %s::jsonb) ON CONFLICT (id) DO UPDATE
                    SET embedding = excluded.embedding, metadata = excluded.metadata""",
                params,
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
        dimension, metric, index_type = await self._info(index)
        k = check_k(top_k)
        query = self._rows(dimension, vector)
        if len(query) != 1:
            raise ValidationError(f"query takes one vector of shape ({dimension},)")
        where, params = to_sql(validate_filter(filter) if filter else None)
        operator, _, score = _METRICS[metric]
        distance = f"embedding {operator} %s::vector"
        columns = "id, metadata" + (", embedding::text" if include_vector else "")
        sql = (
            f"SELECT {columns}, {score.format(d=distance)} FROM {_table(index)} "
            f"WHERE {where} ORDER BY {distance}, id LIMIT %s"
        )
        vector_text = _text(query[0])
        async with self._connection() as conn, conn.transaction():
            if index_type == "hnsw":
                await conn.execute(f"SET LOCAL hnsw.ef_search = {int(self.ef_search)}")
            elif index_type == "ivfflat":
                await conn.execute(f"SET LOCAL ivfflat.probes = {int(self.probes)}")
            rows = await (
                await conn.execute(sql, [vector_text, *params, vector_text, k])
            ).fetchall()
        return [
            QueryResult(
                id=r[0],
                score=float(r[-1]),
                metadata=r[1],
                vector=orjson.loads(r[2]) if include_vector else None,
            )
            for r in rows
        ]

    async def update_vector(
        self,
        index: str,
        id: str,
        vector: npt.ArrayLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        dimension, _, _ = await self._info(index)
        if vector is None and metadata is None:
            raise ValidationError("update_vector needs a vector, metadata or both")
        sets, params = [], []
        if vector is not None:
            sets.append("embedding = %s::vector")
            params.append(_text(self._rows(dimension, vector)[0]))
        if metadata is not None:
            sets.append("metadata = %s::jsonb")
            params.append(metadata_json("metadata", metadata).decode())
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"UPDATE {_table(index)} SET {', '.join(sets)} WHERE id = %s", [*params, id]
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no vector with id {id!r} in index {index!r}")

    async def delete_vector(self, index: str, id: str) -> None:
        await self._info(index)
        async with self._connection() as conn:
            cursor = await conn.execute(f"DELETE FROM {_table(index)} WHERE id = %s", (id,))
            if cursor.rowcount == 0:
                raise NotFoundError(f"no vector with id {id!r} in index {index!r}")

    async def describe_index(self, index: str) -> IndexStats:
        dimension, metric, _ = await self._info(index)
        async with self._connection() as conn:
            row = await (await conn.execute(f"SELECT count(*) FROM {_table(index)}")).fetchone()
        return IndexStats(dimension, int(row[0]), metric, "float32")

    async def list_indexes(self) -> list[str]:
        async with self._connection() as conn:
            rows = await (
                await conn.execute("SELECT name FROM mastra_vector_indexes ORDER BY name")
            ).fetchall()
        return [r[0] for r in rows]

    async def delete_index(self, index: str) -> None:
        await self._info(index)
        async with self._connection() as conn, conn.transaction():
            await conn.execute(f"DROP TABLE IF EXISTS {_table(index)}")
            await conn.execute("DELETE FROM mastra_vector_indexes WHERE name = %s", (index,))
        self._indexes.pop(index, None)

    def __repr__(self) -> str:
        return "PgVector(<dsn>)"
