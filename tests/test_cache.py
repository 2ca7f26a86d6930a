import asyncio
import gc
import random
import sys
import threading
import time
import tracemalloc

import cachetools
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mastra.cache import CacheStats, LRUCache, TTLCache, cached, hashkey


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _outcome(fn):
    try:
        return ("ok", fn())
    except KeyError:
        return ("KeyError", None)
    except ValueError as exc:
        return ("ValueError", str(exc))


KEYS = st.sampled_from(["a", "b", "c", "d", "e", 1, 2, (3, "x")])


class AgainstCachetools(RuleBasedStateMachine):
    """Every operation on ours and on cachetools gives the same result and leaves the same
    visible state (items, order of iteration, len, currsize)."""

    def __init__(self):
        super().__init__()
        self.ours = self.theirs = None

    @rule(
        maxsize=st.integers(0, 6), ttl=st.none() | st.sampled_from([1.0, 5.0]), sized=st.booleans()
    )
    @precondition(lambda self: self.ours is None)
    def create(self, maxsize, ttl, sized):
        sizer = (lambda v: v % 4) if sized else None
        self.clock = Clock()
        if ttl is None:
            self.ours, self.theirs = LRUCache(maxsize, sizer), cachetools.LRUCache(maxsize, sizer)
        else:
            self.ours = TTLCache(maxsize, ttl, timer=self.clock, getsizeof=sizer)
            self.theirs = cachetools.TTLCache(maxsize, ttl, timer=self.clock, getsizeof=sizer)

    def both(self, op):
        assert _outcome(lambda: op(self.ours)) == _outcome(lambda: op(self.theirs))

    @rule(key=KEYS, value=st.integers(0, 9))
    @precondition(lambda self: self.ours is not None)
    def set(self, key, value):
        def op(c):
            c[key] = value

        self.both(op)

    @rule(key=KEYS)
    @precondition(lambda self: self.ours is not None)
    def getitem(self, key):
        self.both(lambda c: c[key])

    @rule(key=KEYS)
    @precondition(lambda self: self.ours is not None)
    def get(self, key):
        self.both(lambda c: c.get(key, "default"))

    @rule(key=KEYS)
    @precondition(lambda self: self.ours is not None)
    def delete(self, key):
        def op(c):
            del c[key]

        self.both(op)

    @rule(key=KEYS)
    @precondition(lambda self: self.ours is not None)
    def pop(self, key):
        self.both(lambda c: c.pop(key, "gone"))
        self.both(lambda c: c.pop(key))

    @rule(key=KEYS, value=st.integers(0, 9))
    @precondition(lambda self: self.ours is not None)
    def setdefault(self, key, value):
        self.both(lambda c: c.setdefault(key, value))

    @rule()
    @precondition(lambda self: self.ours is not None)
    def popitem(self):
        self.both(lambda c: c.popitem())

    @rule(key=KEYS)
    @precondition(lambda self: self.ours is not None)
    def contains(self, key):
        self.both(lambda c: key in c)

    @rule(dt=st.sampled_from([0.5, 1.0, 2.0, 6.0]))
    @precondition(lambda self: self.ours is not None)
    def tick(self, dt):
        self.clock.now += dt

    @rule()
    @precondition(lambda self: self.ours is not None and hasattr(self.ours, "expire"))
    def expire(self):
        if isinstance(self.ours, TTLCache):
            assert sorted(map(repr, self.ours.expire())) == sorted(map(repr, self.theirs.expire()))

    @rule()
    @precondition(lambda self: self.ours is not None)
    def clear(self):
        self.both(lambda c: c.clear())

    @invariant()
    def same_state(self):
        if self.ours is None:
            return
        assert list(self.ours) == list(self.theirs)
        assert len(self.ours) == len(self.theirs)
        assert self.ours.currsize == self.theirs.currsize
        assert self.ours.maxsize == self.theirs.maxsize
        assert dict(self.ours.items()) == dict(self.theirs.items())


AgainstCachetools.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestAgainstCachetools = AgainstCachetools.TestCase


def test_lru_order_and_popitem():
    cache = LRUCache(3)
    cache.update(a=1, b=2, c=3)
    assert cache["a"] == 1  # a becomes most recent
    cache["d"] = 4  # evicts b, the least recently used
    assert list(cache) == ["a", "c", "d"]  # iteration keeps insertion order, as cachetools
    assert cache._order() == ["c", "a", "d"]
    assert cache.popitem() == ("c", 3)
    assert repr(cache) == "LRUCache({'a': 1, 'd': 4}, maxsize=3, currsize=2)"


def test_sizes_and_value_too_large():
    cache = LRUCache(10, getsizeof=len)
    cache["a"] = "x" * 6
    cache["b"] = "y" * 4
    assert cache.currsize == 10
    cache["c"] = "z" * 3  # evicts a (6) to fit
    assert list(cache) == ["b", "c"] and cache.currsize == 7
    with pytest.raises(ValueError, match="value too large"):
        cache["big"] = "w" * 11
    assert list(cache) == ["b", "c"]  # nothing lost to a rejected item
    with pytest.raises(ValueError, match="value too large"):
        LRUCache(0)["x"] = 1
    with pytest.raises(ValueError, match="non-negative"):
        LRUCache(5, getsizeof=lambda v: -1)["x"] = 1
    with pytest.raises(ValueError, match="maxsize must be non-negative"):
        LRUCache(-1)
    with pytest.raises(TypeError):
        LRUCache(3)[[1, 2]] = 1  # unhashable, and nothing evicted for it
    assert cache.getsizeof("abc") == 3


def test_subclass_hooks_missing_popitem_and_getsizeof():
    evicted = []

    class Loader(LRUCache):
        def __missing__(self, key):
            value = key.upper()
            self[key] = value
            return value

        def popitem(self):
            item = super().popitem()
            evicted.append(item)
            return item

    class Sized(LRUCache):
        @staticmethod
        def getsizeof(value):
            return len(value)

    cache = Loader(2)
    assert cache["a"] == "A" and cache["b"] == "B" and cache["c"] == "C"
    assert evicted == [("a", "A")]
    assert cache.get("zz") is None  # get() does not call __missing__
    sized = Sized(5)
    sized["k"] = "abcd"
    assert sized.currsize == 4


def test_ttl_semantics_with_a_manual_clock():
    clock = Clock()
    cache = TTLCache(maxsize=10, ttl=10, timer=clock)
    assert cache.ttl == 10 and cache.timer is clock
    cache["a"] = 1
    clock.now = 5
    cache["b"] = 2
    clock.now = 9.999
    assert "a" in cache and cache["a"] == 1
    clock.now = 10
    assert "a" not in cache and cache.get("a") is None
    with pytest.raises(KeyError):
        cache["a"]
    assert list(cache) == ["b"] and len(cache) == 1 and cache.currsize == 1
    clock.now = 15
    cache["c"] = 3
    assert cache.expire(16) == []
    assert cache.expire(25) == [("c", 3)]
    with pytest.raises(KeyError, match="TTLCache is empty"):
        cache.popitem()
    cache["d"] = 4
    clock.now = 100
    with pytest.raises(KeyError):
        del cache["d"]  # expired items cannot be deleted, but are gone afterwards
    assert len(cache) == 0


def test_default_timer_follows_time_monotonic():
    from mastra._native._cache import clock_resolution

    cache = TTLCache(maxsize=10, ttl=0.05)
    assert cache.timer is time.monotonic
    cache["k"] = 1
    assert cache["k"] == 1
    time.sleep(0.05 + 2 * clock_resolution() + 0.01)
    assert "k" not in cache
    assert cache.expire(time.monotonic()) == [("k", 1)]  # `in` hides it, expire removes it
    assert len(cache) == 0


def test_stats():
    cache = TTLCache(maxsize=2, ttl=10, timer=(clock := Clock()))
    cache["a"] = 1
    cache["b"] = 2
    cache["a"], cache.get("b"), cache.get("x")
    with pytest.raises(KeyError):
        cache["y"]
    cache["c"] = 3  # evicts b (a was used more recently)
    clock.now = 20
    cache.expire()
    assert cache.stats() == CacheStats(
        hits=2, misses=2, evictions=1, expirations=2, size=0, maxsize=2, hit_rate=0.5
    )
    cache.reset_stats()
    assert cache.stats().hits == 0 and cache.stats().hit_rate == 0.0


def test_hashkey_matches_cachetools_shape():
    assert hashkey(1, 2) == (1, 2)
    assert hashkey(1, b=2, a=1) == hashkey(1, a=1, b=2)
    assert hashkey(1, a=2) != hashkey(1, 2)


def test_cached_sync():
    calls = []

    @cached(LRUCache(10))
    def square(x):
        calls.append(x)
        return x * x

    assert [square(3), square(3), square(4)] == [9, 9, 16]
    assert calls == [3, 4]
    square.cache_clear()
    assert square(3) == 9 and calls == [3, 4, 3]


async def test_cached_async_single_flight_and_errors_not_cached():
    calls = 0
    gate = asyncio.Event()

    @cached(TTLCache(100, 60))
    async def fetch(key):
        nonlocal calls
        calls += 1
        await gate.wait()
        if key == "bad":
            raise RuntimeError("upstream failed")
        return key * 2

    tasks = [asyncio.create_task(fetch("x")) for _ in range(20)]
    bad = [asyncio.create_task(fetch("bad")) for _ in range(5)]
    await asyncio.sleep(0.01)
    gate.set()
    assert await asyncio.gather(*tasks) == ["xx"] * 20
    results = await asyncio.gather(*bad, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls == 2  # one computation per key
    assert await fetch("x") == "xx" and calls == 2  # cached
    with pytest.raises(RuntimeError):
        await fetch("bad")  # the failure was not cached
    assert calls == 3


async def test_cancelling_one_caller_leaves_the_others_and_the_cache():
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    @cached(LRUCache(10))
    async def slow(key):
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return key.upper()

    first = asyncio.create_task(slow("k"))
    await started.wait()
    second = asyncio.create_task(slow("k"))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await second == "K"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert calls == 1 and slow.cache["k",] == "K"


def test_cached_value_too_large_is_returned_uncached():
    @cached(LRUCache(3, getsizeof=len))
    def text(n):
        return "x" * n

    assert text(10) == "x" * 10
    assert len(text.cache) == 0


class SlowKey:
    """A key whose __hash__/__eq__ run Python code (and yield the GIL)."""

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        time.sleep(0)
        return hash(self.n) % 512  # collisions, so __eq__ runs too

    def __eq__(self, other):
        time.sleep(0)
        return isinstance(other, SlowKey) and other.n == self.n


@pytest.mark.parametrize("factory", [lambda: LRUCache(10_000), lambda: TTLCache(10_000, 600)])
def test_threads_never_corrupt_or_lose_items(factory):
    cache = factory()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    errors = []

    def worker(t):
        try:
            rng = random.Random(t)
            for i in range(1500):
                key = SlowKey((t, i)) if i % 3 == 0 else f"{t}-{i}"
                cache[key] = i
                probe = rng.randrange(i + 1)
                probe_key = SlowKey((t, probe)) if probe % 3 == 0 else f"{t}-{probe}"
                assert cache[probe_key] == probe
                if i % 5 == 0:
                    cache.get(f"{(t + 1) % 4}-{probe}")
        except Exception as exc:  # reported below with the thread's id
            errors.append((t, exc))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert len(cache) == 6000 == cache.currsize
    assert len(cache._order()) == 6000
    for t in range(4):
        for i in range(1500):
            key = SlowKey((t, i)) if i % 3 == 0 else f"{t}-{i}"
            assert cache[key] == i


def test_threads_evicting_keep_invariants():
    cache = LRUCache(200)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def worker(t):
        for i in range(3000):
            key = SlowKey(i % 400) if t % 2 else i % 400
            cache[key] = t
            cache.get(key)
            if i % 50 == 0:
                cache.pop(key, None)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert len(cache) == cache.currsize <= 200
    assert len(cache._order()) == len(cache)
    assert set(map(id, cache._order())) == set(map(id, cache))


def test_reentrant_use_from_a_key_is_refused_cleanly():
    cache = LRUCache(10)

    class Nosy:
        def __hash__(self):
            return 1

        def __eq__(self, other):
            cache.get("x")  # touching the cache from inside its own lookup
            return False

    cache[Nosy()] = 1
    with pytest.raises(RuntimeError, match="re-entered"):
        cache[Nosy()] = 2
    assert len(cache) == 1 and len(cache._order()) == 1
    cache["plain"] = 3
    assert cache["plain"] == 3


def test_destructors_of_evicted_values_may_use_the_cache():
    cache = LRUCache(1)

    class Noisy:
        def __del__(self):
            cache.get("probe")  # runs after the critical section: allowed

    cache["a"] = Noisy()
    cache["b"] = Noisy()
    cache["c"] = 1
    assert list(cache) == ["c"]


def test_soak_ten_million_operations_flat_memory():
    cache = TTLCache(maxsize=10_000, ttl=600)
    keys = [f"k{i}" for i in range(20_000)]
    values = list(range(1000))

    def run(rounds):
        get, n = cache.get, len(keys)
        for r in range(rounds):
            base = (r * 7919) % n
            for i in range(1000):
                key = keys[(base + i) % n]
                if i % 5 == 0:
                    cache[key] = values[i]
                else:
                    get(key)

    tracemalloc.start()  # before the warm-up, so dict-table reallocations count both ways
    run(1000)  # warm up: the dict reaches its steady size, node free lists fill
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    run(10_000)  # 10M operations
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 64 * 1024, f"traced memory grew by {grown} bytes over 10M operations"
    assert len(cache) == 10_000


@pytest.mark.parametrize(
    "factory",
    [
        lambda: LRUCache(4, getsizeof=len),
        lambda: TTLCache(4, 60, getsizeof=len),
    ],
)
def test_copy_and_pickle_keep_order_sizes_deadlines_and_stats(factory):
    import copy
    import pickle

    cache = factory()
    cache["a"], cache["b"], cache["c"] = "x", "yy", "z"
    cache["a"]
    cache.get("missing")
    for clone in (copy.copy(cache), pickle.loads(pickle.dumps(cache))):
        assert list(clone) == list(cache) == ["a", "b", "c"]  # iteration order
        assert clone._order() == cache._order() == ["b", "c", "a"]  # recency order
        assert clone.currsize == cache.currsize == 4 and clone.stats() == cache.stats()
        clone["d"] = "w"  # evicts b in the clone only
        assert "b" not in clone and "b" in cache
    ttl = TTLCache(4, 10, timer=(clock := Clock()))
    ttl["k"] = 1
    clock.now = 5
    ttl["j"] = 2
    clone = copy.copy(ttl)
    clock.now = 10
    assert "k" not in clone and "j" in clone  # deadlines came along
    assert clone.expire() == [("k", 1)]


class Named(LRUCache):
    """A subclass with its own constructor (module level, so pickle can find it)."""

    def __init__(self, name):
        super().__init__(2)
        self.name = name


def test_pickled_subclass_keeps_its_attributes():
    import pickle

    original = Named("n")
    original["x"] = 1
    restored = pickle.loads(pickle.dumps(original))
    assert type(restored) is Named and restored.name == "n" and restored.maxsize == 2
    assert dict(restored) == {"x": 1}
