"""Index a few thousand vectors, query with a metadata filter, save and reload the index, and
keep vectors in SQLite (and in PostgreSQL when MASTRA_PG_DSN names a database with pgvector).
Every store is closed by its ``async with`` block.

Run: python examples/vector_search.py
"""

import asyncio
import os
import tempfile
from pathlib import Path

import numpy as np

from mastra.vector import InMemoryVector, SQLiteVector, top_k


async def demo(folder: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    metadata = [{"lang": "en" if i % 3 else "de", "year": 2015 + i % 10} for i in range(5000)]
    ids = [f"doc-{i}" for i in range(5000)]
    query = vectors[42] + 0.1 * rng.standard_normal(64).astype(np.float32)

    async with InMemoryVector() as store:
        await store.create_index("docs", 64, "cosine", dtype="int8")
        await store.upsert("docs", vectors, metadata, ids)
        for hit in await store.query("docs", query, 3, filter={"year": {"$gte": 2020}}):
            print(f"{hit.id:>9}  {hit.score:.3f}  {hit.metadata}")
        await store.save("docs", folder / "docs.npz")

    async with InMemoryVector() as reloaded:
        await reloaded.load(folder / "docs.npz")
        print("reloaded:", await reloaded.describe_index("docs"))

    async with SQLiteVector(folder / "vectors.db") as persisted:  # survives a restart
        await persisted.create_index("docs", 64, "cosine")
        await persisted.upsert("docs", vectors[:500], metadata[:500], ids[:500])
        [best] = await persisted.query("docs", query, 1, filter={"lang": "en"})
        print("sqlite:", best.id, round(best.score, 3))

    dsn = os.environ.get("MASTRA_PG_DSN")
    if dsn:
        from mastra.vector.pgvector import PgVector

        async with PgVector(dsn) as shared:  # one store per event loop
            await shared.create_index("docs", 64, "cosine")
            await shared.upsert("docs", vectors[:500], metadata[:500], ids[:500])
            [best] = await shared.query("docs", query, 1, filter={"lang": "en"})
            print("pgvector:", best.id, round(best.score, 3))

    ids_found, scores = top_k(vectors, query, 3, "cosine")  # the kernel on its own
    print("top_k rows:", ids_found.tolist(), scores.round(3).tolist())


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        await demo(Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
