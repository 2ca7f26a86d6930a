"""Bounded fuzzing against the plain references in tests/vector/reference.py.

Kernels: random matrices with NaN, zero, tiny and float16-edge rows, odd dimensions, k > n and
masks, for top_k (every metric, every SIMD level here) and CompressedMatrix. Stores: random
upserts, updates, deletes and filtered queries on InMemoryVector and SQLiteVector, and a
smaller fixed-seed run on PgVector, against a pure-Python store.
"""

import asyncio
import contextlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra.errors import NotFoundError, ValidationError
from mastra.vector import CompressedMatrix, InMemoryVector, SQLiteVector, top_k
from mastra.vector.pgvector import PgVector
from tests.vector.reference import ReferenceStore, assert_close_to_reference, reference_keys

METRICS = ["dot", "cosine", "euclidean"]
FLOAT16_MAX = 65504.0
KERNEL_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def matrices(draw, *, nan=True):
    """(matrix, queries, k, metric, mask) with special rows mixed in."""
    n = draw(st.integers(0, 120))
    d = draw(st.sampled_from([1, 3, 7, 15, 17, 31, 33, 47]))  # odd: SIMD tails everywhere
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    matrix = rng.standard_normal((n, d)).astype(np.float32)
    specials = ["zero", "tiny", "float16 edge"] + (["nan"] if nan else [])
    for kind in draw(st.lists(st.sampled_from(specials), max_size=4, unique=True)):
        rows = rng.integers(0, n, max(1, n // 8)) if n else []
        if kind == "zero":
            matrix[rows] = 0.0
        elif kind == "tiny":  # squared norm far below float32's normal range
            matrix[rows] = rng.standard_normal((len(rows), d)) * 1e-23
        elif kind == "float16 edge":
            matrix[rows, rng.integers(0, d)] = rng.choice([-1, 1]) * FLOAT16_MAX
        else:
            matrix[rows, rng.integers(0, d)] = np.nan
    queries = rng.standard_normal((draw(st.integers(1, 6)), d)).astype(np.float32)
    if draw(st.booleans()):
        queries[0] = 0.0
    k = draw(st.integers(1, n + 3))  # often more than the rows allowed
    mask = rng.random(n) < draw(st.sampled_from([0.1, 0.6])) if draw(st.booleans()) else None
    return matrix, queries, k, draw(st.sampled_from(METRICS)), mask


@KERNEL_SETTINGS
@given(problem=matrices(), threads=st.sampled_from([1, 2]))
def test_top_k_against_numpy(simd_level, problem, threads):
    matrix, queries, k, metric, mask = problem
    ids, scores = top_k(matrix, queries, k, metric, mask=mask, threads=threads)
    assert_close_to_reference(matrix, queries, k, metric, mask, ids, scores)
    one_ids, one_scores = top_k(matrix, queries[0], k, metric, mask=mask)
    assert_close_to_reference(matrix, queries[:1], k, metric, mask, one_ids[None], one_scores[None])


@KERNEL_SETTINGS
@given(problem=matrices(nan=False), dtype=st.sampled_from(["float16", "int8"]))
def test_compressed_matrix_against_numpy(int8_variant, problem, dtype):
    matrix, queries, k, metric, mask = problem
    index = CompressedMatrix(matrix, dtype, metric)
    n = len(matrix)
    # every allowed row a candidate: exhaustive, so exactly top_k's answers, one query at a
    # time, or all at once (the batch kernel; a batch of unit queries may differ in the last
    # bit from one alone, see unit_rows)
    batch_ids, batch_scores = index.top_k(queries, k, mask=mask, candidates=max(n, 1))
    for i, query in enumerate(queries):
        ids, scores = index.top_k(query, k, mask=mask, candidates=max(n, 1))
        want_ids, want_scores = top_k(matrix, query, k, metric, mask=mask)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_array_equal(scores, want_scores)
        np.testing.assert_array_equal(batch_ids[i], want_ids)
        np.testing.assert_allclose(batch_scores[i], want_scores, rtol=1e-6, atol=1e-7)
    # default candidates: a shortlist, but every returned score is that row's exact score
    ids, scores = index.top_k(queries, k, mask=mask)
    assert ids.shape == scores.shape == (len(queries), len(want_ids))
    _, ref = reference_keys(matrix, queries, metric)
    scale = 1e-4 * (1 + np.abs(ref).max(initial=0))
    for q, row in enumerate(ids):
        assert len(set(row.tolist())) == len(row) and (mask is None or mask[row].all())
        np.testing.assert_allclose(scores[q], ref[q, row], atol=scale, rtol=1e-4)


@KERNEL_SETTINGS
@given(problem=matrices(nan=False), scale=st.sampled_from([1.0001, 2.0, 1e6]))
def test_float16_refuses_what_it_cannot_hold(problem, scale):
    matrix, _, _, metric, _ = problem
    if not matrix.size:
        return
    matrix = matrix.copy()
    matrix.flat[0] = FLOAT16_MAX * scale
    if metric == "cosine":  # unit rows always fit
        CompressedMatrix(matrix, "float16", metric)
    else:
        with pytest.raises(ValidationError, match="float16 cannot store"):
            CompressedMatrix(matrix, "float16", metric)
    matrix.flat[0] = np.nan
    with pytest.raises(ValidationError, match="NaN or infinity"):
        CompressedMatrix(matrix, "float16", metric)


# -- stores ------------------------------------------------------------------------------------

D = 5
IDS = [f"id{i}" for i in range(12)]
SCALARS = st.one_of(
    st.integers(0, 4), st.sampled_from([1.5, 2.0, -0.5]), st.sampled_from("abcd"), st.booleans()
)
VALUES = st.one_of(
    SCALARS,
    st.none(),
    st.lists(st.one_of(st.integers(0, 4), st.sampled_from("abcd")), max_size=3),
)
METADATA = st.fixed_dictionaries(
    {"n": VALUES},
    optional={
        "s": VALUES,
        "tags": VALUES,
        "nested": st.fixed_dictionaries({}, optional={"x": SCALARS, "y": VALUES}),
    },
)
PATHS = st.sampled_from(["n", "n", "s", "tags", "nested", "nested.x", "nested.y", "absent"])


def conditions():
    ordered = st.sampled_from(["$gt", "$gte", "$lt", "$lte"])
    operand = st.one_of(st.integers(0, 4), st.sampled_from([1.5, "b", "c"]))
    single = st.one_of(
        VALUES,
        st.tuples(st.sampled_from(["$eq", "$ne"]), VALUES).map(lambda t: {t[0]: t[1]}),
        st.tuples(ordered, operand).map(lambda t: {t[0]: t[1]}),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(VALUES, max_size=3)).map(
            lambda t: {t[0]: t[1]}
        ),
        st.booleans().map(lambda b: {"$exists": b}),
    )
    negated = st.tuples(ordered, operand).map(lambda t: {"$not": {t[0]: t[1]}})
    return st.one_of(single, negated)


FILTERS = st.recursive(
    st.dictionaries(PATHS, conditions(), min_size=1, max_size=2),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"$and": parts}),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"$or": parts}),
        inner.map(lambda part: {"$not": part}),
    ),
    max_leaves=5,
)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("upsert"),
            st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True),
            st.lists(METADATA, min_size=4, max_size=4),
        ),
        st.tuples(st.just("update"), st.sampled_from(IDS), st.one_of(st.none(), METADATA)),
        st.tuples(st.just("delete"), st.sampled_from(IDS)),
        st.tuples(st.just("query"), st.integers(1, 14), st.one_of(st.none(), FILTERS)),
        st.tuples(st.just("bad metadata"), st.sampled_from(IDS)),
    ),
    min_size=1,
    max_size=25,
)


async def replay(store, metric, dtype, operations, seed):
    """Apply the operations to the store and to the reference; compare after each one."""
    rng = np.random.default_rng(seed)
    reference = ReferenceStore(metric)
    options = {} if dtype == "float32" else {"dtype": dtype}
    await store.create_index("fuzz", D, metric, **options)
    for op, *args in operations:
        vectors = rng.standard_normal((4, D)).astype(np.float32)
        if op == "upsert":
            ids, metas = args[0], args[1][: len(args[0])]
            await store.upsert("fuzz", vectors[: len(ids)], metas, ids)
            reference.upsert(vectors[: len(ids)], metas, ids)
        elif op == "update":
            await _update(store, reference, args[0], vectors[0], args[1])
        elif op == "delete":
            with _missing_unless(args[0] in reference.rows):
                await store.delete_vector("fuzz", args[0])
            reference.rows.pop(args[0], None)
        elif op == "bad metadata":
            with pytest.raises(ValidationError, match=r"metadata\[0\]\.v is nan"):
                await store.upsert("fuzz", vectors[:1], [{"v": float("nan")}], [args[0]])
        else:
            for k in (args[0], len(IDS)):  # the drawn k, and every matching row
                results = await store.query("fuzz", vectors[0], k, args[1])
                reference.check_query(results, vectors[0], k, args[1])
    assert (await store.describe_index("fuzz")).count == len(reference.rows)


async def _update(store, reference, id_, vector, metadata):
    with _missing_unless(id_ in reference.rows):
        await store.update_vector("fuzz", id_, vector=vector, metadata=metadata)
    if id_ in reference.rows:
        old_meta = reference.rows[id_][1]
        reference.upsert([vector], [old_meta if metadata is None else metadata], [id_])


def _missing_unless(present):
    return contextlib.nullcontext() if present else pytest.raises(NotFoundError)


def store_settings(examples):
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


STORE_CASE = {
    "metric": st.sampled_from(METRICS),
    "operations": OPERATIONS,
    "seed": st.integers(0, 2**16),
}


@store_settings(150)
@given(dtype=st.sampled_from(["float32", "float16", "int8"]), **STORE_CASE)
def test_in_memory_store_against_the_reference(metric, dtype, operations, seed):
    async def run():
        async with InMemoryVector() as store:
            await replay(store, metric, dtype, operations, seed)

    asyncio.run(run())


@store_settings(40)
@given(dtype=st.sampled_from(["float32", "int8"]), **STORE_CASE)
def test_sqlite_store_against_the_reference(metric, dtype, operations, seed):
    async def run():
        with tempfile.TemporaryDirectory() as folder:
            async with SQLiteVector(Path(folder) / "fuzz.db") as store:
                await replay(store, metric, dtype, operations, seed)

    asyncio.run(run())


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(**STORE_CASE)
def test_pgvector_store_against_the_reference(postgres_dsn, metric, operations, seed):
    async def run():
        async with PgVector(postgres_dsn) as store:
            try:
                await replay(store, metric, "float32", operations, seed)
            finally:
                await store.delete_index("fuzz")

    asyncio.run(run())
