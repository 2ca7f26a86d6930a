"""One store shared by threads that each run their own event loop (as threaded servers and
worker pools do): no hang, no cross-loop error, and the final contents are exactly what the
threads wrote — for every store, PgVector included (a pool per loop)."""

import asyncio
import sys
import threading

import numpy as np
import pytest

from mastra.errors import StorageError
from mastra.vector import InMemoryVector, SQLiteVector
from mastra.vector.pgvector import PgVector

THREADS, ROUNDS, D = 4, 25, 16
TIMEOUT = 60  # seconds; far above the work, so a thread still running has hung


@pytest.fixture(autouse=True)
def fast_switching():
    """Switch threads often, so the loops interleave inside the stores' critical sections."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def run_threads(work):
    """Run ``work(t)`` in THREADS threads, each on its own event loop; the exceptions."""
    errors = []

    def target(t):
        try:
            asyncio.run(work(t))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(t,), daemon=True) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    hung = sum(thread.is_alive() for thread in threads)
    assert hung == 0, f"{hung} of {THREADS} threads still running after {TIMEOUT}s: a hang"
    return errors


def vector(*seed):
    return np.random.default_rng(list(seed)).standard_normal(D).astype(np.float32)


async def interleaved(store, t, reference):
    """Upserts, queries, deletes and updates of this thread's own ids; ``reference`` gets
    what should remain."""
    for i in range(ROUNDS):
        ids = [f"t{t}-{i}-{j}" for j in range(3)]
        metas = [{"t": t, "i": i, "j": j} for j in range(3)]
        await store.upsert("shared", np.stack([vector(t, i, j) for j in range(3)]), metas, ids)
        hits = await store.query("shared", vector(t, i, 1), 3, filter={"t": t})
        assert hits[0].id == ids[1] and all(h.metadata["t"] == t for h in hits)
        await store.delete_vector("shared", ids[0])
        updated = {**metas[2], "updated": True}
        await store.update_vector("shared", ids[2], metadata=updated)
        reference[ids[1]] = (metas[1], vector(t, i, 1))
        reference[ids[2]] = (updated, vector(t, i, 2))


async def contents(store):
    count = (await store.describe_index("shared")).count
    hits = await store.query("shared", vector(98), count, include_vector=True)
    return {h.id: (h.metadata, np.asarray(h.vector, dtype=np.float32)) for h in hits}


def assert_same(got, want):
    assert sorted(got) == sorted(want)
    for id_, (meta, vec) in want.items():
        assert got[id_][0] == meta, id_
        np.testing.assert_array_equal(got[id_][1], vec)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_one_store_many_event_loops(kind, tmp_path):
    store = InMemoryVector() if kind == "memory" else SQLiteVector(tmp_path / "v.db")
    base = np.stack([vector(99, k) for k in range(2000)])  # queries with real work to do
    reference = {f"base-{k}": ({"t": -1}, base[k]) for k in range(2000)}

    async def setup():
        await store.create_index("shared", D, "cosine")
        await store.upsert("shared", base, [{"t": -1}] * len(base), list(reference))

    asyncio.run(setup())
    errors = run_threads(lambda t: interleaved(store, t, reference))
    assert errors == []
    assert_same(asyncio.run(contents(store)), reference)
    asyncio.run(store.aclose())
    if kind == "sqlite":  # and the file holds the same

        async def reopened():
            async with SQLiteVector(tmp_path / "v.db") as again:
                return await contents(again)

        assert_same(asyncio.run(reopened()), reference)


def test_one_pgvector_many_event_loops(postgres_dsn):
    """Each loop gets its own pool; one aclose() from another loop closes them all."""
    store = PgVector(postgres_dsn, max_size=2)
    asyncio.run(store.create_index("shared", D, "cosine"))
    reference = {}
    assert run_threads(lambda t: interleaved(store, t, reference)) == []
    assert_same(asyncio.run(contents(store)), reference)
    asyncio.run(store.aclose())
    with pytest.raises(StorageError, match="PgVector is closed"):
        asyncio.run(store.list_indexes())
