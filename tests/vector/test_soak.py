"""Leak soak for the native kernels: many calls, flat memory (RSS and tracemalloc)."""

import contextlib
import gc
import resource
import tracemalloc

import numpy as np

from mastra import ValidationError
from mastra.vector import CompressedMatrix, top_k


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def workload(X, Q, compressed, rounds):
    for i in range(rounds):
        top_k(X, Q[i % 8], 10, "cosine")
        top_k(X, Q, 5, "euclidean", threads=2)
        compressed.top_k(Q[i % 8], 3)
        with contextlib.suppress(ValidationError):
            top_k(X, Q[:, :3], 1)


def test_repeated_calls_do_not_grow_memory():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 48)).astype(np.float32)
    Q = rng.standard_normal((8, 48)).astype(np.float32)
    compressed = CompressedMatrix(X, "int8")
    workload(X, Q, compressed, 500)  # warm caches and allocator pools
    gc.collect()
    tracemalloc.start()
    before_py = tracemalloc.get_traced_memory()[0]
    before_rss = rss_kib()
    workload(X, Q, compressed, 4000)
    gc.collect()
    after_py = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    grown_rss = rss_kib() - before_rss
    assert after_py - before_py < 256 * 1024, f"Python heap grew {after_py - before_py} bytes"
    assert grown_rss < 3 * 1024, f"RSS grew {grown_rss} KiB over 16k native calls"
