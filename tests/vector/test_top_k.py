import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra import ValidationError
from mastra.vector import top_k
from tests.vector.reference import assert_close_to_reference, reference_top_k

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


@pytest.mark.parametrize("metric", METRICS)
def test_nan_rows_rank_last_in_every_kernel_and_metric(simd_level, metric):
    """One query (the scan kernel) and a batch (the blocked kernel): rows holding NaN come
    last in row order with a NaN score, and never push a valid row out of a short list."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((37, 5)).astype(np.float32)
    nan_rows = [0, 6, 13, 36]
    X[nan_rows, 2] = np.nan
    Q = rng.standard_normal((6, 5)).astype(np.float32)
    for queries in (Q[0], Q):
        ids, scores = (np.atleast_2d(a) for a in top_k(X, queries, 37, metric))
        assert (ids[:, -4:] == nan_rows).all()
        assert np.isnan(scores[:, -4:]).all() and not np.isnan(scores[:, :-4]).any()
        short, _ = top_k(X, queries, 5, metric)
        assert not np.isin(short, nan_rows).any()


def test_cosine_treats_underflowing_rows_as_zero_and_stays_within_one(simd_level):
    X = np.zeros((6, 40), dtype=np.float32)
    X[0, 0] = 1.0
    X[1] = 1e-20  # squared norm 4e-39: below float32's normal range
    X[2] = -1e-20
    X[3, :2] = [1e-20, -3e-20]
    X[4] = 3.0
    X[5, 0] = -1.0
    q = np.ones(40, dtype=np.float32)
    for queries in (q, np.tile(q, (5, 1))):
        ids, scores = (np.atleast_2d(a) for a in top_k(X, queries, 6, "cosine"))
        assert (ids == [4, 0, 1, 2, 3, 5]).all()
        assert (scores[:, 2:5] == 0.0).all()
        assert (np.abs(scores) <= 1.0).all()
        np.testing.assert_allclose(
            scores[:, [0, 1, 5]], [[1.0, 40**-0.5, -(40**-0.5)]] * len(ids), rtol=1e-6
        )
    # the same rule for a query: an underflowing one is a zero vector
    ids, scores = top_k(X, np.full(40, 1e-20, dtype=np.float32), 6, "cosine")
    assert ids.tolist() == [0, 1, 2, 3, 4, 5] and scores.tolist() == [0.0] * 6


def test_cosine_of_unit_rows_is_clamped_too(simd_level):
    """normalized=True skips the row norms; rounding still never leaves [-1, 1]."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((300, 33)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X *= np.float32(1.0001)  # "unit" rows a little long, as rounding can make them
    for queries in (X[7], X[:5]):
        _, scores = top_k(X, queries, 3, "cosine", normalized=True)
        assert (np.abs(scores) <= 1.0).all()
        assert (np.atleast_2d(scores)[:, 0] == 1.0).all()
