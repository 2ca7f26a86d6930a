"""How LRUCache and TTLCache find their keys, pinned to what a dict does (and cachetools, which
keeps its items in one): a stored key answers a lookup when the hashes are equal and the key is
the very object or compares equal (the stored key asked first), the first key object stored
stays, iteration follows insertion order, and a key whose __hash__ or __eq__ fails or uses the
cache leaves the cache as it was. Written against the dict-backed cache, so that a cache with a
hash table of its own is held to the same behaviour."""

import contextlib
import gc
import math
import pickle
import random
import sys
import time
import weakref
from collections import OrderedDict
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra.cache import LRUCache, TTLCache
from tests.cache_helpers import Opaque, in_threads

MODULUS = sys.hash_info.modulus  # 2**61 - 1: ints this far apart hash alike
FOREVER = 1e9  # a ttl nothing outlives in a test
ROOMY = 10**7
_MISSING = object()


class FrozenClock:
    """A timer that reads what it is set to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _size(value):
    """A getsizeof whose sizes vary with the value (1 to 3)."""
    return 1 + len(repr(value)) % 3


def _ids(objects):
    return [id(o) for o in objects]


def _fresh(obj):
    """An equal object that is not ``obj`` (for ints, strs, tuples ... that are not cached)."""
    return pickle.loads(pickle.dumps(obj))


KINDS = {
    "lru": lambda maxsize: LRUCache(maxsize),
    "ttl": lambda maxsize: TTLCache(maxsize, FOREVER),  # the default timer, read in C
    "lru-sized": lambda maxsize: LRUCache(3 * maxsize, getsizeof=_size),
    "ttl-sized": lambda maxsize: TTLCache(3 * maxsize, FOREVER, FrozenClock(), _size),
}


class Twin:
    """A cache and a dict given the same calls: every answer, and the contents, must agree."""

    def __init__(self, cache, seeded):
        self.cache, self.ref = cache, {}
        if seeded:  # a key that runs Python code: the cache's plain-key shortcut is off
            self.set(Opaque("seed"), "seed")

    def set(self, key, value):
        self.cache[key] = value
        self.ref[key] = value

    def set_all(self, keys, tag=""):
        for n, key in enumerate(keys):
            self.set(key, f"{tag}{n}")

    def probe(self, key):
        """Whether the dict finds key; the cache must find it too, with the same value."""
        found = key in self.ref
        assert (key in self.cache) is found
        assert self.cache.get(key, _MISSING) is self.ref.get(key, _MISSING)
        if found:
            assert self.cache[key] is self.ref[key]
        else:
            with pytest.raises(KeyError):
                self.cache[key]
        return found

    def delete(self, key):
        expected = self.ref.pop(key, _MISSING)
        assert self.cache.pop(key, _MISSING) is expected
        return expected is not _MISSING

    def check(self):
        assert len(self.cache) == len(self.ref)
        assert _ids(self.cache) == _ids(self.ref)  # the same key objects, in the same order
        assert _ids(self.cache.values()) == _ids(self.ref.values())
        assert self.cache.currsize == sum(map(self.cache.getsizeof, self.ref.values()))


@pytest.fixture(
    params=[
        ("lru", False),
        ("ttl", False),
        ("lru-sized", False),
        ("ttl-sized", False),
        ("lru", True),
        ("ttl", True),
    ],
    ids=lambda p: p[0] + ("-seeded" if p[1] else ""),
)
def twin(request):
    kind, seeded = request.param
    return Twin(KINDS[kind](ROOMY), seeded)


# -- key equality, as a dict has it ----------------------------------------------------------------


def test_numbers_that_compare_equal_are_one_key(twin):
    groups = [
        [1, 1.0, True, Decimal(1), Fraction(1), complex(1, 0)],
        [0, 0.0, -0.0, False, Decimal(0), Decimal("-0"), Fraction(0)],
        [0.5, Decimal("0.5"), Fraction(1, 2)],
        [2**64, float(2**64), Decimal(2**64), Fraction(2**64)],
        [-(2**70), float(-(2**70))],
    ]
    for group in groups:
        twin.set_all(group, tag=f"{group[0]}:")
    twin.check()
    stored = [k for k in twin.cache if not isinstance(k, Opaque)]
    assert [type(k) for k in stored] == [int, int, float, int, int]  # the first object stays
    for group in groups:
        for key in group:
            assert twin.probe(key)
            assert twin.cache[key] == f"{group[0]}:{len(group) - 1}"  # the last value set
    for group in groups:
        assert twin.delete(group[-1]) and not twin.probe(group[0])
    twin.check()


def test_unequal_numbers_with_equal_hashes_stay_apart(twin):
    m = MODULUS
    keys = [-1, -2, 0, m, 2 * m, -m, "", 5, 5 + m, 5 + 7 * m, 2**64, 2**64 + m, -(2**64)]
    keys += [-(2**64) - m, 2**100, -(2**100), 2**100 + m, float(2**64 + 2**12), float(m)]
    assert hash(-1) == hash(-2) and hash(0) == hash(m) == hash(-m) == hash("")
    twin.set_all(keys)
    assert sum(1 for k in twin.ref if not isinstance(k, Opaque)) == len(keys)
    twin.check()
    for key in keys:
        assert twin.probe(_fresh(key))
    for absent in [3 * m, -2 * m, 5 + 2 * m, 2**64 + 2 * m, -(2**100) - m, -3, 2**63]:
        assert not twin.probe(absent)
    for key in keys[::2]:
        assert twin.delete(_fresh(key))
    for key in keys:
        twin.probe(key)
    twin.check()


def test_nan_is_found_as_the_same_object_only(twin):
    nan, other = float("nan"), float("nan")
    twin.set(nan, "nan")
    assert twin.probe(nan)
    assert not twin.probe(other) and not twin.probe(math.nan) and not twin.probe(_fresh(nan))
    twin.set(other, "other")  # a key of its own
    twin.set((nan, 1), "tuple")  # tuples compare their items by identity first
    assert twin.probe((nan, 1)) and not twin.probe((other, 1))
    twin.check()
    assert twin.delete(nan) and not twin.probe(nan) and twin.probe(other)
    twin.check()


def test_strs_and_bytes_with_equal_hashes_are_different_keys(twin):
    # A str hashes its code units' bytes: the same bytes give the same hash whatever the kind
    # (1, 2 or 4 bytes a character) and length, and bytes hash alike.
    alike = [["abc", b"abc"], ["\xe9", b"\xe9"], ["aa", "\u6161", b"aa"]]
    alike.append(["aa\x01\x00", "\u6161\u0001", "\U00016161", b"aa\x01\x00"])
    for group in alike:
        assert len({hash(k) for k in group}) == 1
        twin.set_all(group, tag=f"{group[0]!r}:")
    assert sum(1 for k in twin.ref if not isinstance(k, Opaque)) == sum(map(len, alike))
    twin.check()
    for group in alike:
        for key in group:
            assert twin.probe(_fresh(key))
        assert twin.delete(group[0]) and all(twin.probe(k) for k in group[1:])
    twin.check()


ALPHABETS = {
    "ascii": "abcdefghij",
    "latin-1": "àéîõüÿ\x80\xff",
    "ucs-2": "€Āωж\u07ff\uffff",
    "ucs-4": "😀𝄞🂡\U00010000\U0010ffff",
}


def _strs_around_word_boundaries():
    """Strs of every kind, lengths 0 to 40: each with neighbours that share all but its
    first, middle or last character, one longer, and ascii ones ending in another kind."""
    keys = {}
    for kind, alphabet in ALPHABETS.items():
        for n in range(41):
            base = (alphabet * 5)[:n]
            other = alphabet[(n + 1) % len(alphabet)]
            variants = [base, base + other, "a" * n + alphabet[0]]
            if n:
                mid = n // 2
                variants += [other + base[1:], base[:mid] + other + base[mid + 1 :]]
                variants.append(base[:-1] + other)
            for key in variants:
                keys.setdefault(key, kind)
    return list(keys)


def _same_bytes_other_kind(key):
    """A str of another kind (2-byte characters) whose code units' bytes are key's: equal
    hashes, never equal. None when key has no such twin."""
    if not key or len(key) % 2 or max(map(ord, key)) > 0xFF:
        return None
    twin = "".join(chr(ord(key[i]) | ord(key[i + 1]) << 8) for i in range(0, len(key), 2))
    return twin if max(map(ord, twin)) > 0xFF else None


def test_strs_of_every_kind_and_length(twin):
    keys = _strs_around_word_boundaries()
    twin.set_all(keys)
    twin.check()
    for key in keys:
        assert twin.probe(_fresh(key)) and twin.probe(key)
    pairs = [(k, _same_bytes_other_kind(k)) for k in keys]
    twins = [t for k, t in pairs if t is not None]
    byte_twins = [k.encode("latin-1") for k in keys if max(map(ord, k), default=0) <= 0xFF]
    assert len(twins) > 50 and all(hash(k) == hash(t) for k, t in pairs if t is not None)
    assert all(hash(k) == hash(k.encode("latin-1")) for k in keys if k.isascii())
    for absent in twins + byte_twins:
        assert not twin.probe(absent)
    twin.set_all(twins + byte_twins, tag="twin")
    for key in keys[::3]:
        assert twin.delete(_fresh(key))
    for key in keys + twins + byte_twins:
        twin.probe(key)
    twin.check()


class Str(str):
    pass


class StrOwnHash(str):
    def __hash__(self):
        return 12345  # == stays str's


class StrFolded(str):
    """Equal to any str that matches it when both are lowercased, and hashed so."""

    def __eq__(self, other):
        return isinstance(other, str) and self.lower() == other.lower()

    def __hash__(self):
        return hash(self.lower())


class StrNeverEqual(str):
    def __eq__(self, other):
        return False

    __hash__ = str.__hash__


class Int(int):
    pass


class IntOwnHash(int):
    def __hash__(self):
        return 7


class IntNeverEqual(int):
    def __eq__(self, other):
        return False

    __hash__ = int.__hash__


class IntEqualToItsStr(int):
    def __eq__(self, other):
        return other == str(int(self)) or int(self) == other

    def __hash__(self):
        return hash(str(int(self)))


def test_str_and_int_subclasses_with_and_without_their_own_hash_and_eq(twin):
    keys = [
        "a",
        Str("a"),  # the same key as "a"
        StrOwnHash("a"),  # == "a", but hashed apart: a key of its own
        StrOwnHash("b"),
        StrFolded("B"),
        "b",  # the same key as StrFolded("B")
        StrNeverEqual("c"),
        "c",  # StrNeverEqual("c") says unequal: a key of its own
        1,
        Int(1),
        IntOwnHash(2),
        2,
        IntNeverEqual(3),
        3,
        IntOwnHash(7),
        7,  # equal hashes, equal values: IntOwnHash(7) == 7, the same key
        IntEqualToItsStr(5),
        "5",
    ]
    twin.set_all(keys)
    plain = [k for k in twin.ref if not isinstance(k, Opaque)]
    assert len(plain) == 13 and type(plain[0]) is str and type(plain[3]) is StrFolded
    twin.check()
    probes = [Str("a"), StrOwnHash("a"), StrFolded("A"), "B", StrNeverEqual("c"), Int(3)]
    probes += [IntOwnHash(2), Int(2), IntNeverEqual(1), 5, "5", IntEqualToItsStr(5), Int(7)]
    for probe in probes + keys:
        twin.probe(probe)
    for key in keys[::2]:
        twin.delete(key)
    for probe in probes + keys:
        twin.probe(probe)
    twin.check()


def test_tuples_frozensets_and_none(twin):
    nan = float("nan")
    keys = [
        (),
        (1,),
        1,
        ((1, "a"), (2.0, (None, b"x"))),
        ((1.0, "a"), (2, (None, b"x"))),  # equal to the one before
        (Opaque(1), "x"),
        (Opaque(1), "x"),  # equal: a fresh Opaque(1)
        (Opaque(2), "x"),
        ((Opaque(1),),),
        (1, (2, (3, (4, (5, (6,)))))),
        (nan, "é", "€", "😀"),
        frozenset(),
        frozenset({1, 2}),
        frozenset({2.0, 1}),  # equal to the one before
        frozenset({"a", b"a"}),
        frozenset({(1, 2), frozenset({3})}),
        None,
        "None",
        0,
    ]
    twin.set_all(keys)
    assert sum(1 for k in twin.ref if not isinstance(k, Opaque)) == len(keys) - 3
    twin.check()
    probes = [((1, "a"), (2, (None, b"x"))), (Opaque(2), "x"), (Opaque(3), "x"), ((1,),), (1, 1)]
    probes += [(nan, "é", "€", "😀"), (float("nan"), "é", "€", "😀"), frozenset({1, 2.0}), False]
    probes += [frozenset({"a"}), frozenset({frozenset({3}), (1, 2)}), (None,)]
    for probe in probes + [_fresh(k) for k in keys]:
        twin.probe(probe)
    for key in keys[1::2]:
        twin.delete(key)
    for probe in probes + keys:
        twin.probe(probe)
    twin.check()


class Const:
    """Every instance hashes alike: lookups go through __eq__ alone."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return 42

    def __eq__(self, other):
        return type(other) is Const and other.n == self.n

    def __repr__(self):
        return f"Const({self.n})"


def test_hundreds_of_keys_with_one_hash_and_deletes_between(twin):
    twin.set(42, "int")  # an int of the same hash, never equal to a Const
    for i in range(400):
        twin.set(Const(i), f"c{i}")
        if i % 3 == 2:
            assert twin.delete(Const(i - 1))
        if i % 7 == 0:
            twin.probe(Const(i // 2))
    twin.check()
    for i in range(420):
        twin.probe(Const(i))
    for i in range(0, 400, 2):
        twin.delete(Const(i))
    for i in range(1, 400, 6):
        twin.set(Const(i), f"again{i}")  # values replaced in place
    for i in range(0, 400, 5):
        twin.set(Const(i), f"back{i}")  # deleted ones come back at the end
    for i in range(420):
        twin.probe(Const(i))
    assert twin.probe(42)
    twin.check()


class AlwaysEqual:
    """Says equal to anything; hashes as given. Counts the comparisons it is asked for."""

    compared = 0

    def __init__(self, h):
        self.h = h

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        AlwaysEqual.compared += 1
        return True


def test_equal_objects_with_other_hashes_are_not_found_nor_compared(twin):
    AlwaysEqual.compared = 0
    keys = [AlwaysEqual(10**9 + i) for i in range(200)]
    twin.set_all(keys)
    assert sum(1 for k in twin.ref if isinstance(k, AlwaysEqual)) == 200
    for h in [10**9 - 1, 10**9 + 200, 2**40, -5]:
        assert not twin.probe(AlwaysEqual(h))
    for key in keys[::4]:
        assert twin.delete(key)
    twin.check()
    assert AlwaysEqual.compared == 0  # a dict compares the hashes first
    twin.set(5, "five")
    assert twin.probe(AlwaysEqual(5))  # with the hash of 5, equality is asked, and says yes
    assert AlwaysEqual.compared > 0


class Asks:
    """Hashes as 3 and answers == with ``says``, recording who was asked."""

    asked: ClassVar[list[str]] = []

    def __init__(self, name, says):
        self.name, self.says = name, says

    def __hash__(self):
        return 3

    def __eq__(self, other):
        Asks.asked.append(self.name)
        return self.says

    def __repr__(self):
        return self.name


def test_the_stored_key_is_asked_first_and_its_answer_counts_by_truth(twin):
    """A dict asks ``stored == probe``: the stored key's __eq__ decides unless it declines, and
    what it returns counts by its truth."""
    yes, no = Asks("yes", True), Asks("no", False)
    twin.set(no, "no")
    Asks.asked = []
    assert not twin.probe(yes)  # no.__eq__(yes) is False: not the same key
    assert set(Asks.asked) == {"no"}
    twin.delete(no)
    twin.set(yes, "yes")
    Asks.asked = []
    assert twin.probe(no) and twin.cache[no] == "yes"  # yes.__eq__(no) is True: found
    assert set(Asks.asked) == {"yes"}
    twin.delete(yes)
    for stored, says, found in [("non-empty", False, True), (0, True, False)]:
        key = Asks(f"says {stored!r}", stored)
        twin.set(key, "v")
        assert twin.probe(Asks("probe", says)) is found
        twin.delete(key)
    twin.set(Asks("declines", NotImplemented), "declines")
    assert twin.probe(Asks("answers", True))  # declined: the probe's own __eq__ answers
    twin.check()


class Boom(Exception):
    pass


class RaisingHash:
    def __hash__(self):
        raise Boom("no hash")


class Flaky:
    """Hashes as ``h``; its __eq__ raises (or returns something whose truth raises) while
    ``armed``, else compares by identity."""

    armed = False

    def __init__(self, h, how="raise"):
        self.h, self.how = h, how

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        if not Flaky.armed:
            return self is other
        if self.how == "raise":
            raise Boom("no eq")
        return Untruthful()


class Untruthful:
    def __bool__(self):
        raise Boom("no truth")


OPS = {
    "set": lambda c, k: c.__setitem__(k, "new"),
    "get": lambda c, k: c.get(k),
    "getitem": lambda c, k: c[k],
    "contains": lambda c, k: k in c,
    "delitem": lambda c, k: c.__delitem__(k),
    "pop": lambda c, k: c.pop(k, None),
    "setdefault": lambda c, k: c.setdefault(k, "new"),
}


def _state(cache):
    """What a failed call must leave as it was: the key objects in iteration and recency order,
    the values, the sizes. (The values are read in recency order, which leaves it as it is.)"""
    order = cache._order()
    values = [cache.get(k) for k in order]
    return _ids(cache), _ids(order), _ids(values), len(cache), cache.currsize


def _full(kind, stored):
    """A cache of ``kind`` filled to its maxsize: ``stored`` keys and then ints. A new item
    ("new" as its value) needs an eviction."""
    cache = KINDS[kind](10)
    for key in stored:
        cache[key] = "v"
    i = 100
    while cache.currsize < cache.maxsize:
        cache[i] = "v"
        i += 1
    assert cache.currsize == cache.maxsize
    return cache


def _usable(cache):
    cache.popitem()
    cache["after"] = "value"
    assert cache["after"] == "value" and cache.get("absent") is None
    assert len(cache) == len(list(cache)) == len(cache._order())


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("fault", ["hash", "stored-eq", "probe-eq", "eq-truth"])
def test_a_failing_hash_or_eq_propagates_and_leaves_the_cache_as_it_was(fault, kind, op):
    if fault == "hash":
        stored, probe = [7], RaisingHash()
    elif fault == "stored-eq":  # 7 == stored Flaky(7): the stored key's __eq__ raises
        stored, probe = [Flaky(7)], 7
    elif fault == "probe-eq":  # stored 7 declines to compare with a Flaky: its __eq__ raises
        stored, probe = [7], Flaky(7)
    else:
        stored, probe = [Flaky(7, how="truth")], Flaky(7)
    cache = _full(kind, stored)
    before = _state(cache)
    Flaky.armed = True
    try:
        with pytest.raises(Boom):
            OPS[op](cache, probe)
    finally:
        Flaky.armed = False
    assert _state(cache) == before  # nothing evicted, stored, moved or removed
    assert stored[0] in cache
    _usable(cache)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("key", [[1], {}, set(), bytearray(b"k"), (1, [2]), (frozenset(), {})])
def test_unhashable_keys_raise_typeerror_and_evict_nothing(key, kind, op):
    cache = _full(kind, ["k"])
    before = _state(cache)
    with pytest.raises(TypeError, match="unhashable"):
        OPS[op](cache, key)
    assert _state(cache) == before
    _usable(cache)


class Counted:
    """Counts calls of its __hash__ and __eq__ across all instances."""

    calls = 0

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        Counted.calls += 1
        return 10**12 + self.n

    def __eq__(self, other):
        Counted.calls += 1
        return type(other) is Counted and other.n == self.n


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_stored_keys_are_not_hashed_or_compared_again_as_the_cache_grows_and_shrinks(kind):
    """As in a dict, a stored key's __hash__ and __eq__ run only for lookups that reach it:
    growing, shrinking and other keys' operations reuse the hash stored with it."""
    cache = KINDS[kind](ROOMY)
    cache["oldest"] = 0
    counted = [Counted(i) for i in range(50)]
    for key in counted:
        cache[key] = key.n
    Counted.calls = 0
    for i in range(20_000):
        cache[i] = i
        cache[f"s{i}"] = i
    for i in range(19_900):
        del cache[i]
        assert cache.pop(f"s{i}") == i
    assert cache.popitem() == ("oldest", 0)
    for i in range(30_000, 40_000):
        cache[(i,)] = i
    assert Counted.calls == 0
    assert all(cache[key] == key.n for key in counted)


# -- against a reference: a dict for the items, an OrderedDict for recency -------------------------


class Reference:
    """What a cache must do: items in a dict (insertion order), recency in an OrderedDict
    (least recent first), evicting as cachetools does when an item does not fit."""

    def __init__(self, maxsize, getsizeof):
        self.maxsize, self.getsizeof = maxsize, getsizeof or (lambda value: 1)
        self.data, self.sizes, self.recency = {}, {}, OrderedDict()
        self.currsize = 0

    def __setitem__(self, key, value):
        size = self.getsizeof(value)
        if size > self.maxsize:
            raise ValueError("value too large")
        diff = size - self.sizes[key] if key in self.data else size
        while self.currsize + diff > self.maxsize:
            self.popitem()
            if key not in self.data:
                diff = size
        self.data[key] = value  # an existing key keeps its object and its place
        self.sizes[key] = size
        self.recency[key] = None
        self.recency.move_to_end(key)
        self.currsize += diff

    def __getitem__(self, key):
        value = self.data[key]
        self.recency.move_to_end(key)
        return value

    def get(self, key, default=None):
        return self[key] if key in self.data else default

    def __contains__(self, key):
        return key in self.data

    def __delitem__(self, key):
        del self.data[key]
        del self.recency[key]
        self.currsize -= self.sizes.pop(key)

    def pop(self, key, default=_MISSING):
        if key in self.data:
            value = self.data[key]
            del self[key]
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self):
        if not self.recency:
            raise KeyError("empty")
        key = next(iter(self.recency))
        value = self.data[key]
        del self[key]
        return key, value

    def setdefault(self, key, default=None):
        if key in self.data:
            return self[key]
        self[key] = default
        return default


class Collide:
    """A key type whose hashes repeat every 8 values (and are those of small ints)."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        return self.n % 8

    def __eq__(self, other):
        return type(other) is Collide and other.n == self.n

    def __repr__(self):
        return f"Collide({self.n})"


FAMILIES = {
    "int": lambda i: i,
    "negative": lambda i: -i - 1,  # -1 and -2 hash alike
    "float": float,  # the same keys as the ints
    "huge": lambda i: 2**64 + i,
    "huge-negative": lambda i: -(2**70) - i,
    "modulus": lambda i: i * MODULUS,  # all hash 0, as 0, 0.0 and "" do
    "modulus+5": lambda i: 5 + i * MODULUS,
    "ascii": lambda i: f"k{i}",
    "bytes": lambda i: f"k{i}".encode(),  # hashed as the ascii strs
    "latin-1": lambda i: f"é{i}",
    "ucs-2": lambda i: f"€{i}",
    "ucs-4": lambda i: f"😀{i}",
    "tuple": lambda i: (i, f"k{i}"),
    "nested": lambda i: ((i,), (None, f"é{i}")),
    "collide": Collide,
}
QUADRATIC = {"modulus", "modulus+5", "collide"}  # one hash for many: kept to hundreds


def _int_size(value):
    return 1 + value % 3


CONFIGS = {
    "lru": (lambda: LRUCache(ROOMY), ROOMY, None),
    "lru-evicting": (lambda: LRUCache(1000), 1000, None),
    "lru-sized-evicting": (lambda: LRUCache(2500, getsizeof=_int_size), 2500, _int_size),
    "ttl": (lambda: TTLCache(ROOMY, FOREVER), ROOMY, None),
    "ttl-sized-evicting": (
        lambda: TTLCache(1500, FOREVER, timer=FrozenClock(), getsizeof=_int_size),
        1500,
        _int_size,
    ),
}

FAMILY = st.sampled_from(sorted(FAMILIES))
KEY = st.builds(lambda family, i: FAMILIES[family](i), FAMILY, st.integers(0, 60))
VALUE = st.integers(0, 99)
COUNT = st.sampled_from([300, 1500, 4000]) | st.integers(1, 4000)  # thousands, often
SPAN = st.tuples(FAMILY, st.integers(0, 60), COUNT, st.integers(1, 4))
OP = st.one_of(
    st.tuples(st.sampled_from(["set", "setdefault"]), KEY, VALUE),
    st.tuples(st.sampled_from(["get", "getitem", "contains", "pop", "delete"]), KEY),
    st.tuples(st.just("popitem")),
    st.tuples(st.sampled_from(["grow", "shrink", "touch"]), SPAN),
)


def _single(target, op, *args):
    if op == "set":
        target[args[0]] = args[1]
        return None
    if op == "delete":
        del target[args[0]]
        return None
    if op == "getitem":
        return target[args[0]]
    if op == "contains":
        return args[0] in target
    if op == "pop":
        return target.pop(*args)
    return getattr(target, op)(*args)


def _outcome(target, op, *args):
    try:
        result = _single(target, op, *args)
    except (KeyError, ValueError) as exc:
        return type(exc).__name__
    if type(result) is bool:
        return result
    return _ids(result) if type(result) is tuple else id(result)


def _span_ops(op, span):
    family, start, count, stride = span
    if family in QUADRATIC:
        count = min(count, 300)
    make = FAMILIES[family]
    for i in range(start, start + count, stride):
        key = make(i)
        if op == "grow":
            yield "set", key, i
        elif op == "shrink":
            yield "pop", key, None
        else:
            yield "get", key


def _assert_same_state(cache, reference):
    assert len(cache) == len(reference.data)
    assert cache.currsize == reference.currsize
    assert _ids(cache) == _ids(reference.data)  # insertion order, first key objects
    assert _ids(cache._order()) == _ids(reference.recency)  # least recently used first
    values = [cache.get(k) for k in cache._order()]  # in recency order: leaves it as it is
    assert _ids(values) == _ids(reference.data[k] for k in reference.recency)


@settings(max_examples=80, deadline=None)
@given(
    config=st.sampled_from(sorted(CONFIGS)),
    opening=st.lists(SPAN, min_size=1, max_size=3),
    ops=st.lists(OP, max_size=25),
)
def test_matches_a_dict_and_ordereddict_reference(config, opening, ops):
    """Keys of many kinds (equal hashes across kinds, one hash for hundreds), grown in bulk to
    thousands and shrunk again, with single calls between: every answer, the items, their
    iteration and recency order and the sizes as the reference has them."""
    make, maxsize, sizer = CONFIGS[config]
    cache, reference = make(), Reference(maxsize, sizer)
    for op, *args in [("grow", span) for span in opening] + ops:
        steps = _span_ops(op, args[0]) if op in ("grow", "shrink", "touch") else [(op, *args)]
        for step in steps:
            assert _outcome(cache, *step) == _outcome(reference, *step), step
        _assert_same_state(cache, reference)


DISTINCT = sorted(set(FAMILIES) - {"float"})  # no key of one equals a key of another


def _mixed_key(i):
    return FAMILIES[DISTINCT[i % len(DISTINCT)]](i)


@pytest.mark.parametrize("config", ["lru", "ttl", "lru-sized-evicting"])
def test_growth_past_many_doublings_then_shrinking_and_regrowth(config):
    make, maxsize, sizer = CONFIGS[config]
    cache, reference = make(), Reference(maxsize, sizer)
    keys = [FAMILIES[f](i) for i in range(2_000) for f in sorted(FAMILIES) if f not in QUADRATIC]
    for i, key in enumerate(keys):
        cache[key] = reference[key] = i
    _assert_same_state(cache, reference)
    survivors = keys[::997]
    for key in keys:
        if key not in survivors:
            assert cache.pop(key, None) is reference.pop(key, None)
    _assert_same_state(cache, reference)
    for key in keys[::5]:
        assert (key in cache) == (key in reference)
    for i, key in enumerate(reversed(keys[: len(keys) // 2])):
        cache[key] = reference[key] = -i
    _assert_same_state(cache, reference)


# -- iteration -------------------------------------------------------------------------------------


PAIRS = {
    "lru": lambda: (LRUCache(100), cachetools.LRUCache(100)),
    "ttl": lambda: (TTLCache(100, FOREVER), cachetools.TTLCache(100, FOREVER)),
    "lru-sized": lambda: (LRUCache(300, _size), cachetools.LRUCache(300, _size)),
}


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_views_keep_insertion_order_and_reading_values_makes_keys_recent(pair):
    """keys(), values() and items() visit in insertion order; reading values or items reads
    each key (as cachetools' caches do), so each becomes most recent in turn."""
    ours, theirs = PAIRS[pair]()
    for cache in (ours, theirs):
        cache.update((k, k.upper()) for k in "abcdefgh")
        cache["c"], cache.get("a")  # hits: the iteration order stays
        cache["b"] = "B2"  # an existing key keeps its place
        del cache["d"]
        cache["d"] = "D2"  # back at the end
        cache.pop("e")
        cache.setdefault("z", "Z")
    assert list(ours) == list(ours.keys()) == list(theirs) == [*"abcfghdz"]
    keys = ours.keys()
    assert len(keys) == len(theirs) and "b" in keys and "e" not in keys
    assert ("b", "B2") in ours.items() and ("b", "B") not in ours.items()
    assert ("b", "B2") in theirs.items()
    assert list(ours.items()) == list(theirs.items())
    assert list(ours.values()) == list(theirs.values())
    ours["a"], theirs["a"]
    drained = [[c.popitem() for _ in range(len(c))] for c in (ours, theirs)]
    assert drained[0] == drained[1]
    assert [k for k, _ in drained[0]] == [*"bcfghdza"]  # values() read them in this order


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_hits_while_iterating_visit_each_key_once_in_order(kind):
    cache = KINDS[kind](ROOMY)
    keys = [_mixed_key(i) for i in range(1_000)]
    for i, key in enumerate(keys):
        cache[key] = i
    seen = []
    for key in cache:
        seen.append(key)
        cache[key]
        cache.get(key)
        assert key in cache
    assert _ids(seen) == _ids(keys)
    assert _ids(cache._order()) == _ids(keys)  # each made most recent in turn
    for view in (cache.items(), cache.values()):
        assert len(list(view)) == len(keys)
    assert _ids(cache) == _ids(keys)


CHANGES = {  # (on the cache, on a dict)
    "add": (lambda c: c.__setitem__("new", 1), lambda d: d.__setitem__("new", 1)),
    "delete": (lambda c: c.__delitem__(c._order()[0]), lambda d: d.__delitem__(next(iter(d)))),
    "pop": (lambda c: c.pop(c._order()[-1]), lambda d: d.pop(next(iter(d)))),
    "popitem": (lambda c: c.popitem(), lambda d: d.popitem()),
    "setdefault": (lambda c: c.setdefault("new", 1), lambda d: d.setdefault("new", 1)),
    "clear": (lambda c: c.clear(), lambda d: d.clear()),
}
VIEWS = {
    "iter": iter,
    "keys": lambda c: iter(c.keys()),
    "values": lambda c: iter(c.values()),
    "items": lambda c: iter(c.items()),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("kind", ["lru", "lru-sized"])
def test_adding_or_removing_while_iterating_an_lru_cache_raises_as_a_dict(kind, change, view):
    cache = KINDS[kind](ROOMY)
    reference = {}
    for i in range(5):
        cache[i] = reference[i] = i
    on_cache, on_dict = CHANGES[change]
    for target, make_change in ((reference, on_dict), (cache, on_cache)):
        seen = []
        with pytest.raises(RuntimeError, match="changed size during iteration"):
            for item in VIEWS[view](target):
                seen.append(item)
                make_change(target)
        assert len(seen) == 1
    assert len(cache) == len(list(cache)) == len(cache._order()) == len(reference)
    assert cache.currsize == sum(map(cache.getsizeof, cache.values()))


def test_failed_or_empty_changes_while_iterating_an_lru_cache_do_not_stop_it():
    """As with a dict: only an added or removed key disturbs an iteration; calls that fail
    or change nothing, and new values for existing keys, do not."""
    cache = LRUCache(5, getsizeof=len)
    keys = ["a", "b", "c", "d"]
    for key in keys:
        cache[key] = "x"
    seen = []
    for key in cache:
        seen.append(key)
        assert cache.pop("absent", None) is None and cache.get("absent") is None
        with pytest.raises(KeyError):
            del cache["absent"]
        with pytest.raises(ValueError):
            cache["big"] = "x" * 6  # too large: nothing evicted, nothing added
        with pytest.raises(TypeError):
            cache[[key]] = "x"
        cache[key] = "y"  # the same size: nothing evicted
    assert seen == keys and dict(cache) == dict.fromkeys(keys, "y")


def test_ttl_iteration_skips_keys_that_expire_meanwhile():
    """A TTLCache iterates a snapshot of its keys, skipping each that has expired by the time
    it is reached (cachetools does the same)."""
    clock = FrozenClock()
    ours = TTLCache(10, 10, timer=clock)
    theirs = cachetools.TTLCache(10, 10, timer=clock)
    for i, key in enumerate("abcdef"):
        clock.now = i
        ours[key] = theirs[key] = key.upper()
    results = []
    for make_view in (iter, lambda c: iter(c.items()), lambda c: iter(c.values())):
        for cache in (ours, theirs):
            clock.now = 5
            seen = []
            for item in make_view(cache):
                seen.append(item)
                clock.now = 12.5  # a, b and c have expired now
            results.append(seen)
    assert results[0] == results[1] == ["a", "d", "e", "f"]
    assert results[2] == results[3] == [("a", "A"), ("d", "D"), ("e", "E"), ("f", "F")]
    assert results[4] == results[5] == ["A", "D", "E", "F"]
    clock.now = 12.9
    assert list(ours) == list(theirs) == ["d", "e", "f"] and len(ours) == 3


# -- re-entrancy and the garbage collector ---------------------------------------------------------


class Meddler:
    """Hashes as 11; once armed, its __hash__ or __eq__ uses the cache it is looked up in."""

    def __init__(self, cache, where):
        self.cache, self.where, self.armed = cache, where, False

    def __hash__(self):
        if self.armed and self.where == "hash":
            "absent" in self.cache  # noqa: B015 (the lookup is the point)
        return 11

    def __eq__(self, other):
        if self.armed and self.where == "eq":
            self.cache["intruder"] = 1
        return self is other


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("where", ["hash", "eq"])
def test_a_key_that_uses_its_cache_is_refused_and_the_cache_is_unchanged(where, kind, op):
    cache = KINDS[kind](ROOMY)
    stored = Meddler(cache, where)
    for key in (11, stored, "a", (1, 2)):
        cache[key] = "v"
    before = _state(cache)
    probe = Meddler(cache, where)
    probe.armed = True
    with pytest.raises(RuntimeError, match="re-entered"):
        OPS[op](cache, probe)
    assert _state(cache) == before and "intruder" not in cache and stored in cache
    _usable(cache)


class Holder:
    """Holds whatever it is given (a cache, to make a cycle)."""

    def __init__(self, held=None):
        self.held = held


CYCLES = ["value", "key", "itself", "nested"]


def _cycle_through(kind, through):
    """A cache of ``kind`` in a reference cycle ``through`` one of its entries, with an entry
    only it holds; weak references to the cache and to that entry."""
    cache = KINDS[kind](ROOMY)
    cache["plain"] = 1
    bystander = Holder()
    cache[Holder()] = bystander
    if through == "value":
        cache["k"] = Holder(cache)
    elif through == "key":
        cache[Holder(cache)] = "v"
    elif through == "itself":
        cache["me"] = cache
    else:
        cache[("t", 1)] = [{"inner": (cache,)}]
    return weakref.ref(cache), weakref.ref(bystander)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_cache_in_a_cycle_through_its_entries_is_collected(kind):
    refs = {through: _cycle_through(kind, through) for through in CYCLES}
    gc.collect()
    assert {through: [r() for r in pair] for through, pair in refs.items()} == {
        through: [None, None] for through in CYCLES
    }


def test_a_collection_keeps_every_entry_of_a_live_cache():
    caches = {kind: KINDS[kind](ROOMY) for kind in KINDS}
    loops = []
    for cache in caches.values():
        cache["me"] = cache
        for _ in range(100):
            key, value = Holder(), Holder()
            key.held, value.held = key, value  # cycles only the cache reaches
            cache[key] = value
            loops.append((cache, weakref.ref(key), weakref.ref(value)))
    del key, value
    gc.collect()
    for cache, key, value in loops:
        assert key() is not None and value() is not None and value().held is value()
        assert cache[key()] is value()
    assert all(c["me"] is c and len(c) == 101 for c in caches.values())


# -- threads ---------------------------------------------------------------------------------------


class SlowCollide:
    """A key whose __hash__ and __eq__ give other threads the GIL; hashes repeat every 16."""

    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __hash__(self):
        time.sleep(0)
        return self.n % 16

    def __eq__(self, other):
        time.sleep(0)
        return type(other) is SlowCollide and other.n == self.n


def _value_for(key):
    return ("value of", key)


def _hammer(cache, keys, seed, until):
    """Random calls on overlapping keys until ``until``; each value read must be its key's."""
    rng = random.Random(seed)
    while time.monotonic() < until:
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.4:
            cache[key] = _value_for(key)
        elif roll < 0.65:
            assert cache.get(key) in (None, _value_for(key))
        elif roll < 0.75:
            assert cache.pop(key, None) in (None, _value_for(key))
        elif roll < 0.8:
            with contextlib.suppress(KeyError):
                del cache[key]
        elif roll < 0.88:
            assert isinstance(key in cache, bool)
        elif roll < 0.92:
            try:
                popped, value = cache.popitem()
            except KeyError:
                continue
            assert value == _value_for(popped)
        else:
            assert cache.setdefault(key, _value_for(key)) == _value_for(key)


THREADED = {
    "lru": lambda: LRUCache(ROOMY),
    "lru-evicting": lambda: LRUCache(150),
    "ttl-sized-evicting": lambda: TTLCache(400, FOREVER, getsizeof=_size),
}


@pytest.mark.parametrize("kind", sorted(THREADED))
def test_threads_on_overlapping_keys_leave_the_cache_whole(kind):
    cache = THREADED[kind]()
    keys = [*range(150), *(f"s{i}" for i in range(150)), *(f"€{i}" for i in range(50))]
    keys += [float(i) for i in range(0, 150, 3)]  # the same keys as ints
    keys += [SlowCollide(i) for i in range(60)]
    until = time.monotonic() + 0.3
    assert in_threads(lambda seed: _hammer(cache, keys, seed, until)) == []
    held = list(cache)
    assert len(cache) == len(held) == len(cache._order()) == len(set(map(id, held)))
    assert set(map(id, held)) == set(map(id, cache._order()))
    assert all(cache[key] == _value_for(key) for key in held)
    assert cache.currsize == sum(map(cache.getsizeof, cache.values())) <= cache.maxsize
    unique = set(held)  # equal keys would fold into one
    assert len(unique) == len(held)
    assert [key in cache for key in keys] == [key in unique for key in keys]
