"""InMemoryVector(index="hnsw") beside the exact InMemoryVector on the same unit vectors
(n x 384, n = MASTRA_HNSW_N, default 1M): build time and memory of the graph, recall@10 against
the exact answers, and single-query latency through ``store.query``, unfiltered and with a 10%
filter. The exact store is the baseline: the target is recall@10 >= 0.95 at >= 20x its q/s.
MASTRA_HNSW_EF lists the expansion_search values to measure (default 64,128,256); the graph
is built once and loaded into one store per value.

The vectors are embedding-like: 32 latent dimensions spread over 384 by a fixed random matrix,
plus noise (sentence embeddings have a low intrinsic dimension). MASTRA_HNSW_DATA=random uses
i.i.d. Gaussian vectors instead, the worst case of any graph index: nearest neighbours are
barely nearer than the rest, and recall collapses.

    python -m pytest benches/test_vector_hnsw.py --benchmark-only -s
"""

import asyncio
import functools
import os
import tempfile
import time

import numpy as np
import psutil
import pytest

from mastra.vector import InMemoryVector

N = int(os.environ.get("MASTRA_HNSW_N", 1_000_000))
D, K, QUERIES = 384, 10, 100
EXPANSION_SEARCH = [int(ef) for ef in os.environ.get("MASTRA_HNSW_EF", "64,128,256").split(",")]
RANDOM = os.environ.get("MASTRA_HNSW_DATA") == "random"
LATENT = 32
FILTERS = {"none": None, "10pct": {"shard": 3}}


def vectors(rng, n):
    if RANDOM:
        rows = rng.standard_normal((n, D), dtype=np.float32)
    else:
        spread = np.random.default_rng(7).standard_normal((LATENT, D), dtype=np.float32)
        noise = rng.standard_normal((n, D), dtype=np.float32)
        rows = rng.standard_normal((n, LATENT), dtype=np.float32) @ spread + 0.6 * noise
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@functools.lru_cache(maxsize=1)
def setup():
    rng = np.random.default_rng(42)
    X, Q = vectors(rng, N), vectors(rng, QUERIES)
    meta = [{"shard": i % 10} for i in range(N)]
    ids = [str(i) for i in range(N)]
    loop = asyncio.new_event_loop()
    stores = {"exact": InMemoryVector(), "hnsw": InMemoryVector(index="hnsw")}
    stats = {}
    for name, store in stores.items():
        rss, cpu = psutil.Process().memory_info().rss, time.process_time()
        start = time.perf_counter()
        loop.run_until_complete(store.create_index("v", D, "dot"))
        loop.run_until_complete(store.upsert("v", X, meta, ids))
        stats[name] = {
            "build s": round(time.perf_counter() - start, 1),
            "build cpu s": round(time.process_time() - cpu, 1),
            "memory MB": round((psutil.Process().memory_info().rss - rss) / 1e6),
        }
    # the same graph searched with each expansion_search: saved once, loaded into each store
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "v.npz")
        loop.run_until_complete(stores.pop("hnsw").save("v", path))
        for ef in EXPANSION_SEARCH:
            stores[f"hnsw-ef{ef}"] = InMemoryVector(index="hnsw", expansion_search=ef)
            loop.run_until_complete(stores[f"hnsw-ef{ef}"].load(path))
    print(f"\nn={N} d={D} random={RANDOM}: {stats}")
    return loop, stores, Q, stats


def answers(loop, store, Q, spec):
    return [{r.id for r in loop.run_until_complete(store.query("v", q, K, spec))} for q in Q]


@pytest.mark.parametrize("spec", list(FILTERS))
@pytest.mark.parametrize("name", ["exact"] + [f"hnsw-ef{ef}" for ef in EXPANSION_SEARCH])
def test_query(benchmark, name, spec):
    loop, stores, Q, stats = setup()
    store, exact = stores[name], stores["exact"]
    flt = FILTERS[spec]
    benchmark.group = f"store query n={N} d={D} filter={spec}"
    queries = iter(np.resize(Q, (10_000, D)))

    def one():
        return loop.run_until_complete(store.query("v", next(queries), K, flt))

    if name == "exact":
        benchmark.pedantic(one, rounds=5, warmup_rounds=1)
    else:
        benchmark(one)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["queries/s"] = round(1 / seconds, 1)
    benchmark.extra_info.update(stats[name.partition("-")[0]])
    if name != "exact":
        want = answers(loop, exact, Q, flt)
        got = answers(loop, store, Q, flt)
        recall = np.mean([len(a & b) / K for a, b in zip(want, got, strict=True)])
        benchmark.extra_info["recall@10"] = round(float(recall), 4)
        print(f"\n{name} {spec}: recall@10 = {recall:.4f}, {1 / seconds:.0f} q/s")
