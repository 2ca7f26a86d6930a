"""The fast paths of the upsert path give what the general paths give: the metadata copy and
its JSON (``metadata_copy``), the flattened view the filters read (``flatten``, ``flat_view``),
and what SQLiteVector writes from them. Compared type-aware (``True == 1`` in Python)."""

import collections
import math
import types
from collections.abc import Mapping

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra import ValidationError
from mastra.vector import InMemoryVector, SQLiteVector
from mastra.vector.base import metadata_copy, metadata_json
from mastra.vector.filters import MetadataTable, flat_view, flatten


def typed(value):
    """A value with every type spelled out, order kept: equal only when the JSON types are."""
    if isinstance(value, Mapping):
        return (type(value).__name__, [(type(k).__name__, k, typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


class Flag(int):
    """An int subclass: JSON turns it into a plain int."""


class Name(str):
    """A str subclass: JSON turns it into a plain str."""


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond 64 bits: refused
    st.floats(allow_nan=True, allow_infinity=True),  # NaN, infinity: refused
    st.text(max_size=8),
    st.sampled_from(["\ud800", "caf\u00e9", "\x00", "null"]),  # a lone surrogate: refused
    st.builds(Flag, st.integers(-5, 5)),
    st.builds(Name, st.text(max_size=4)),
)
keys = st.one_of(st.text(max_size=6), st.builds(Name, st.text(max_size=3)))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(keys, inner, max_size=3),
    ),
    max_leaves=8,
)
# values where the fast path must step aside or stay exact, each put into a flat object
SPECIAL = [
    math.nan,
    math.inf,
    -math.inf,
    2**64,
    -(2**63) - 1,
    2**64 - 1,
    -(2**63),
    "\ud800",
    Flag(1),
    Name("x"),
    True,
    False,
    1,
    0,
    1.0,
    -0.0,
    1e308,
    5e-324,
    None,
    "",
]
flat = st.dictionaries(keys, scalars, max_size=6)
metadata = st.one_of(
    flat,  # the fast path's own ground
    st.builds(lambda d, k, v: {**d, k: v}, flat, st.text(max_size=3), st.sampled_from(SPECIAL)),
    st.dictionaries(keys, values, max_size=5),
    st.dictionaries(st.text(max_size=4), values, max_size=3).map(collections.OrderedDict),
)


def general_copy(where, value):
    """What the upsert path did before its fast path: encode, then decode the copy."""
    encoded = metadata_json(where, value)
    return orjson.loads(encoded), encoded


def outcome(fn, value):
    try:
        copy, encoded = fn("metadata[3]", value)
    except ValidationError as exc:
        return ("error", str(exc))
    return ("ok", typed(copy), encoded)


@settings(max_examples=400, deadline=None)
@given(metadata)
def test_metadata_copy_equals_the_general_path(value):
    assert outcome(metadata_copy, value) == outcome(general_copy, value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1, "b": float("nan")}, r"metadata\[3\]\.b is nan; numbers must be finite"),
        ({"a": -math.inf}, r"metadata\[3\]\.a is -inf; numbers must be finite"),
        ({"big": 2**64}, r"metadata\[3\] is not JSON-serialisable"),
        ({"s": "\ud800"}, r"metadata\[3\] is not JSON-serialisable"),
        ({1: "x"}, r"metadata\[3\] is not JSON-serialisable"),
        (["not", "a", "dict"], r"metadata\[3\] must be an object \(dict\), got list"),
    ],
)
def test_metadata_copy_refuses_what_json_cannot_hold(value, message):
    with pytest.raises(ValidationError, match=message):
        metadata_copy("metadata[3]", value)


def test_metadata_copy_is_cut_off_from_the_caller():
    flat = {"a": 1, "b": "x", "c": True, "d": 1.5, "e": None}
    nested = {"a": {"b": [1, 2]}, "c": [True]}
    flat_copy, _ = metadata_copy("m", flat)
    nested_copy, _ = metadata_copy("m", nested)
    flat["a"] = 2
    nested["a"]["b"].append(3)
    nested["c"][0] = False
    assert flat_copy == {"a": 1, "b": "x", "c": True, "d": 1.5, "e": None}
    assert typed(nested_copy) == typed({"a": {"b": [1, 2]}, "c": [True]})
    assert flat_copy is not flat


def reference_flatten(value, prefix=""):
    """Every path of a metadata object, by the ABC check alone (the general path)."""
    flat = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        flat[path] = item
        if isinstance(item, Mapping):
            flat.update(reference_flatten(item, path + "."))
    return flat


mappings = st.one_of(
    st.dictionaries(keys, values, max_size=3),
    st.dictionaries(st.text(max_size=3), values, max_size=3).map(types.MappingProxyType),
    st.dictionaries(st.text(max_size=3), values, max_size=3).map(collections.OrderedDict),
)
nested_metadata = st.dictionaries(keys, st.one_of(values, mappings), max_size=5)


@settings(max_examples=400, deadline=None)
@given(nested_metadata)
def test_flatten_and_flat_view_equal_the_general_path(value):
    expected = typed(reference_flatten(value))
    assert typed(flatten(value)) == expected
    view = flat_view(value)
    assert typed(view) == expected
    if view is value:  # handed out as it is only when it has nothing to flatten
        assert all(type(k) is str and not isinstance(v, Mapping) for k, v in value.items())


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2), st.text(max_size=3)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text("ab.", max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.dictionaries(st.text("ab.", max_size=2), json_values, max_size=4), max_size=6),
    st.data(),
)
def test_metadata_table_filters_the_same_on_flat_views(rows, data):
    """Filters on a table built through flat_view match rows as the flattened rows say."""
    table = MetadataTable()
    table.extend(rows[:2])
    for row in rows[2:]:
        table.append(row)
    flats = [reference_flatten(r) for r in rows]
    paths = sorted({p for f in flats for p in f if p})
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    got = np.flatnonzero(table.mask({path: {"$exists": True}})).tolist()
    assert got == [i for i, f in enumerate(flats) if path in f]
    value = data.draw(st.sampled_from([f[path] for f in flats if path in f]))
    equal = np.flatnonzero(table.mask({path: {"$eq": value}})).tolist()
    assert set(equal) >= {
        i for i, f in enumerate(flats) if path in f and typed(f[path]) == typed(value)
    }


async def test_sqlite_writes_the_json_it_checked(tmp_path):
    """Rows written through the fast path (flat) and the general one (nested, subclasses) read
    back from the file as the in-memory copy holds them."""
    rows = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    given_metadata = [
        {"text": "caf\u00e9", "n": 1, "ok": True, "x": 0.1, "none": None},
        {"nested": {"a": [1, 2.5, False]}, "t": (1, "x")},
        collections.OrderedDict(flag=Flag(1), name=Name("n")),
        {},
    ]
    async with SQLiteVector(tmp_path / "v.db") as store:
        await store.create_index("docs", 3)
        await store.upsert("docs", rows, given_metadata, ["a", "b", "c", "d"])
        before = {r.id: r for r in await store.query("docs", rows[0], 4, include_vector=True)}
    async with SQLiteVector(tmp_path / "v.db") as reopened:
        after = {r.id: r for r in await reopened.query("docs", rows[0], 4, include_vector=True)}
    expected = [orjson.loads(orjson.dumps(m)) for m in given_metadata]
    for id_, meta, row in zip("abcd", expected, rows, strict=True):
        assert typed(before[id_].metadata) == typed(after[id_].metadata) == typed(meta)
        assert before[id_].vector == after[id_].vector == row.tolist()


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_a_bad_row_leaves_the_store_as_it_was(tmp_path, store_kind):
    store = InMemoryVector() if store_kind == "memory" else SQLiteVector(tmp_path / "v.db")
    async with store:
        await store.create_index("docs", 2)
        await store.upsert("docs", [[1, 0]], [{"n": 0}], ["kept"])
        for bad in ({"n": float("nan")}, {"n": 2**64}, {"n": "\udc00"}):
            with pytest.raises(ValidationError):
                await store.upsert("docs", [[0, 1], [1, 1]], [{"n": 1}, bad], ["new", "kept"])
        stats = await store.describe_index("docs")
        (only,) = await store.query("docs", [1, 0], 5)
    assert stats.count == 1
    assert (only.id, only.metadata) == ("kept", {"n": 0})


async def test_upsert_mixing_new_and_known_ids_keeps_each_row_with_its_id():
    rng = np.random.default_rng(9)
    async with InMemoryVector() as store:
        await store.create_index("docs", 4, "dot")
        expected = {}
        for round_ in range(5):
            ids = [f"d{i}" for i in rng.choice(40, size=12, replace=False)]
            rows = rng.standard_normal((12, 4)).astype(np.float32)
            await store.upsert("docs", rows, [{"id": i, "r": round_} for i in ids], ids)
            expected.update({i: (row.tolist(), round_) for i, row in zip(ids, rows, strict=True)})
            await store.delete_vector("docs", ids[0])
            del expected[ids[0]]
        found = await store.query("docs", [1, 1, 1, 1], 100, include_vector=True)
    assert {r.id: (r.vector, r.metadata["r"]) for r in found} == expected
    assert all(r.metadata["id"] == r.id for r in found)


@pytest.mark.parametrize("sizes", [[1], [63, 64, 65], [130, 7, 200], [0, 128, 1]])
async def test_sqlite_writes_every_row_of_batches_of_any_size(tmp_path, sizes):
    """Upserts go to the file as INSERTs of several rows each (and one for the rest): every
    row arrives, in order, and a later batch overwrites the ids it repeats."""
    rng = np.random.default_rng(len(sizes))
    expected = {}
    async with SQLiteVector(tmp_path / "v.db") as store:
        await store.create_index("docs", 3)
        for round_, size in enumerate(sizes):
            ids = [f"d{i}" for i in rng.choice(300, size=size, replace=False)]
            rows = rng.standard_normal((size, 3)).astype(np.float32)
            if size:
                await store.upsert("docs", rows, [{"r": round_, "id": i} for i in ids], ids)
            expected.update({i: (row.tolist(), round_) for i, row in zip(ids, rows, strict=True)})
    async with SQLiteVector(tmp_path / "v.db") as reopened:
        count = (await reopened.describe_index("docs")).count
        found = await reopened.query("docs", [1, 0, 0], max(count, 1), include_vector=True)
    assert count == len(expected)
    assert {r.id: (r.vector, r.metadata["r"]) for r in found} == expected
    assert all(r.metadata["id"] == r.id for r in found)
