"""cached()'s compiled fast paths for sync functions (one int or str argument as its own key,
plain arguments looked up through a reusable probe tuple) against its general path (a key
function called through Python), which must see the very same keys, hits, misses and
eviction order."""

import functools
import gc

from hypothesis import given, settings
from hypothesis import strategies as st

from mastra.cache import LRUCache, TTLCache, cached, hashkey
from tests.cache_helpers import Opaque, in_threads


def general_key(*args, **kwargs):
    return hashkey(*args, **kwargs)  # not hashkey itself: the wrapper calls it through Python


PLAIN = [0, 1, 2, 300, "a", "bb"]  # few, so that calls repeat
ARGS = st.sampled_from([*PLAIN, 1.0, 2.5, True, None, (1,), ("a", 1), b"x"])
PLAIN_ONLY = st.sampled_from(PLAIN)
CALLS = st.tuples(
    st.lists(ARGS, max_size=3), st.dictionaries(st.sampled_from(["k", "j"]), ARGS, max_size=1)
)
MAKERS = {
    "lru": lambda: LRUCache(4),
    "ttl": lambda: TTLCache(4, 600),  # the default timer: the C clock, so the probe is used
}


def _memoised_pair(make_cache):
    calls = {"fast": [], "general": []}

    def recorder(side):
        def fn(*args, **kwargs):
            calls[side].append((args, kwargs))
            return (args, sorted(kwargs.items()))

        return fn

    fast = cached(make_cache())(recorder("fast"))
    general = cached(make_cache(), key=general_key)(recorder("general"))
    return fast, general, calls


def _assert_same(fast, general, calls):
    assert calls["fast"] == calls["general"]
    assert fast.cache._order() == general.cache._order()  # the keys, in eviction order
    assert list(fast.cache) == list(general.cache)
    assert fast.cache.stats() == general.cache.stats()


@settings(max_examples=100, deadline=None)
@given(
    kind=st.sampled_from(sorted(MAKERS)),
    pool=st.lists(CALLS, min_size=1, max_size=6),
    picks=st.lists(st.integers(0, 5), max_size=30),
    opaque_at=st.one_of(st.none(), st.integers(0, 29)),
)
def test_fast_paths_match_the_general_path(kind, pool, picks, opaque_at):
    """Calls drawn from a small pool (so they repeat, hit and get evicted) give the same
    keys, results, calls, hits/misses and eviction order, call by call; an opaque key part
    way through turns the cache's plain-key shortcut (and so the probe) off."""
    fast, general, calls = _memoised_pair(MAKERS[kind])
    for step, pick in enumerate(picks):
        args, kwargs = pool[pick % len(pool)]
        if step == opaque_at:
            args = [Opaque(step), *args]
        assert fast(*args, **kwargs) == general(*args, **kwargs)
        _assert_same(fast, general, calls)


@settings(max_examples=40, deadline=None)
@given(script=st.lists(st.lists(PLAIN_ONLY, min_size=1, max_size=3), max_size=30))
def test_probe_path_matches_a_plain_dict_reference(script):
    """Plain arguments only (the probe's case): hits and misses as a dict keyed by hashkey,
    LRU order as a reference list."""
    order = []
    computed = []

    @cached(TTLCache(3, 600))
    def fn(*args):
        computed.append(args)
        return args

    for args in script:
        key = hashkey(*args)
        before = len(computed)
        assert fn(*args) == tuple(args)
        assert len(computed) - before == (0 if key in order else 1)
        if key in order:
            order.remove(key)
        order.append(key)
        del order[:-3]
        assert fn.cache._order() == order
    assert fn.cache.stats().misses == len(computed)


def test_hashkey_one_int_or_str_argument_is_its_own_key():
    assert hashkey(3) == 3 and type(hashkey(3)) is int
    assert hashkey("a") == "a"
    assert hashkey(3.0) == (3.0,) and hashkey(True) == (True,)  # like functools.lru_cache
    assert hashkey((1, 2)) == ((1, 2),) != hashkey(1, 2)
    assert hashkey() == () and hashkey(1, 2) == (1, 2)


def test_one_argument_keys_stay_apart_where_they_must():
    """f(1) keys on 1, f(1.0) and f(True) on equal tuples (as lru_cache keys them); a tuple
    argument never meets the call with its items as arguments."""
    seen = []

    @cached(LRUCache(10))
    def fn(*args):
        seen.append(args)
        return args

    assert fn(1) == (1,) and fn(1.0) == (1.0,) and fn(True) == (1.0,)
    assert fn((1, 2)) == ((1, 2),) and fn(1, 2) == (1, 2) and fn("a") == ("a",)
    assert seen == [(1,), (1.0,), ((1, 2),), (1, 2), ("a",)]
    assert fn.cache._order() == [1, (1.0,), ((1, 2),), (1, 2), "a"]


def test_probe_held_elsewhere_is_never_changed():
    """A probe someone else holds (gc.get_referents hands it out) is left alone: the next
    lookup makes a new one, and the one held stays as it was."""

    @cached(LRUCache(10))
    def add(a, b):
        return a + b

    assert add(1, 2) == 3 and add(1, 2) == 3
    (held,) = [r for r in gc.get_referents(add) if type(r) is tuple and r == (None, None)]
    assert [add(5, 6), add(5, 6), add(1, 2)] == [11, 11, 3]
    assert held == (None, None)
    assert add.cache.stats().hits == 3


def test_recursive_calls_through_the_probe():
    """A miss computes through calls of the same function (the probe is free again by then)."""

    @cached(TTLCache(1000, 600))
    def binomial(n, k):
        return 1 if k in (0, n) else binomial(n - 1, k - 1) + binomial(n - 1, k)

    @functools.cache
    def reference(n, k):
        return 1 if k in (0, n) else reference(n - 1, k - 1) + reference(n - 1, k)

    assert binomial(30, 15) == reference(30, 15) == 155117520
    info, stats = reference.cache_info(), binomial.cache.stats()
    assert (stats.hits, stats.misses) == (info.hits, info.misses)
    assert len(binomial.cache) == info.currsize


def test_threads_share_a_memoised_function():
    @cached(TTLCache(64, 600))
    def area(w, h):
        return w * h

    def work(offset):
        for i in range(2000):
            w, h = (i + offset) % 50, i % 7
            assert area(w, h) == w * h

    assert in_threads(work) == []
    stats = area.cache.stats()
    assert stats.hits + stats.misses == 4 * 2000


def test_every_way_of_calling_reaches_the_same_entries():
    """Vectorcall, tp_call (``__call__``, ``*args``/``**kwargs``, partial, map) and calls as
    a method all key the same way."""

    @cached(LRUCache(10))
    def add(a, b=0):
        return a + b

    class Box:
        total = cached(LRUCache(10))(lambda self, k, j: (self.__class__.__name__, k + j))

    assert add(1, 2) == add.__call__(1, 2) == add(*(1, 2)) == functools.partial(add, 1)(2) == 3
    assert list(map(add, [5, 5], [6, 6])) == [11, 11] and add(a=1) == add(**{"a": 1}) == 1
    assert add.cache.stats().misses == 3 and add.cache.stats().hits == 5
    box = Box()
    assert box.total(1, 2) == box.total(1, 2) == ("Box", 3)
    assert Box.total.cache.stats().hits == 1
