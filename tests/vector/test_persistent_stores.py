import asyncio
import sqlite3
import sys
import textwrap
import time

import numpy as np

from mastra.vector.pgvector import PgVector
from mastra.vector.sqlite import SQLiteVector
from tests.loop_gaps import loop_gaps

RNG = np.random.default_rng(3)
VECTORS = RNG.standard_normal((300, 24)).astype(np.float32)


async def test_sqlite_reopen_gives_the_same_results(tmp_path):
    path = tmp_path / "v.db"
    first = SQLiteVector(path)
    await first.create_index("docs", 24, "cosine", dtype="int8")
    await first.upsert(
        "docs", VECTORS, [{"i": i} for i in range(300)], [f"d{i}" for i in range(300)]
    )
    await first.delete_vector("docs", "d7")
    await first.update_vector("docs", "d8", metadata={"i": -8})
    query = RNG.standard_normal(24).astype(np.float32)
    before = await first.query("docs", query, 10, filter={"i": {"$gte": -8}})
    await first.close()
    reopened = SQLiteVector(path)
    assert await reopened.query("docs", query, 10, filter={"i": {"$gte": -8}}) == before
    stats = await reopened.describe_index("docs")
    assert (stats.count, stats.dtype) == (299, "int8")
    await reopened.close()


async def test_sqlite_sees_another_process_writes(tmp_path):
    path = tmp_path / "shared.db"
    mine = SQLiteVector(path)
    await mine.create_index("docs", 3, "euclidean")
    await mine.upsert("docs", [[0, 0, 0]], ids=["origin"])
    assert [r.id for r in await mine.query("docs", [9, 9, 9], 1)] == ["origin"]
    script = textwrap.dedent("""
        import asyncio, sys
        from mastra.vector.sqlite import SQLiteVector
        async def main():
            other = SQLiteVector(sys.argv[1])
            await other.upsert("docs", [[9, 9, 9]], ids=["corner"])
            await other.close()
        asyncio.run(main())
    """)
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(path))
    assert await process.wait() == 0
    assert [r.id for r in await mine.query("docs", [9, 9, 9], 1)] == ["corner"]
    await mine.close()


async def test_sqlite_small_writes_wait_for_another_connections_lock_off_the_loop(tmp_path):
    """A small upsert runs on the event loop's thread only when no other connection holds the
    write lock: while one does (as another process would), the upsert waits on the store's
    own thread and the loop keeps running; queries are answered meanwhile (WAL readers wait
    on no writer), and the upsert lands once the lock is given up."""
    hold = 1.0
    path = tmp_path / "locked.db"
    store = SQLiteVector(path)
    await store.create_index("docs", 24, "cosine")
    await store.upsert("docs", VECTORS[:10], ids=[f"d{i}" for i in range(10)])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(hold, other.execute, "COMMIT")
    began = time.perf_counter()
    upsert = asyncio.ensure_future(store.upsert("docs", VECTORS[10:11], ids=["late"]))
    [best] = await store.query("docs", VECTORS[3], 1)
    assert best.id == "d3" and time.perf_counter() - began < hold / 2
    _, gaps, _ = await loop_gaps(upsert, pause=0.001)
    assert time.perf_counter() - began >= hold * 0.9  # the upsert waited for the lock
    assert max(gaps) < hold / 2, f"the event loop stalled {max(gaps) * 1000:.0f} ms"
    assert [r.id for r in await store.query("docs", VECTORS[10], 1)] == ["late"]
    other.close()
    await store.close()


async def test_pgvector_hnsw_and_ivfflat_find_the_exact_neighbours(postgres_dsn):
    store = PgVector(postgres_dsn, ef_search=200, probes=100)
    exact_ids = None
    query = VECTORS[11] + 0.01
    for index_type in ("exact", "hnsw", "ivfflat"):
        await store.create_index(index_type, 24, "cosine", index_type=index_type)
        await store.upsert(index_type, VECTORS, ids=[f"d{i}" for i in range(300)])
        ids = [r.id for r in await store.query(index_type, query, 5)]
        exact_ids = exact_ids or ids
        assert ids[0] == "d11" and len(set(ids) & set(exact_ids)) >= 4
    await store.close()
