"""The int8 integer dot-product kernels (every variant this CPU runs: plain C, AVX2 vpmaddubsw,
AVX-VNNI, AVX-512 BW, AVX-512 VNNI, NEON, SDOT) against a NumPy int64 reference, exactly: with a
query scale of 1 and no offset, a kernel's score is the integer dot product itself. One query
streams rows; a batch repacks them 16 at a time, so both paths are checked, with odd dimensions,
k past the rows, masks, zero vectors and the extreme codes -128 and 127."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mastra import ValidationError
from mastra._native import _vector
from mastra.vector import CompressedMatrix, top_k
from mastra.vector.compressed import Int8Quantizer
from mastra.vector.kernels import METRICS, run_search

KERNEL_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def reference(codes, qcodes, k, metric, mask, query_sq, row_sq):
    """Best k rows per query by the int64 dot product (or 2 dot - |q|^2 - |x|^2 in float32, the
    kernels' euclidean key), ties to the lower row; the kernels' scores."""
    dots = qcodes.astype(np.int64) @ codes.astype(np.int64).T
    if metric == "euclidean":
        keys = (np.float32(2) * dots.astype(np.float32) - query_sq[:, None]) - row_sq[None, :]
        scores = -keys
    else:
        keys = scores = dots.astype(np.float32)
    allowed = np.arange(len(codes)) if mask is None else np.flatnonzero(mask)
    ids = np.array([allowed[np.lexsort((allowed, -row[allowed]))][:k] for row in keys])
    return ids.reshape(len(qcodes), -1), np.take_along_axis(scores, ids.reshape(len(qcodes), -1), 1)


def kernel(codes, qcodes, k, metric, mask, query_sq, row_sq, threads):
    m = len(qcodes)
    return run_search(
        codes.view(np.uint8),
        _vector.KINDS["int8"],
        np.zeros(qcodes.shape, dtype=np.float32),
        k,
        METRICS[metric],
        normalized=True,
        mask=None if mask is None else mask.view(np.uint8),
        threads=threads,
        query_sq=query_sq if metric == "euclidean" else None,
        row_sq=row_sq if metric == "euclidean" else None,
        qcodes=qcodes,
        qscale=np.ones(m, dtype=np.float32),
        offsets=np.zeros(m, dtype=np.float32),
    )


def problem(rng, n, d, m, extremes):
    codes = rng.integers(-128, 128, (n, d), dtype=np.int8)
    qcodes = rng.integers(-127, 128, (m, d), dtype=np.int8)
    if extremes and n:
        codes[rng.integers(0, n, max(1, n // 4))] = rng.choice([-128, 127])
        codes[0] = 0  # a zero row
        qcodes[0] = rng.choice([-127, 127], d)  # the largest products
    if m > 1:
        qcodes[-1] = 0  # a zero query
    query_sq = rng.random(m, dtype=np.float32) * 100
    row_sq = rng.random(n, dtype=np.float32) * 100
    return codes, qcodes, query_sq, row_sq


def check(codes, qcodes, k, metric, mask, query_sq, row_sq, threads):
    allowed = len(codes) if mask is None else int(mask.sum())
    k = min(k, allowed)
    if k == 0:
        return
    ids, scores = kernel(codes, qcodes, k, metric, mask, query_sq, row_sq, threads)
    want_ids, want_scores = reference(codes, qcodes, k, metric, mask, query_sq, row_sq)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(scores, want_scores)


@KERNEL_SETTINGS
@given(
    n=st.integers(1, 90),
    d=st.sampled_from([1, 3, 4, 31, 37, 64, 65, 97, 131]),  # every kind of vector tail
    m=st.sampled_from([1, 2, 5, 17]),  # one query streams rows; more run the batch kernel
    k=st.integers(1, 100),  # often more than the rows
    metric=st.sampled_from(["dot", "euclidean"]),
    masked=st.booleans(),
    extremes=st.booleans(),
    threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**32 - 1),
)
def test_int8_kernels_equal_the_integer_reference(
    int8_variant, n, d, m, k, metric, masked, extremes, threads, seed
):
    rng = np.random.default_rng(seed)
    codes, qcodes, query_sq, row_sq = problem(rng, n, d, m, extremes)
    mask = rng.random(n) < 0.4 if masked else None
    check(codes, qcodes, k, metric, mask, query_sq, row_sq, threads)


def test_int8_kernels_fuzz_with_a_fixed_seed(int8_variant):
    """Bounded fuzz, the same cases every run: sizes around the pack of 16 rows and the
    vector widths."""
    rng = np.random.default_rng(20261201)
    for _ in range(60):
        n, d, m = int(rng.integers(1, 70)), int(rng.integers(1, 200)), int(rng.integers(1, 20))
        codes, qcodes, query_sq, row_sq = problem(rng, n, d, m, bool(rng.integers(2)))
        mask = rng.random(n) < 0.5 if rng.integers(2) else None
        metric = ["dot", "euclidean"][int(rng.integers(2))]
        check(codes, qcodes, int(rng.integers(1, 80)), metric, mask, query_sq, row_sq, 2)


@pytest.mark.parametrize("m", [1, 3])
def test_saturating_products_stay_exact(int8_variant, m):
    """All codes -128 against queries of 127: the largest products, whose pairs would saturate
    int16 in vpmaddubsw without the sign trick, summed over many dimensions."""
    d = 4096
    codes = np.full((20, d), -128, dtype=np.int8)
    codes[7] = 127
    codes[11, ::2] = 127
    qcodes = np.full((m, d), 127, dtype=np.int8)
    qcodes[-1, ::3] = -127
    check(codes, qcodes, 20, "dot", None, np.zeros(m, np.float32), np.zeros(20, np.float32), 1)


def test_int8_largest_dimension_is_exact_and_beyond_it_is_refused():
    """Dot products stay inside int32 up to INT8_MAX_DIMENSION; a larger int8 matrix is a
    ValidationError, not a silent overflow."""
    d = _vector.INT8_MAX_DIMENSION
    codes = np.full((3, d), -128, dtype=np.int8)
    codes[1] = 127
    qcodes = np.full((1, d), -127, dtype=np.int8)
    check(codes, qcodes, 3, "dot", None, np.zeros(1, np.float32), np.zeros(3, np.float32), 1)
    with pytest.raises(ValidationError, match=rf"at most {d} dimensions, got {d + 1}"):
        CompressedMatrix(np.ones((2, d + 1), dtype=np.float32), "int8")


def test_kernel_refuses_inconsistent_arguments():
    """The C side trusts its arrays, so the binding checks them first."""
    codes = np.zeros((4, 8), dtype=np.int8)
    qcodes = np.zeros((1, 8), dtype=np.int8)
    qcodes[0, 3] = -128
    with pytest.raises(ValueError, match=r"\[-127, 127\]"):
        kernel(codes, qcodes, 2, "dot", None, None, None, 1)
    with pytest.raises(ValueError, match="mask length"):
        kernel(codes, qcodes * 0, 2, "dot", np.ones(3, dtype=bool), None, None, 1)
    with pytest.raises(ValueError, match="euclidean needs the norms"):
        kernel(codes, qcodes * 0, 2, "euclidean", None, None, None, 1)


@settings(max_examples=30, deadline=None)
@given(
    d=st.integers(1, 50),
    m=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    spread=st.sampled_from([1e-6, 1.0, 1e6]),
)
def test_query_quantisation_stays_in_range_and_close(d, m, seed, spread):
    rng = np.random.default_rng(seed)
    rows = (rng.standard_normal((30, d)) * spread).astype(np.float32)
    queries = (rng.standard_normal((m, d)) * spread).astype(np.float32)
    queries[0, : d // 2] = 0.0
    quantizer = Int8Quantizer.fit(rows)
    codes, scale, offsets = quantizer.query(queries)
    assert codes.dtype == np.int8 and codes.min() >= -127
    folded = queries.astype(np.float64) * quantizer.scale
    rounding = np.abs(codes * scale[:, None].astype(np.float64) - folded)
    assert (rounding <= 0.5001 * scale[:, None]).all()
    # the approximate dot product is the exact one of the dequantised rows, up to the query
    # rounding (half a step per dimension) and float32 rounding of the scale and offset
    encoded = quantizer.encode(rows)
    dequantised = (encoded.astype(np.float64) + 128) * quantizer.scale + quantizer.low
    integer = scale[:, None] * (codes.astype(np.int64) @ encoded.astype(np.int64).T)
    approx = integer + offsets[:, None]
    exact = queries.astype(np.float64) @ dequantised.T
    # the kernels multiply the signed codes; the offset holds the +128 exactly
    bound = 0.5 * scale[:, None] * np.abs(encoded.astype(np.float64)).sum(axis=1)[None, :]
    float32 = 1e-6 * (np.abs(integer) + np.abs(offsets[:, None]))
    assert (np.abs(approx - exact) <= 1.001 * bound + float32).all()


def test_zero_query_scores_every_row_alike():
    X = np.random.default_rng(4).standard_normal((50, 9)).astype(np.float32)
    ids, scores = CompressedMatrix(X, "int8", "dot").top_k(np.zeros((2, 9)), 5)
    assert ids.tolist() == [[0, 1, 2, 3, 4]] * 2 and (scores == 0).all()
    want = top_k(X, np.zeros(9), 5, "dot")
    np.testing.assert_array_equal(ids[0], want[0])
