"""Storage beside storage: SQLite and PostgreSQL message appends (batched and one by one) and
last-50 reads with 100k and 1M messages stored; SQLiteVector queries beside sqlite-vec's
brute-force scan and PgVector exact / HNSW (n=100k, d=384).

MASTRA_BENCH_SIZES=small skips the 1M-message database.
"""

import asyncio
import itertools
import os

import apsw
import numpy as np
import pytest
import sqlite_vec

from mastra.messages import TextPart
from mastra.storage import PostgresStorage, SQLiteStorage, StoredMessage, Thread
from mastra.vector.pgvector import PgVector
from mastra.vector.sqlite import SQLiteVector

SIZES = [100_000] if os.environ.get("MASTRA_BENCH_SIZES") == "small" else [100_000, 1_000_000]
PER_THREAD = 1000
TEXT = "A message of ordinary length, about as long as a chat turn usually is. " * 2
COUNTER = itertools.count()


def batch(thread, n):
    return [
        StoredMessage(id=f"m{next(COUNTER)}", thread_id=thread, role="user", parts=[TextPart(TEXT)])
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def loop():
    runner = asyncio.Runner()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def stores(loop, tmp_path_factory, postgres_uri):
    """name -> (storage, {size: thread holding the newest messages}) filled to each size."""
    made = {}
    for name in ("sqlite", "postgres"):
        store = (
            SQLiteStorage(tmp_path_factory.mktemp("sq") / "bench.db")
            if name == "sqlite"
            else PostgresStorage(postgres_uri, max_size=4)
        )
        loop.run(store.init())
        filled, threads = 0, {}
        for size in SIZES:
            while filled < size:
                thread = f"t{filled // PER_THREAD}"
                loop.run(store.save_thread(Thread(id=thread, resource_id="r")))
                loop.run(store.save_messages(batch(thread, PER_THREAD)))
                filled += PER_THREAD
            threads[size] = thread
        made[name] = (store, threads)
    yield made
    for store, _ in made.values():
        loop.run(store.close())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["sqlite", "postgres"])
def test_append_batched(benchmark, loop, stores, name, size):
    store, threads = stores[name]
    benchmark.group = f"append 1000 messages in one call, {size:,} stored"
    benchmark.pedantic(
        lambda: loop.run(store.save_messages(batch(threads[size], 1000))),
        rounds=10,
        warmup_rounds=1,
    )
    benchmark.extra_info["messages/s"] = round(1000 / benchmark.stats.stats.median)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["sqlite", "postgres"])
def test_append_one_by_one(benchmark, loop, stores, name, size):
    store, threads = stores[name]
    benchmark.group = f"append one message per call, {size:,} stored"
    benchmark(lambda: loop.run(store.save_messages(batch(threads[size], 1))))
    benchmark.extra_info["messages/s"] = round(1 / benchmark.stats.stats.median)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["sqlite", "postgres"])
def test_read_last_50(benchmark, loop, stores, name, size):
    store, threads = stores[name]
    benchmark.group = f"read the last 50 messages of a thread, {size:,} stored"
    result = benchmark(lambda: loop.run(store.list_messages(threads[size], last=50)))
    assert len(result) == 50


# -- vector stores ------------------------------------------------------------------------

N, D, K = 100_000, 384, 10


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, rng.standard_normal(D).astype(np.float32)


@pytest.fixture(scope="module")
def vector_stores(loop, vectors, tmp_path_factory, postgres_uri):
    X, _ = vectors
    ids = [f"d{i}" for i in range(N)]
    sqlite_store = SQLiteVector(tmp_path_factory.mktemp("sv") / "vec.db")
    loop.run(sqlite_store.create_index("docs", D, "cosine"))
    loop.run(sqlite_store.upsert("docs", X, ids=ids))
    pg = PgVector(postgres_uri)
    for kind in ("exact", "hnsw"):
        loop.run(pg.create_index(f"docs_{kind}", D, "cosine", index_type=kind))
        for start in range(0, N, 5000):
            loop.run(
                pg.upsert(f"docs_{kind}", X[start : start + 5000], ids=ids[start : start + 5000])
            )
    vec = apsw.Connection(str(tmp_path_factory.mktemp("vec0") / "vec0.db"))
    vec.enable_load_extension(True)
    vec.load_extension(sqlite_vec.loadable_path())
    vec.execute(
        f"CREATE VIRTUAL TABLE items USING vec0(embedding float[{D}] distance_metric=cosine)"
    )
    with vec:
        vec.executemany(
            "INSERT INTO items(rowid, embedding) VALUES (?, ?)",
            ((i, X[i].tobytes()) for i in range(N)),
        )
    yield {"sqlite": sqlite_store, "pg": pg, "vec": vec}
    loop.run(sqlite_store.close())
    loop.run(pg.close())


@pytest.mark.parametrize(
    "engine", ["SQLiteVector", "sqlite-vec (vec0 brute force)", "PgVector exact", "PgVector HNSW"]
)
def test_vector_query(benchmark, loop, vectors, vector_stores, engine):
    query, stores = vectors[1], vector_stores
    blob = query.tobytes()

    def sqlite_vector():
        return loop.run(stores["sqlite"].query("docs", query, K))

    def sqlite_vec():
        return (
            stores["vec"]
            .execute(
                "SELECT rowid, distance FROM items WHERE embedding MATCH ? AND k = ?", (blob, K)
            )
            .fetchall()
        )

    def pg(name):
        return lambda: loop.run(stores["pg"].query(name, query, K))

    run = {
        "SQLiteVector": sqlite_vector,
        "sqlite-vec (vec0 brute force)": sqlite_vec,
        "PgVector exact": pg("docs_exact"),
        "PgVector HNSW": pg("docs_hnsw"),
    }[engine]
    assert len(run()) == K
    benchmark.group = f"vector query n={N:,} d={D} k={K}"
    benchmark(run)
