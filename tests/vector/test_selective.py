"""Selective filters: a mask letting few rows through is scanned as a list of those rows, and a
store filter of one field by $eq / $in takes its rows straight from the value index. Both must
give what the mask gives."""

import asyncio

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra.vector import CompressedMatrix, InMemoryVector, memory, top_k
from mastra.vector.filters import MetadataTable, validate_filter
from mastra.vector.kernels import METRICS, run_search, select_rows
from tests.vector.reference import assert_close_to_reference

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    n=st.integers(1, 300),
    d=st.sampled_from([1, 5, 16, 33, 70]),
    share=st.sampled_from([0.0, 0.01, 0.2, 0.9]),
    metric=st.sampled_from(list(METRICS)),
    threads=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_list_scans_exactly_what_the_mask_does(simd_level, n, d, share, metric, threads, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    q = rng.standard_normal((1, d)).astype(np.float32)
    mask = rng.random(n) < share
    allowed = int(mask.sum())
    if not allowed:
        return
    k = int(rng.integers(1, allowed + 1))
    common = dict(normalized=False, threads=threads, query_sq=(q * q).sum(1, dtype=np.float32))
    by_mask = run_search(X, 0, q, k, METRICS[metric], mask=mask.view(np.uint8), **common)
    by_list = run_search(
        X, 0, q, k, METRICS[metric], mask=None, rows=np.flatnonzero(mask), **common
    )
    np.testing.assert_array_equal(by_list[0], by_mask[0])
    np.testing.assert_array_equal(by_list[1], by_mask[1])


@pytest.mark.parametrize("queries", [1, 3])
def test_selection_picks_a_list_for_few_rows_per_query(queries):
    mask = np.zeros(1000, dtype=bool)
    mask[::100] = True  # 1%
    few = select_rows(mask, 1000, queries)
    assert few.mask is None and few.rows.tolist() == list(range(0, 1000, 100))
    assert few.allowed == 10
    mask[::2] = True  # 50%: one query still lists them, a batch of 3 keeps the mask
    wide = select_rows(mask, 1000, queries)
    assert (wide.rows is None) == (queries > 1) and wide.allowed == 500
    listed = select_rows(None, 1000, queries, rows=np.flatnonzero(mask))
    assert listed.allowed == 500 and (listed.mask is None) == (queries == 1)


def test_listed_rows_are_checked_before_the_scan():
    X = np.ones((10, 4), dtype=np.float32)
    q = np.ones((1, 4), dtype=np.float32)
    for rows, why in [
        ([3, 10], "inside"),
        ([-1, 2], "inside"),
        ([5, 2], "ascend"),
        ([2, 2], "ascend"),
    ]:
        with pytest.raises(ValueError, match=why):
            run_search(
                X,
                0,
                q,
                1,
                0,
                normalized=False,
                mask=None,
                threads=1,
                rows=np.array(rows, dtype=np.int64),
            )


@settings(max_examples=60, deadline=None)
@given(
    docs=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "t": st.one_of(
                    st.integers(0, 4),
                    st.lists(st.integers(0, 4), max_size=3),
                    st.sampled_from(["a", True, None, 1.0]),
                )
            },
        ),
        max_size=40,
    ),
    spec=st.sampled_from(
        [
            {"t": 1},
            {"t": 1.0},
            {"t": {"$eq": 2}},
            {"t": {"$in": [0, 3]}},
            {"t": {"$in": [1, 1.0, "a", True]}},
            {"t": {"$in": []}},
            {"t": [1, 2]},
            {"t": None},
        ]
    ),
)
def test_rows_from_the_value_index_equal_the_mask(docs, spec):
    table = MetadataTable()
    for doc in docs:
        table.append(doc)
    spec = validate_filter(spec)
    rows = table.matching_rows(spec)
    assert rows is not None
    assert rows.tolist() == np.flatnonzero(table.mask(spec)).tolist()
    if docs:  # the cached rows follow later writes
        table.replace(0, {"t": 1})
        table.move_last_to(len(docs) // 2)
        assert table.matching_rows(spec).tolist() == np.flatnonzero(table.mask(spec)).tolist()


def test_other_filters_are_left_to_the_mask():
    table = MetadataTable()
    table.append({"t": 1, "u": 2})
    for spec in ({"t": 1, "u": 2}, {"t": {"$gt": 0}}, {"$or": [{"t": 1}]}, {"t": {"$ne": 1}}):
        assert table.matching_rows(validate_filter(spec)) is None


@pytest.fixture
def offloaded(monkeypatch):
    """The functions InMemoryVector hands to a worker thread, in order."""
    handed = []
    real_to_thread = asyncio.to_thread

    async def to_thread(fn, *args):
        handed.append(fn)
        return await real_to_thread(fn, *args)

    monkeypatch.setattr(memory.asyncio, "to_thread", to_thread)
    return handed


async def test_a_selective_filter_on_a_large_index_stays_on_the_event_loop(offloaded):
    """The query used to go to a worker thread whenever the index was large, even when its
    filter left a few rows to score, and the hand-off cost more than the scan (the filtered
    benchmark spent most of its time waiting for the thread)."""
    n, d = 4000, 384  # n * d above the offload threshold
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, d)).astype(np.float32)
    async with InMemoryVector() as store:
        await store.create_index("big", d, "dot")
        await store.upsert("big", X, [{"tenant": i % 100} for i in range(n)])
        hits = await store.query("big", X[7], 5, filter={"tenant": 7})
        assert offloaded == []
        assert hits[0].id and all(h.metadata == {"tenant": 7} for h in hits)
        rows = np.flatnonzero(np.arange(n) % 100 == 7)
        best = rows[np.argsort(-(X[rows] @ X[7]), kind="stable")[:5]]
        assert [h.score for h in hits] == pytest.approx((X[best] @ X[7]).tolist(), rel=1e-5)
        await store.query("big", X[7], 5)  # unfiltered: the whole index, off the loop
        assert len(offloaded) == 1


async def test_a_query_for_many_results_builds_them_off_the_event_loop(offloaded):
    """A small index read whole (``k`` = its count, as the BM25 build reads it) is cheap to
    scan but costs ~3 us a result to build: at a million rows that was seconds on the loop."""
    n, d = 3000, 8  # n * d far below the offload threshold
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, d)).astype(np.float32)
    async with InMemoryVector() as store:
        await store.create_index("small", d, "dot")
        await store.upsert("small", X, [{"row": i} for i in range(n)], [f"r{i}" for i in range(n)])
        few = await store.query("small", X[1], 10)
        assert offloaded == []
        every = await store.query("small", X[1], n)
        assert len(offloaded) == 1
        order = np.argsort(-(X @ X[1]), kind="stable")
        assert [h.id for h in every] == [f"r{i}" for i in order]
        assert [h.metadata["row"] for h in every] == order.tolist()
        assert [h.id for h in few] == [h.id for h in every[:10]]


@pytest.mark.parametrize("dtype", ["float16", "int8"])
def test_compressed_scans_take_lists_too(int8_variant, dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3000, 45)).astype(np.float32)
    Q = rng.standard_normal((4, 45)).astype(np.float32)
    mask = rng.random(3000) < 0.02
    assert select_rows(mask, 3000, 4).rows is not None
    index = CompressedMatrix(X, dtype, "euclidean")
    ids, scores = index.top_k(Q, 7, mask=mask, candidates=3000)
    want = top_k(X, Q, 7, "euclidean", mask=mask)
    assert_close_to_reference(X, Q, 7, "euclidean", mask, ids, scores)
    np.testing.assert_array_equal(ids, want[0])
