"""Exact top-k (k=10) beside NumPy, faiss-cpu IndexFlatIP and usearch exact search, on the
same unit-normalised float32 data: one query (latency) and a batch of 32 (throughput), with one
thread and with two. ``mastra-int8`` scans int8 codes and re-ranks in float32.

    python -m pytest benches/test_vector.py --benchmark-only --benchmark-group-by=group

MASTRA_BENCH_SIZES=small limits the run to n=10k and 100k.
"""

import functools
import os

import faiss
import numpy as np
import pytest
from threadpoolctl import threadpool_limits
from usearch.index import MetricKind
from usearch.index import search as usearch_search

from mastra.vector import CompressedMatrix, top_k

K = 10
BATCH = 32
SIZES = [
    (10_000, 384),
    (100_000, 384),
    (1_000_000, 384),
    (10_000, 1536),
    (100_000, 1536),
    (300_000, 1536),
]
if os.environ.get("MASTRA_BENCH_SIZES") == "small":
    SIZES = [s for s in SIZES if s[0] <= 100_000]
ENGINES = ["mastra", "mastra-int8", "numpy", "faiss", "usearch"]


@functools.lru_cache(maxsize=1)
def dataset(n, d):
    rng = np.random.default_rng(42)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Q = rng.standard_normal((BATCH, d), dtype=np.float32)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    return X, Q, {}


def engine(name, X, cache):
    """A function queries -> ids for one engine, built once per data set."""
    if name == "mastra":
        return lambda q, t: top_k(X, q, K, "dot", threads=t)[0]
    if name == "mastra-int8":
        if "int8" not in cache:
            cache["int8"] = CompressedMatrix(X, "int8", "dot")
        index = cache["int8"]
        return lambda q, t: index.top_k(q, K, threads=t)[0]
    if name == "numpy":

        def numpy_top_k(q, t):  # BLAS threads are limited around the whole benchmark
            scores = np.atleast_2d(q) @ X.T
            part = np.argpartition(-scores, K, axis=1)[:, :K]
            rows = np.take_along_axis(scores, part, 1)
            return np.take_along_axis(part, np.argsort(-rows, axis=1), 1)

        return numpy_top_k
    if name == "faiss":
        if "faiss" not in cache:
            cache["faiss"] = faiss.IndexFlatIP(X.shape[1])
            cache["faiss"].add(X)
        index = cache["faiss"]

        def faiss_top_k(q, t):
            faiss.omp_set_num_threads(t)
            return index.search(np.atleast_2d(q), K)[1]

        return faiss_top_k
    if name == "usearch":
        return lambda q, t: usearch_search(X, q, K, MetricKind.IP, exact=True, threads=t).keys
    raise ValueError(name)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("mode", ["single", "batch32"])
@pytest.mark.parametrize("size", SIZES, ids=[f"n{n // 1000}k-d{d}" for n, d in SIZES])
@pytest.mark.parametrize("name", ENGINES)
def test_top_k(benchmark, name, size, mode, threads):
    n, d = size
    X, Q, cache = dataset(n, d)
    run = engine(name, X, cache)
    queries = Q[0] if mode == "single" else Q
    benchmark.group = f"{mode} n={n} d={d} threads={threads}"
    rounds = 3 if n * d * (1 if mode == "single" else BATCH) > 2e9 else None
    with threadpool_limits(threads):
        if rounds:
            benchmark.pedantic(run, args=(queries, threads), rounds=rounds, warmup_rounds=1)
        else:
            benchmark(run, queries, threads)
    seconds = benchmark.stats.stats.median
    benchmark.extra_info["GB/s"] = round(X.nbytes / seconds / 1e9, 1)
    benchmark.extra_info["queries/s"] = round((1 if mode == "single" else BATCH) / seconds, 1)


def test_streaming_bandwidth(benchmark):
    """The machine's read bandwidth: NumPy summing a 1.5 GB float32 array."""
    X = np.ones((1_000_000, 384), dtype=np.float32)
    benchmark.group = "bandwidth"
    benchmark.pedantic(X.sum, rounds=5, warmup_rounds=1)
    benchmark.extra_info["GB/s"] = round(X.nbytes / benchmark.stats.stats.median / 1e9, 1)


def test_recall_int8_at_1m():
    """Not timed: recall@10 of the int8 scan + float32 re-rank against exact, n=1M, d=384."""
    X, Q, cache = dataset(*SIZES[2]) if len(SIZES) > 2 else dataset(*SIZES[-1])
    exact = top_k(X, Q, K, "dot")[0]
    approx = engine("mastra-int8", X, cache)(Q, 2)
    recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(exact, approx, strict=True)])
    print(f"recall@10 int8 = {recall:.4f}")
    assert recall >= 0.99
