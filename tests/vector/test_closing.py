"""Every vector store closes: ``async with`` / ``aclose()`` (``close()`` where it existed),
idempotent, a clear error afterwards, and nothing left running or warning."""

import asyncio
import gc
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from mastra.errors import StorageError
from mastra.vector import InMemoryVector, SQLiteVector, VectorStore
from mastra.vector.pgvector import PgVector

EXAMPLE = Path(__file__).parents[2] / "examples" / "vector_search.py"


@pytest.fixture(params=["memory", "sqlite", "pgvector"])
def make_store(request, tmp_path):
    if request.param == "memory":
        return InMemoryVector
    if request.param == "sqlite":
        return lambda: SQLiteVector(tmp_path / "v.db")
    dsn = request.getfixturevalue("postgres_dsn")
    return lambda: PgVector(dsn)


def pool_tasks():
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("pool-")]


async def test_async_with_closes_once_and_a_closed_store_says_so(make_store):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unclosed resource would warn: fail instead
        store = await use_and_close(make_store())
        gc.collect()
    assert pool_tasks() == []
    await store.aclose()  # idempotent
    if hasattr(store, "close"):
        await store.close()
    for call in (
        store.query("docs", [0, 1, 0], 1),
        store.upsert("docs", np.eye(3)),
        store.list_indexes(),
        store.create_index("more", 3),
        store.describe_index("docs"),
    ):
        with pytest.raises(StorageError, match=f"{type(store).__name__} is closed"):
            await call


async def use_and_close(made):
    async with made as store:
        assert store is made and isinstance(store, VectorStore)
        # concurrent first calls must share one connection pool / thread, not leak extras
        await asyncio.gather(*(store.list_indexes() for _ in range(4)))
        await store.create_index("docs", 3, "dot")
        await store.upsert("docs", np.eye(3), ids=["a", "b", "c"])
        assert [r.id for r in await store.query("docs", [0, 1, 0], 1)] == ["b"]
    return store


async def test_an_unused_store_closes_too(make_store):
    store = make_store()
    await store.aclose()
    with pytest.raises(StorageError, match="is closed"):
        await store.list_indexes()


async def test_aclose_waits_for_a_running_write_to_finish(tmp_path):
    store = SQLiteVector(tmp_path / "v.db")
    await store.create_index("docs", 8)
    rows = np.random.default_rng(0).standard_normal((20_000, 8))
    write = asyncio.create_task(store.upsert("docs", rows))
    await asyncio.sleep(0)
    await store.aclose()
    assert len(await write) == 20_000  # finished, not cut off
    async with SQLiteVector(tmp_path / "v.db") as reopened:
        assert (await reopened.describe_index("docs")).count == 20_000


def test_the_documented_example_runs_without_any_warning(postgres_dsn):
    """examples/vector_search.py uses every store with ``async with``; -W error turns any
    unclosed-resource or pending-task warning into a failure."""
    env = {**os.environ, "MASTRA_PG_DSN": postgres_dsn}
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pgvector:" in done.stdout
    for word in ("Unclosed", "ResourceWarning", "pending", "Exception ignored"):
        assert word not in done.stderr, done.stderr[-3000:]


def test_the_pending_task_check_sees_an_open_pool(postgres_dsn):
    """pool_tasks() is not vacuous: an open pool has tasks, and aclose() ends them."""

    async def open_then_close():
        store = PgVector(postgres_dsn)
        await store.list_indexes()
        running = pool_tasks()
        await store.aclose()
        return running, pool_tasks()

    running, after = asyncio.run(open_then_close())
    assert running and after == []
