import asyncio

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra import ValidationError
from mastra.vector import CompressedMatrix, InMemoryVector, top_k
from tests.vector.reference import reference_keys


def recall_at_10(exact_ids, got_ids):
    return np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact_ids, got_ids, strict=True)])


@pytest.mark.parametrize("dtype", ["float16", "int8"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_recall_and_exact_scores(int8_variant, dtype, metric):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((4000, 97)).astype(np.float32)
    Q = rng.standard_normal((12, 97)).astype(np.float32)
    index = CompressedMatrix(X, dtype, metric)
    exact_ids, _exact_scores = top_k(X, Q, 10, metric)
    ids, scores = index.top_k(Q, 10)
    assert recall_at_10(exact_ids, ids) >= 0.99
    # the returned scores are the exact float32 scores of the returned rows
    _, ref = reference_keys(X, Q, metric)
    for q in range(len(Q)):
        np.testing.assert_allclose(scores[q], ref[q, ids[q]], rtol=1e-4, atol=1e-4)
    assert index.nbytes == X.nbytes // (2 if dtype == "float16" else 4)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 300),
    d=st.integers(1, 40),
    k=st.integers(1, 320),
    seed=st.integers(0, 99),
    dtype=st.sampled_from(["float16", "int8"]),
    masked=st.booleans(),
)
def test_shapes_masks_and_full_candidate_sets_are_exact(int8_variant, n, d, k, seed, dtype, masked):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    q = rng.standard_normal(d).astype(np.float32)
    mask = rng.random(n) < 0.5 if masked else None
    index = CompressedMatrix(X, dtype, "dot")
    # with every allowed row as a candidate the re-rank is exhaustive: equal to exact top-k
    ids, scores = index.top_k(q, k, mask=mask, candidates=n)
    want_ids, want_scores = top_k(X, q, k, "dot", mask=mask)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-6)


def test_int8_handles_constant_dimensions_and_zero_query():
    X = np.ones((20, 5), dtype=np.float32)
    X[:, 0] = np.arange(20)
    index = CompressedMatrix(X, "int8", "euclidean")
    ids, _ = index.top_k(X[13], 1)
    assert ids.tolist() == [13]
    ids, scores = CompressedMatrix(X, "int8", "cosine").top_k(np.zeros(5), 3)
    assert ids.tolist() == [0, 1, 2] and scores.tolist() == [0.0, 0.0, 0.0]


def test_validation():
    with pytest.raises(ValidationError, match="unknown storage dtype 'int4'"):
        CompressedMatrix(np.ones((2, 2)), "int4")
    with pytest.raises(ValidationError, match="use top_k for float32"):
        CompressedMatrix(np.ones((2, 2)), "float32")
    with pytest.raises(ValidationError, match="NaN or infinity"):
        CompressedMatrix(np.array([[1.0, np.nan]]), "int8")
    with pytest.raises(ValidationError, match="dimension 3"):
        CompressedMatrix(np.ones((2, 2)), "int8").top_k(np.ones(3), 1)


@pytest.mark.parametrize("metric", ["dot", "euclidean"])
def test_float16_rejects_values_beyond_its_range_like_the_store(metric):
    """Past ±65504 float16 holds infinity, which the scan would rank as the nearest row."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    X[17, 3] = -1e5
    with pytest.raises(ValidationError, match=r"beyond ±65504.*range is -65504 to 65504") as got:
        CompressedMatrix(X, "float16", metric)
    store = InMemoryVector()
    asyncio.run(store.create_index("half", 8, metric, dtype="float16"))
    with pytest.raises(ValidationError) as stored:
        asyncio.run(store.upsert("half", X))
    assert str(got.value).split(" hold ")[1] == str(stored.value).split(" hold ")[1]
    X[17, 3] = 65504.0  # the largest float16 is fine
    index = CompressedMatrix(X, "float16", metric)
    query, want = (X[5], 5) if metric == "euclidean" else (np.eye(8, dtype=np.float32)[3], 17)
    assert index.top_k(query, 1, candidates=1)[0].tolist() == [want]


def test_cosine_scans_unit_rows_so_float16_takes_any_magnitude():
    X = np.array([[1e6, 0.0], [0.0, 1e-3], [-3e5, 1.0]], dtype=np.float32)
    ids, scores = CompressedMatrix(X, "float16", "cosine").top_k(np.array([1.0, 0.0]), 3)
    assert ids.tolist() == [0, 1, 2]
    np.testing.assert_allclose(scores, [1.0, 0.0, -1.0], atol=1e-5)
