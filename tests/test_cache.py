import asyncio
import copy
import gc
import math
import pickle
import random
import subprocess
import sys
import time
import tracemalloc
import weakref
from datetime import datetime, timedelta

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mastra.cache import CacheStats, LRUCache, TTLCache, cached, hashkey
from mastra.errors import MastraError
from tests.cache_helpers import in_threads

_CLOCKS = weakref.WeakValueDictionary()


def _clock_by_id(ident):
    return _CLOCKS[ident]


class Clock:
    """A manual timer: ``now`` seconds, or that many seconds after 2000-01-01 when ``dated``.
    It pickles by reference, so a pickled cache's clone reads the very same clock."""

    def __init__(self, dated=False):
        self.now = 0.0
        self.dated = dated
        _CLOCKS[id(self)] = self

    def __call__(self):
        return datetime(2000, 1, 1) + timedelta(seconds=self.now) if self.dated else self.now

    def __reduce__(self):
        return _clock_by_id, (id(self),)


def mod4(value):
    return value % 4


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
        maxsize=st.integers(0, 6),
        ttl=st.none() | st.sampled_from([1.0, 5.0]),
        sized=st.booleans(),
        dated=st.booleans(),
    )
    @precondition(lambda self: self.ours is None)
    def create(self, maxsize, ttl, sized, dated):
        sizer = mod4 if sized else None
        self.clock = Clock(dated)
        if ttl is None:
            self.ours, self.theirs = LRUCache(maxsize, sizer), cachetools.LRUCache(maxsize, sizer)
        else:
            ttl = timedelta(seconds=ttl) if dated else ttl  # datetimes from the timer then
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

    @rule(how=st.sampled_from(["copy", "pickle"]))
    @precondition(lambda self: self.ours is not None)
    def clone(self, how):
        """Carry on with a copy (or a pickled clone) of both: items, recency, sizes and
        deadlines come along, and the originals no longer matter."""
        clone = copy.copy if how == "copy" else lambda c: pickle.loads(pickle.dumps(c))
        stats = self.ours.stats()
        self.ours, self.theirs = clone(self.ours), clone(self.theirs)
        assert self.ours.stats() == stats

    @rule(key=KEYS, value=st.integers(0, 9), dt=st.sampled_from([1.0, 6.0]))
    @precondition(lambda self: isinstance(self.ours, TTLCache))
    def frozen_timer(self, key, value, dt):
        """Inside ``with cache.timer``, each cache reads the time the block started at."""
        with self.ours.timer as ours_now, self.theirs.timer as theirs_now:
            assert ours_now == theirs_now == self.clock()
            self.clock.now += dt
            assert self.ours.timer() == ours_now
            self.both(lambda c: c.__setitem__(key, value))
            self.both(lambda c: (c[key], key in c, c.get("a"), len(c), c.currsize))
            self.both(lambda c: sorted(map(repr, c.expire())))

    @rule()
    @precondition(lambda self: self.ours is not None)
    def same_repr(self):
        assert repr(self.ours) == repr(self.theirs)

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
    assert cache.ttl == 10 and cache.timer() == 0.0 and cache.timer.dated is False
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
    assert abs(cache.timer() - time.monotonic()) < 1
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
    assert calls == 1 and slow.cache[hashkey("k")] == "K"


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

    def worker(t):
        rng = random.Random(t)
        for i in range(1500):
            key = SlowKey((t, i)) if i % 3 == 0 else f"{t}-{i}"
            cache[key] = i
            probe = rng.randrange(i + 1)
            probe_key = SlowKey((t, probe)) if probe % 3 == 0 else f"{t}-{probe}"
            assert cache[probe_key] == probe
            if i % 5 == 0:
                cache.get(f"{(t + 1) % 4}-{probe}")

    assert in_threads(worker) == []
    assert len(cache) == 6000 == cache.currsize
    assert len(cache._order()) == 6000
    for t in range(4):
        for i in range(1500):
            key = SlowKey((t, i)) if i % 3 == 0 else f"{t}-{i}"
            assert cache[key] == i


def test_threads_evicting_keep_invariants():
    cache = LRUCache(200)

    def worker(t):
        for i in range(3000):
            key = SlowKey(i % 400) if t % 2 else i % 400
            cache[key] = t
            cache.get(key)
            if i % 50 == 0:
                cache.pop(key, None)

    assert in_threads(worker) == []
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
    original = Named("n")
    original["x"] = 1
    restored = pickle.loads(pickle.dumps(original))
    assert type(restored) is Named and restored.name == "n" and restored.maxsize == 2
    assert dict(restored) == {"x": 1}


# -- malformed pickle state, a popitem that frees nothing, a cache inside itself -----------

_FORGED_PICKLE = """
import pickle
from mastra.cache import LRUCache
from mastra.errors import MastraError

cache = LRUCache(4)
cache.update(a=1, b=2, c=3)
rebuild, args, (entries, stats, attributes, order) = cache.__reduce__()


class Forged:
    def __reduce__(self):  # the iteration order leaves out "c", which has an entry
        return rebuild, args, (entries, stats, attributes, ["a", "b"])


try:
    loaded = pickle.loads(pickle.dumps(Forged()))
    print("loaded", [loaded.popitem() for _ in range(3)])
except MastraError as exc:
    print(type(exc).__name__, exc)
target = rebuild(*args)
try:
    target.__setstate__((entries, stats, attributes, ["a", "b"]))
except MastraError:
    pass
target["d"] = 4  # the refused cache is left empty and working
print(dict(target), target.currsize, target.popitem())
"""


def _in_child(script):
    """Run script in a child interpreter (a crash there fails the test instead of killing
    pytest); its output lines."""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"exit status {proc.returncode}: {proc.stderr}"
    return proc.stdout.splitlines()


def test_a_forged_pickle_state_is_refused_instead_of_crashing():
    # Before the fix, popitem() in the child died of a segmentation fault.
    refused, usable = _in_child(_FORGED_PICKLE)
    assert refused.startswith("ValidationError") and "'c'" in refused and "order" in refused
    assert usable == "{'d': 4} 1 ('d', 4)"


_REINITIALISED = """
from mastra.cache import LRUCache, TTLCache

cache = TTLCache(5, 10)
cache.update(a=1, b=2)
LRUCache.__init__(cache, 5)  # a second __init__, now without a ttl
print(len(cache), cache.currsize)
cache.pop("a", None)  # once: out of the recency ring only, and freed, still on the expiry ring
TTLCache.__init__(cache, 5, 10)
print(cache.expire(1e12), len(cache))
plain = LRUCache(3)
try:
    TTLCache.__init__(plain, 3, "10 s")
except TypeError:
    plain["k"] = 1
    print(dict(plain), plain.popitem())
"""


def test_calling_init_again_starts_afresh_and_a_failed_init_changes_nothing():
    # Before the fix, the second __init__ left ring links pointing at freed items (a crash).
    assert _in_child(_REINITIALISED) == ["0 0", "[] 0", "{'k': 1} ('k', 1)"]


def _exercise(cache):
    """Use a cache every way that walks its rings; all must agree with its dict."""
    held = len(cache)
    assert len(cache._order()) == held == len(list(cache)) == len(copy.copy(cache))
    repr(cache), cache.expire(), cache.stats()
    popped = []
    with pytest.raises(KeyError):
        while True:
            popped.append(cache.popitem()[0])
    assert len(popped) == held and len(cache) == cache.currsize == 0 and cache._order() == []
    cache["fresh"] = 1
    assert cache["fresh"] == 1 and cache.currsize == 1 and cache._order() == ["fresh"]


ITEM_KEYS = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.tuples(st.integers(0, 2)))
SOURCES = st.sampled_from(
    [
        lambda: LRUCache(50),
        lambda: LRUCache(50, getsizeof=mod4),
        lambda: TTLCache(50, 30, timer=Clock()),
        lambda: TTLCache(math.inf, timedelta(seconds=30), timer=Clock(dated=True)),
    ]
)


def _mutations(entries, stats, attributes, order, maxsize, sized, data):
    """Malformed variants of a valid state (entries has at least two items)."""
    i = data.draw(st.integers(0, len(entries) - 1), label="entry")
    j = (i + 1) % len(entries)
    key, value, size, expires = entries[i]

    def entry(**change):
        fields = dict(key=key, value=value, size=size, expires=expires) | change
        return [*entries[:i], tuple(fields.values()), *entries[i + 1 :]]

    def bad_order(new):
        return (entries, stats, attributes, new)

    yield from [
        (entries,),  # too short
        (entries, stats, attributes, order, "extra"),  # too long
        [entries, stats, attributes, order],  # not a tuple
        ("entries", stats, attributes, order),
        ({key: value}, stats, attributes, order),
        ([*entries[:i], (key, value, size), *entries[i + 1 :]], stats, attributes, order),
        ([*entries, entries[i]], stats, attributes, [*order, key]),  # duplicate entry
        bad_order([o if o != order[j] else order[i] for o in order]),  # duplicate in the order
        bad_order([o for o in order if o != key]),  # a key missing from the order
        bad_order([*order, ("not", "there")]),  # a key without an entry
        bad_order([*order[:-1], ("not", "there")]),
        bad_order(42),
        (entry(size=-1), stats, attributes, order),
        (entry(size="1"), stats, attributes, order),
        (entry(size=1.0), stats, attributes, order),
        (entry(size=True), stats, attributes, order),
        (entry(size=2**70), stats, attributes, order),
        (entry(expires=math.nan), stats, attributes, order),
        (entry(expires="soon"), stats, attributes, order),
        (entry(expires=None), stats, attributes, order),
        (entry(expires=10**400), stats, attributes, order),
        (entries, stats[:3], attributes, order),
        (entries, (-1, 0, 0, 0), attributes, order),
        (entries, (0, 0, 2**64, 0), attributes, order),
        (entries, ("0", 0, 0, 0), attributes, order),
        (entries, 7, attributes, order),
        (entries, stats, ["not", "a", "dict"], order),
        (entries, stats, {1: "not a name"}, order),
    ]
    if not sized:
        yield (entry(size=2), stats, attributes, order)  # sizes are 1 without getsizeof
    if maxsize != math.inf:
        yield (entry(size=maxsize + 1), stats, attributes, order)
        yield ([(k, v, maxsize, e) for k, v, _, e in entries], stats, attributes, order)


@settings(max_examples=60, deadline=None)
@given(
    source=SOURCES,
    items=st.dictionaries(ITEM_KEYS, st.integers(0, 9), min_size=2, max_size=6),
    data=st.data(),
)
def test_setstate_refuses_every_malformed_state_cleanly(source, items, data):
    cache = source()
    cache.update(items)
    rebuild, args, (entries, stats, attributes, order) = cache.__reduce__()
    sized = cache.getsizeof(3) != 1
    for bad in _mutations(entries, stats, attributes, order, cache.maxsize, sized, data):
        target = rebuild(*args)
        with pytest.raises((MastraError, TypeError)):
            target.__setstate__(bad)
        assert len(target) == 0 and target.currsize == 0 and target._order() == []
        _exercise(target)
    full = pickle.loads(pickle.dumps(cache))
    with pytest.raises(MastraError, match="empty"):
        full.__setstate__((entries, stats, attributes, order))  # only a fresh cache is filled
    assert list(full) == list(cache)


ANYTHING = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=2),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=12,
)
NUMBERS = st.integers(-2, 60) | st.floats(allow_nan=True) | ANYTHING
ENTRY = st.tuples(ITEM_KEYS, ANYTHING, st.just(1) | NUMBERS, NUMBERS) | ANYTHING
NEAR_STATES = st.tuples(
    st.lists(ENTRY, max_size=5),
    st.tuples(*[st.integers(-1, 3)] * 4) | ANYTHING,
    st.none() | st.dictionaries(st.text(max_size=2), ANYTHING, max_size=2) | ANYTHING,
    st.none() | st.lists(ITEM_KEYS, max_size=6) | ANYTHING,
)


@settings(max_examples=150, deadline=None)
@given(source=SOURCES, state=NEAR_STATES | ANYTHING)
def test_setstate_never_crashes_on_arbitrary_states(source, state):
    rebuild, args, _ = source().__reduce__()
    target = rebuild(*args)
    try:
        target.__setstate__(state)
    except (MastraError, TypeError):
        assert len(target) == 0 and target._order() == []
    _exercise(target)


def test_popitem_that_frees_nothing_raises_instead_of_looping():
    class Stubborn(LRUCache):
        calls = 0

        def popitem(self):
            self.calls += 1
            if self.calls > 100:  # before the fix: __setitem__ called this forever
                raise RuntimeError("popitem called in a loop")
            return ("a", 1)  # claims to evict, removes nothing

    cache = Stubborn(2)
    cache.update(a=1, b=2)
    with pytest.raises(MastraError, match=r"popitem\(\) .*did not free"):
        cache["c"] = 3
    assert cache.calls == 1 and dict(cache) == {"a": 1, "b": 2} and cache.currsize == 2
    cache["a"] = 5  # replacing a key needs no room
    assert dict(cache) == {"a": 5, "b": 2}

    class NewestOut(LRUCache):  # evicts by pop(), another policy: that frees space
        def popitem(self):
            key = list(self)[-1]
            return key, self.pop(key)

    newest = NewestOut(2)
    newest.update(a=1, b=2, c=3)
    assert dict(newest) == {"a": 1, "c": 3}


def test_repr_of_a_cache_that_contains_itself():
    cache = LRUCache(3)
    cache["me"] = cache
    cache["n"] = 1
    assert repr(cache) == "LRUCache({'me': ..., 'n': 1}, maxsize=3, currsize=2)"
    ttl = TTLCache(3, 10, timer=Clock())
    ttl["pair"] = [ttl, cache]
    assert repr(ttl) == (
        "TTLCache({'pair': [..., LRUCache({'me': ..., 'n': 1}, maxsize=3, currsize=2)]}, "
        "maxsize=3, currsize=1)"
    )


# -- the timer object, timedelta ttl -------------------------------------------------------


def test_frozen_timer_holds_the_time_for_every_operation():
    clock = Clock()
    cache = TTLCache(10, 5, timer=clock)
    cache["a"] = 1
    with cache.timer as now:
        clock.now = 100  # every read inside the block still sees 0
        with cache.timer as inner:
            assert inner == now == cache.timer() == 0.0
        assert cache["a"] == 1 and "a" in cache and len(cache) == 1 and cache.expire() == []
        cache["b"] = 2  # expires at 0 + 5
    assert clock.now == cache.timer() == 100 and cache.timer.now == 100  # forwards attributes
    assert len(cache) == 0
    fast = TTLCache(10, 0.05)  # the default clock, read in C, also obeys the block
    fast["k"] = 1
    with fast.timer:
        time.sleep(0.1)
        assert "k" in fast
    assert "k" not in fast


def test_each_copy_has_its_own_timer_object():
    clock = Clock()
    cache = TTLCache(10, 5, timer=clock)
    for clone in (copy.copy(cache), pickle.loads(pickle.dumps(cache)), copy.deepcopy(cache)):
        assert clone.timer is not cache.timer
        with cache.timer:
            clock.now += 1
            assert clone.timer() == clock.now != cache.timer()
    assert pickle.loads(pickle.dumps(cache.timer))() == clock.now


def test_timedelta_ttl_with_a_datetime_timer():
    clock = Clock(dated=True)
    cache = TTLCache(10, timedelta(seconds=10), timer=clock)
    assert cache.ttl == timedelta(seconds=10)
    cache["a"] = 1
    clock.now = 4
    cache["b"] = 2
    for clone in (cache, copy.copy(cache), pickle.loads(pickle.dumps(cache))):
        assert clone.expire(clock() + timedelta(seconds=5)) == []
        assert clone.expire(datetime(2000, 1, 1, 0, 0, 10)) == [("a", 1)]
        assert list(clone) == ["b"]
    clock.now = 14
    assert len(cache) == 0
    with pytest.raises(TypeError, match="timedelta"):
        TTLCache(10, "10 seconds")
    with pytest.raises(TypeError):
        TTLCache(10, timedelta(seconds=1), timer=time.monotonic)["k"] = 1  # float + timedelta


@cached(TTLCache(100, 60))
def _area(w, h=1):
    return w * h


def test_cached_sync_compiled_wrapper_keeps_function_behaviour():
    """The compiled wrapper: keywords, methods, other mappings, stats, metadata and pickling
    by name behave as the plain Python wrapper they replace."""
    _area.cache_clear()
    assert [_area(3, 4), _area(3, 4), _area(3, h=4), _area(w=3, h=4)] == [12] * 4
    assert _area.cache.stats().hits == 1 and len(_area.cache) == 3  # keywords key apart
    assert _area.__name__ == "_area" and _area.__wrapped__(2, 5) == 10
    assert pickle.loads(pickle.dumps(_area)) is _area

    class Box:
        def __init__(self, side):
            self.side = side

        @cached(LRUCache(10), key=lambda self, k: (self.side, k))
        def scaled(self, k):
            return self.side * k

    assert Box(2).scaled(5) == 10 and Box(3).scaled(5) == 15 and Box(2).scaled(k=5) == 10
    assert Box.scaled.cache.stats().hits == 1

    plain: dict[object, int] = {}
    double = cached(plain)(lambda x: 2 * x)
    assert double(21) == 42 and plain == {21: 42} and double(21) == 42  # hashkey(21) is 21
