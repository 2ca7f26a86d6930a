"""LRU/TTL caches beside dict (upper bound), functools.lru_cache (memoised hit), lru-dict's
LRU, cachetools.LRUCache and cachetools.TTLCache: maxsize 10k, str and int keys, 1000
operations per timed round.

    python -m pytest benches/test_cache.py --benchmark-only --benchmark-group-by=group
"""

import functools
import os
import subprocess
import sys
import threading

import cachetools
import numpy as np
import pytest
from lru import LRU

from mastra.cache import LRUCache, TTLCache, cached

MAXSIZE = 10_000
OPS = 1000


def make(name):
    return {
        "dict": dict,
        "lru-dict": lambda: LRU(MAXSIZE),
        "cachetools.LRUCache": lambda: cachetools.LRUCache(MAXSIZE),
        "cachetools.TTLCache": lambda: cachetools.TTLCache(MAXSIZE, 600),
        "mastra.LRUCache": lambda: LRUCache(MAXSIZE),
        "mastra.TTLCache": lambda: TTLCache(MAXSIZE, 600),
    }[name]()


CACHES = [
    "dict",
    "lru-dict",
    "cachetools.LRUCache",
    "cachetools.TTLCache",
    "mastra.LRUCache",
    "mastra.TTLCache",
]
EVICTING = [c for c in CACHES if c != "dict"]


def keyset(kind, start, count):
    return [f"user:{i}" if kind == "str" else i for i in range(start, start + count)]


def filled(name, kind):
    cache = make(name)
    for key in keyset(kind, 0, MAXSIZE):
        cache[key] = 1
    return cache


def record(benchmark, ops=OPS):
    benchmark.extra_info["Mops/s"] = round(ops / benchmark.stats.stats.median / 1e6, 2)


@pytest.mark.parametrize("kind", ["str", "int"])
@pytest.mark.parametrize("name", CACHES)
def test_get_hit(benchmark, name, kind):
    cache = filled(name, kind)
    keys = keyset(kind, 0, OPS)

    def hits():
        for key in keys:
            cache[key]

    benchmark.group = f"get-hit {kind}"
    benchmark(hits)
    record(benchmark)


@pytest.mark.parametrize("kind", ["str", "int"])
@pytest.mark.parametrize("name", CACHES)
def test_get_miss(benchmark, name, kind):
    cache = filled(name, kind)
    keys = keyset(kind, 10 * MAXSIZE, OPS)

    def misses():
        get = cache.get
        for key in keys:
            get(key)

    benchmark.group = f"get-miss {kind}"
    benchmark(misses)
    record(benchmark)


@pytest.mark.parametrize("kind", ["str", "int"])
@pytest.mark.parametrize("name", EVICTING)
def test_set_with_eviction(benchmark, name, kind):
    cache = filled(name, kind)
    fresh = iter(keyset(kind, MAXSIZE, 10_000_000))

    def inserts():
        for _ in range(OPS):
            cache[next(fresh)] = 2

    benchmark.group = f"set-evict {kind}"
    benchmark(inserts)
    record(benchmark)


def zipf_keys(kind, count, seed=0):
    ranks = np.random.default_rng(seed).zipf(1.1, count) % (2 * MAXSIZE)
    return [f"user:{r}" if kind == "str" else int(r) for r in ranks]


def mixed_workload(cache, keys):
    """80% reads (a miss stores the value), 20% writes."""
    get = cache.get
    for i, key in enumerate(keys):
        if i % 5 == 4 or get(key) is None:
            cache[key] = i


@pytest.mark.parametrize("kind", ["str", "int"])
@pytest.mark.parametrize("name", EVICTING)
def test_zipf_80_20(benchmark, name, kind):
    cache = make(name)
    keys = zipf_keys(kind, OPS)
    mixed_workload(cache, zipf_keys(kind, 50_000, seed=1))  # warm
    benchmark.group = f"zipf 80/20 {kind}"
    benchmark(mixed_workload, cache, keys)
    record(benchmark)


@pytest.mark.parametrize("name", EVICTING)
def test_two_threads_one_cache(benchmark, name):
    """Two threads run the Zipf mix on one shared cache. cachetools is not thread-safe, so it
    gets the lock its documentation asks for; the others are used bare."""
    cache = make(name)
    if name.startswith("cachetools"):
        lock, inner = threading.Lock(), cache

        class Locked:
            def get(self, key):
                with lock:
                    return inner.get(key)

            def __setitem__(self, key, value):
                with lock:
                    inner[key] = value

        cache = Locked()
    keys = [zipf_keys("str", 20 * OPS, seed=s) for s in (2, 3)]

    def both():
        threads = [threading.Thread(target=mixed_workload, args=(cache, k)) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    benchmark.group = "two threads, zipf 80/20 str (40k ops)"
    benchmark(both)
    record(benchmark, ops=40 * OPS)


@pytest.mark.parametrize(
    "name",
    [
        "functools.lru_cache",
        "mastra.cached(LRUCache)",
        "mastra.cached(TTLCache)",
        "cachetools.cached(LRUCache)",
    ],
)
def test_memoised_hit(benchmark, name):
    """One argument; mastra also with a TTL (ttl 600 s; mastra counts stats always)."""

    def square(x):
        return x * x

    if name == "functools.lru_cache":
        fn = functools.lru_cache(maxsize=MAXSIZE)(square)
    elif name == "mastra.cached(LRUCache)":
        fn = cached(LRUCache(MAXSIZE))(square)
    elif name == "mastra.cached(TTLCache)":
        fn = cached(TTLCache(MAXSIZE, 600))(square)
    else:
        fn = cachetools.cached(cachetools.LRUCache(MAXSIZE))(square)
    for i in range(OPS):
        fn(i)

    def hits():
        for i in range(OPS):
            fn(i)

    benchmark.group = "memoised function hit (int argument)"
    benchmark(hits)
    record(benchmark)


@pytest.mark.parametrize(
    "name",
    ["functools.lru_cache", "mastra.cached(TTLCache)", "cachetools.cached(TTLCache)"],
)
def test_memoised_hit_two_args_ttl(benchmark, name):
    """Two arguments; mastra and cachetools with a TTL (mastra counts stats always)."""

    def area(w, h):
        return w * h

    if name == "functools.lru_cache":
        fn = functools.lru_cache(maxsize=MAXSIZE)(area)
    elif name.startswith("mastra"):
        fn = cached(TTLCache(MAXSIZE, 600))(area)
    else:
        fn = cachetools.cached(cachetools.TTLCache(MAXSIZE, 600))(area)
    for i in range(OPS):
        fn(i, 7)

    def hits():
        for i in range(OPS):
            fn(i, 7)

    benchmark.group = "memoised function hit (two int arguments, TTL)"
    benchmark(hits)
    record(benchmark)


_BYTES_SCRIPT = """
import tracemalloc, sys
sys.path.insert(0, {here!r})
from test_cache import MAXSIZE, keyset, make
keys = keyset("str", 0, MAXSIZE)
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
cache = make({name!r})
for key in keys:
    cache[key] = None
print((tracemalloc.get_traced_memory()[0] - before) / MAXSIZE)
"""


@pytest.mark.parametrize("name", [*EVICTING, "dict"])
def test_bytes_per_entry(benchmark, name):
    """Not a speed figure: traced bytes per entry of a full cache of str keys (the keys
    themselves excluded), each measured in a fresh interpreter."""
    script = _BYTES_SCRIPT.format(here=os.path.dirname(__file__), name=name)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    benchmark.extra_info["bytes/entry"] = round(float(out.stdout), 1)
    benchmark.group = "bytes per entry (tracemalloc; timing is len())"
    benchmark(len, make(name))
