"""``PgVector``: vectors in PostgreSQL with pgvector — exact search or HNSW / IVFFlat indexes,
filters translated to parameterised SQL over JSONB, batch upserts."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import orjson

from mastra.errors import ValidationError
from mastra.pg import PgPools
from mastra.vector.base import QueryResult, check_index_name
from mastra.vector.pgfilter import to_sql
from mastra.vector.store import (
    BaseVectorStore,
    Batch,
    IndexInfo,
    Search,
    unknown_index,
    unknown_vector,
)

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


class PgVector(BaseVectorStore):
    """A :class:`~mastra.vector.VectorStore` on PostgreSQL + pgvector.

    ``create_index(..., index_type="exact" | "hnsw" | "ivfflat")`` picks exact scans or an
    approximate index with the operator class of the metric; ``ef_search`` / ``probes`` tune
    approximate queries.

    A connection pool opens on first use in each event loop that uses the store (psycopg
    pools belong to one loop), so one PgVector serves several loops and threads. Use it as
    ``async with PgVector(dsn) as store:`` or call ``aclose()``; a closed store refuses
    further calls.
    """

    max_dimension = 16_000  # pgvector's limit for the vector type

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        ef_search: int = 100,
        probes: int = 10,
    ) -> None:
        super().__init__()
        self.dsn = dsn
        self.min_size, self.max_size = min_size, max_size
        self.ef_search, self.probes = ef_search, probes
        self._pools = PgPools(dsn, min_size=min_size, max_size=max_size, prepare=_prepare)
        self._indexes: dict[str, tuple[IndexInfo, IndexType]] = {}

    def _connection(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._pools.connection("PostgreSQL refused a PgVector operation")

    async def _release(self) -> None:
        await self._pools.aclose()

    # -- the hooks of BaseVectorStore -----------------------------------------------------

    async def _described(self, name: str) -> tuple[IndexInfo, IndexType]:
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
                raise unknown_index(name, await self._list())
            self._indexes[name] = (IndexInfo(row[0], row[1]), row[2])
        return self._indexes[name]

    async def _info(self, index: str) -> IndexInfo:
        return (await self._described(index))[0]

    async def _create(self, name: str, info: IndexInfo, options: dict[str, Any]) -> None:
        index_type = options.pop("index_type", "exact")
        if options:
            raise ValidationError(
                f"PgVector.create_index takes index_type=, not {', '.join(sorted(options))}"
            )
        if index_type not in ("exact", "hnsw", "ivfflat"):
            raise ValidationError(f"index_type must be exact, hnsw or ivfflat, got {index_type!r}")
        if info.dtype != "float32":
            raise ValidationError("PgVector stores float32 vectors; dtype must be 'float32'")
        table, (_, opclass, _) = _table(name), _METRICS[info.metric]
        async with self._connection() as conn, conn.transaction():
            existing = await (
                await conn.execute(
                    "SELECT dimension, metric FROM mastra_vector_indexes WHERE name = %s", (name,)
                )
            ).fetchone()
            if existing is not None:
                if tuple(existing) != (info.dimension, info.metric):
                    raise ValidationError(
                        f"index {name!r} exists with dimension={existing[0]}, "
                        f"metric={existing[1]!r}; asked for dimension={info.dimension}, "
                        f"metric={info.metric!r}"
                    )
                return
            await conn.execute(f"""CREATE TABLE {table} (id TEXT PRIMARY KEY,
                embedding vector({info.dimension}) NOT NULL, metadata JSONB NOT NULL)""")
            if index_type != "exact":
                tuning = "WITH (lists = 100)" if index_type == "ivfflat" else ""
                await conn.execute(
                    f"CREATE INDEX ON {table} USING {index_type} (embedding {opclass}) {tuning}"
                )
            await conn.execute(
                "INSERT INTO mastra_vector_indexes VALUES (%s, %s, %s, %s)",
                (name, info.dimension, info.metric, index_type),
            )
        self._indexes[name] = (info, index_type)

    async def _upsert(self, index: str, batch: Batch) -> None:
        params = [  # the metadata as the store's check already encoded it
            (id_, _text(row), json.decode())
            for id_, row, json in zip(batch.ids, batch.rows, batch.encoded, strict=True)
        ]
        async with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                f"""INSERT INTO {_table(index)} (id, embedding, metadata)
                    VALUES (%s, %s::vector, %s::jsonb) ON CONFLICT (id) DO UPDATE
                    SET embedding = excluded.embedding, metadata = excluded.metadata""",
                params,
            )

    async def _query(self, index: str, search: Search) -> list[QueryResult]:
        info, index_type = await self._described(index)
        where, params = to_sql(search.filter)
        operator, _, score = _METRICS[info.metric]
        distance = f"embedding {operator} %s::vector"
        columns = "id, metadata" + (", embedding::text" if search.include_vector else "")
        sql = (
            f"SELECT {columns}, {score.format(d=distance)} FROM {_table(index)} "
            f"WHERE {where} ORDER BY {distance}, id LIMIT %s"
        )
        vector_text = _text(search.vector)
        async with self._connection() as conn, conn.transaction():
            if index_type == "hnsw":
                await conn.execute(f"SET LOCAL hnsw.ef_search = {int(self.ef_search)}")
            elif index_type == "ivfflat":
                await conn.execute(f"SET LOCAL ivfflat.probes = {int(self.probes)}")
            rows = await (
                await conn.execute(sql, [vector_text, *params, vector_text, search.k])
            ).fetchall()
        return [
            QueryResult(
                id=r[0],
                score=float(r[-1]),
                metadata=r[1],
                vector=orjson.loads(r[2]) if search.include_vector else None,
            )
            for r in rows
        ]

    async def _update(
        self,
        index: str,
        id: str,
        row: npt.NDArray[np.float32] | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        sets, params = [], []
        if row is not None:
            sets.append("embedding = %s::vector")
            params.append(_text(row))
        if metadata is not None:
            sets.append("metadata = %s::jsonb")
            params.append(orjson.dumps(metadata).decode())
        async with self._connection() as conn:
            cursor = await conn.execute(
                f"UPDATE {_table(index)} SET {', '.join(sets)} WHERE id = %s", [*params, id]
            )
            if cursor.rowcount == 0:
                raise unknown_vector(index, id)

    async def _delete(self, index: str, id: str) -> None:
        async with self._connection() as conn:
            cursor = await conn.execute(f"DELETE FROM {_table(index)} WHERE id = %s", (id,))
            if cursor.rowcount == 0:
                raise unknown_vector(index, id)

    async def _count(self, index: str) -> int:
        async with self._connection() as conn:
            row = await (await conn.execute(f"SELECT count(*) FROM {_table(index)}")).fetchone()
        return int(row[0])

    async def _list(self) -> list[str]:
        async with self._connection() as conn:
            rows = await (
                await conn.execute("SELECT name FROM mastra_vector_indexes ORDER BY name")
            ).fetchall()
        return [r[0] for r in rows]

    async def _drop(self, index: str) -> None:
        async with self._connection() as conn, conn.transaction():
            await conn.execute(f"DROP TABLE IF EXISTS {_table(index)}")
            await conn.execute("DELETE FROM mastra_vector_indexes WHERE name = %s", (index,))
        self._indexes.pop(index, None)

    def __repr__(self) -> str:
        return "PgVector(<dsn>)"
