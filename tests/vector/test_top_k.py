import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra import ValidationError
from mastra.vector import top_k
from tests.vector.reference import reference_keys, reference_top_k

METRICS = ["dot", "cosine", "euclidean"]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def problems(draw, exact=False):
    """A matrix, queries, k, metric, mask and thread count, made by NumPy from a drawn seed
    (so sizes can cross the kernels' block and thread boundaries) with drawn special rows.
    exact=True uses small integers, where float32 arithmetic is exact, so results must equal
    the reference bit for bit, ties included."""
    n = draw(st.integers(0, 1200))
    d = draw(st.integers(1, 70))
    m = draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if exact:
        matrix = rng.integers(-3, 4, (n, d)).astype(np.float32)
        queries = rng.integers(-3, 4, (m, d)).astype(np.float32)
    else:
        matrix = rng.standard_normal((n, d)) * draw(st.sampled_from([1e-3, 1.0, 50.0]))
        matrix = matrix.astype(np.float32)
        queries = rng.standard_normal((m, d)).astype(np.float32)
    if n and draw(st.booleans()):  # zero rows and duplicated rows (ties)
        matrix[rng.integers(0, n, max(1, n // 10))] = 0.0
        matrix[rng.integers(0, n, max(1, n // 10))] = matrix[rng.integers(0, n)]
    if draw(st.booleans()):
        queries[0] = 0.0
    k = draw(st.integers(1, n + 5))
    metric = draw(st.sampled_from(["dot", "euclidean"] if exact else METRICS))
    mask = (
        rng.random(n) < draw(st.sampled_from([0.0, 0.01, 0.5, 1.0]))
        if draw(st.booleans())
        else None
    )
    threads = draw(st.sampled_from([1, 2, 3]))
    return matrix, queries, k, metric, mask, threads


def assert_close_to_reference(matrix, queries, k, metric, mask, ids, scores):
    keys, ref_scores = reference_keys(matrix, queries, metric)
    allowed = matrix.shape[0] if mask is None else int(mask.sum())
    assert ids.shape == scores.shape == (queries.shape[0], min(k, allowed))
    scale = 1e-4 * (1 + np.abs(ref_scores).max(initial=0))
    for q in range(queries.shape[0]):
        got = ids[q]
        assert len(set(got.tolist())) == len(got)
        if mask is not None:
            assert mask[got].all()
        np.testing.assert_allclose(scores[q], ref_scores[q, got], atol=scale, rtol=1e-4)
        if len(got):
            candidates = np.arange(matrix.shape[0]) if mask is None else np.flatnonzero(mask)
            kth = keys[q, got].min()
            # nothing left out is clearly better than the worst returned
            left_out = np.setdiff1d(candidates, got)
            assert (keys[q, left_out] <= kth + 2 * scale).all()
            # best first
            order_keys = keys[q, got]
            assert (np.diff(order_keys) <= 2 * scale).all()


@SETTINGS
@given(problem=problems())
def test_matches_numpy_reference(simd_level, problem):
    matrix, queries, k, metric, mask, threads = problem
    ids, scores = top_k(matrix, queries, k, metric, mask=mask, threads=threads)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert_close_to_reference(matrix, queries, k, metric, mask, ids, scores)


@SETTINGS
@given(problem=problems(exact=True))
def test_exact_inputs_equal_the_reference_including_ties(simd_level, problem):
    matrix, queries, k, metric, mask, threads = problem
    want_ids, want_scores = reference_top_k(matrix, queries, k, metric, mask)
    for batch in (queries, None):
        if batch is None:  # one query at a time through the single-query path
            got = [top_k(matrix, q, k, metric, mask=mask, threads=threads) for q in queries]
            ids = np.stack([g[0] for g in got])
            scores = np.stack([g[1] for g in got])
        else:
            ids, scores = top_k(matrix, batch, k, metric, mask=mask, threads=threads)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(problem=problems())
def test_batch_equals_single_queries(simd_level, problem):
    matrix, queries, k, metric, mask, threads = problem
    _ids, scores = top_k(matrix, queries, k, metric, mask=mask, threads=threads)
    for q in range(len(queries)):
        _one_ids, one_scores = top_k(matrix, queries[q], k, metric, mask=mask, threads=1)
        np.testing.assert_allclose(one_scores, scores[q], rtol=1e-4, atol=1e-4)


def test_normalized_rows_skip_norms_but_agree():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 33)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    q = rng.standard_normal(33).astype(np.float32) * 7
    a = top_k(X, q, 10, "cosine")
    b = top_k(X, q, 10, "cosine", normalized=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5)


def test_zero_vectors_have_cosine_zero_never_nan(simd_level):
    X = np.zeros((5, 8), dtype=np.float32)
    X[3, 0] = 1.0
    ids, scores = top_k(X, np.eye(8, dtype=np.float32)[0], 5, "cosine")
    assert ids.tolist() == [3, 0, 1, 2, 4]
    assert scores.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    ids, scores = top_k(X, np.zeros(8, dtype=np.float32), 3, "cosine")
    assert ids.tolist() == [0, 1, 2] and not np.isnan(scores).any()


def test_rows_with_nan_rank_last_in_row_order(simd_level):
    X = np.ones((4, 3), dtype=np.float32)
    X[0, 1] = np.nan
    X[2, 2] = np.nan
    ids, scores = top_k(X, np.ones(3, dtype=np.float32), 4, "dot")
    assert ids.tolist() == [1, 3, 0, 2]
    assert np.isnan(scores[2:]).all()


def test_edge_shapes():
    empty = np.empty((0, 4), dtype=np.float32)
    ids, scores = top_k(empty, np.ones(4), 3)
    assert ids.shape == (0,) and scores.shape == (0,)
    ids, _ = top_k(np.ones((3, 4)), np.ones((0, 4)), 2)
    assert ids.shape == (0, 2)
    ids, _ = top_k(np.ones((3, 4)), np.ones(4), 10)
    assert ids.tolist() == [0, 1, 2]  # k > n returns n, ties by lower id
    ids, _ = top_k(np.ones((3, 4)), np.ones(4), 2, mask=np.zeros(3, dtype=bool))
    assert ids.shape == (0,)


def test_conversions_and_layouts():
    X64 = np.random.default_rng(0).standard_normal((50, 6))
    q = X64[7]
    a = top_k(X64, q, 3, "euclidean")
    b = top_k(np.asfortranarray(X64.astype(np.float32)), q, 3, "euclidean")
    c = top_k(X64.astype(np.int64), q.astype(np.int32), 3, "dot")
    assert a[0][0] == 7 and a[0].tolist() == b[0].tolist() and a[1][0] == pytest.approx(0, abs=1e-5)
    assert c[0].shape == (3,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"matrix": np.ones((3, 4), dtype=complex)}, "dtype complex128; expected float32"),
        ({"matrix": np.array([["a"]])}, "dtype <U1"),
        ({"matrix": np.ones(4)}, r"shape \(4,\); expected a 2-D array"),
        ({"queries": np.ones((2, 2, 4))}, "expected a 1-D or 2-D array"),
        ({"queries": np.ones(5)}, "dimension 5; the matrix has dimension 4"),
        ({"queries": np.array([1, np.nan, 0, 0])}, "NaN or infinity"),
        ({"queries": np.array([1, np.inf, 0, 0])}, "NaN or infinity"),
        ({"k": 0}, "k must be a positive integer, got 0"),
        ({"k": True}, "positive integer"),
        ({"k": 2.5}, "positive integer"),
        ({"metric": "manhattan"}, "unknown metric 'manhattan'; expected one of dot, cosine"),
        ({"mask": np.ones(3, dtype=np.uint8)}, r"mask has dtype uint8 .* expected bool"),
        ({"mask": np.ones(2, dtype=bool)}, r"expected bool of shape \(3,\)"),
        ({"threads": 0}, "threads must be a positive integer"),
    ],
)
def test_bad_input_is_a_validation_error(kwargs, message):
    args = {
        "matrix": np.ones((3, 4), dtype=np.float32),
        "queries": np.ones(4),
        "k": 2,
        "metric": "cosine",
        "mask": None,
        "threads": None,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        top_k(
            args["matrix"],
            args["queries"],
            args["k"],
            args["metric"],
            mask=args["mask"],
            threads=args["threads"],
        )


def test_mask_is_not_copied_and_matrix_is_untouched():
    X = np.random.default_rng(1).standard_normal((64, 9)).astype(np.float32)
    before = X.copy()
    mask = np.zeros(64, dtype=bool)
    mask[[5, 40]] = True
    ids, _ = top_k(X, X[40], 5, "cosine", mask=mask)
    assert ids.tolist() == [40, 5]
    np.testing.assert_array_equal(X, before)


def test_many_threads_and_chunk_splits_agree():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((1031, 17)).astype(np.float32)
    Q = rng.standard_normal((5, 17)).astype(np.float32)
    base = top_k(X, Q, 25, "dot", threads=1)
    for threads in (2, 3, 7, 64, 2000):
        got = top_k(X, Q, 25, "dot", threads=threads)
        np.testing.assert_array_equal(got[0], base[0])
