"""``top_k``: exact nearest rows of a float32 matrix, on the compiled kernels.

Validation and layout live here; the scan itself (SIMD dot products fused with bounded heaps,
row-split threads, no GIL) is native/_vector.pyx over native/include/mastra_topk.h.
"""

from __future__ import annotations

import os
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from mastra._native import _vector
from mastra.errors import ValidationError

__all__ = ["METRICS", "Metric", "Selection", "select_rows", "top_k"]

Metric = Literal["cosine", "dot", "euclidean"]
METRICS: dict[str, int] = {"dot": 0, "cosine": 1, "euclidean": 2}

# Work (rows x dims x queries) below which a second thread costs more than it saves.
_PARALLEL_WORK = 1 << 22
# A mask letting through at most this share of the rows, per query, is scanned as a list of
# those rows: the scan then skips the others without looking at them, and reads the listed
# rows ahead. One query gains at every share up to about a half; a batch loses its blocked
# kernel on a list, which pays only for shares below about 1/(2m) (benches/RESULTS.md).
_LIST_SHARE = 0.5
# The smallest normal float32: a squared norm below it counts as zero (as in the kernels).
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)

IdArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[np.float32]


def real_matrix(name: str, value: object, ndim: tuple[int, ...]) -> npt.NDArray[np.float32]:
    """``value`` as a C-contiguous float32 array of an allowed rank, or ValidationError."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise ValidationError(
            f"{name} has dtype {array.dtype}; expected float32 (or a real dtype convertible to it)"
        )
    if array.ndim not in ndim:
        shapes = " or ".join(f"{n}-D" for n in ndim)
        raise ValidationError(f"{name} has shape {array.shape}; expected a {shapes} array")
    return np.ascontiguousarray(array, dtype=np.float32)


def check_metric(metric: str) -> int:
    try:
        return METRICS[metric]
    except (KeyError, TypeError):
        raise ValidationError(
            f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}"
        ) from None


def check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValidationError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_queries(queries: object, dimension: int) -> tuple[npt.NDArray[np.float32], bool]:
    """Queries as float32 (m, d) and whether a single (d,) vector was given."""
    array = real_matrix("queries", queries, (1, 2))
    single = array.ndim == 1
    array = array.reshape(1, -1) if single else array
    if array.shape[1] != dimension:
        raise ValidationError(
            f"queries have dimension {array.shape[1]}; the matrix has dimension {dimension}"
        )
    if not np.isfinite(array).all():
        raise ValidationError("queries contain NaN or infinity; expected finite values")
    return array, single


def check_mask(mask: object, n: int) -> npt.NDArray[np.bool_] | None:
    if mask is None:
        return None
    array = np.asarray(mask)
    if array.dtype != np.bool_ or array.shape != (n,):
        raise ValidationError(
            f"mask has dtype {array.dtype} and shape {array.shape}; expected bool of shape ({n},)"
        )
    return np.ascontiguousarray(array)


class Selection(NamedTuple):
    """The rows a scan visits: every row (mask and rows None), the rows a mask flags, or an
    ascending list of rows; ``allowed`` of them."""

    mask: npt.NDArray[np.uint8] | None
    rows: npt.NDArray[np.int64] | None
    allowed: int


def select_rows(
    mask: npt.NDArray[np.bool_] | None,
    n: int,
    queries: int,
    rows: npt.NDArray[np.int64] | None = None,
) -> Selection:
    """How to scan the rows ``mask`` allows (or the ascending ``rows``, given instead) for
    ``queries`` queries: as a list when few are."""
    if rows is not None:
        if len(rows) * queries <= _LIST_SHARE * n:
            return Selection(None, rows, len(rows))
        mask = np.zeros(n, dtype=np.bool_)
        mask[rows] = True
    if mask is None:
        return Selection(None, None, n)
    allowed = int(np.count_nonzero(mask))
    if allowed * queries <= _LIST_SHARE * n:
        return Selection(None, np.flatnonzero(mask).astype(np.int64, copy=False), allowed)
    return Selection(mask.view(np.uint8), None, allowed)


def default_threads(n: int, d: int, m: int) -> int:
    if n * d * m < _PARALLEL_WORK:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def check_threads(threads: object, n: int, d: int, m: int) -> int:
    if threads is None:
        return default_threads(n, d, m)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValidationError(f"threads must be a positive integer or None, got {threads!r}")
    return threads


def unit_rows(queries: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each row scaled to length 1. Zero rows, and rows whose squared norm underflows float32
    (as the kernels count them), stay zero: their cosine is 0, never NaN."""
    if queries.shape[0] == 1:  # the common single query, without the masked divide
        squared = float(np.dot(queries[0].astype(np.float64), queries[0]))
        if squared < _FLOAT32_TINY:
            return np.zeros_like(queries)
        return queries / np.float32(np.sqrt(squared))
    squares = np.einsum("ij,ij->i", queries, queries, dtype=np.float64)[:, None]
    scaled = np.divide(
        queries, np.sqrt(squares), out=np.zeros_like(queries), where=squares >= _FLOAT32_TINY
    )
    return np.ascontiguousarray(scaled, dtype=np.float32)


def squared_norms(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    sums: npt.NDArray[np.float64] = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
    return sums.astype(np.float32)


def run_search(
    matrix: np.ndarray,
    kind: int,
    queries: npt.NDArray[np.float32],
    k: int,
    metric: int,
    *,
    normalized: bool,
    mask: npt.NDArray[np.uint8] | None,
    threads: int,
    query_sq: npt.NDArray[np.float32] | None = None,
    row_sq: npt.NDArray[np.float32] | None = None,
    qcodes: npt.NDArray[np.int8] | None = None,
    qscale: npt.NDArray[np.float32] | None = None,
    offsets: npt.NDArray[np.float32] | None = None,
    rows: npt.NDArray[np.int64] | None = None,
) -> tuple[IdArray, ScoreArray]:
    """Call the kernel on prepared arrays; k must not exceed the rows allowed. int8 matrices
    take quantised queries (``qcodes``, ``qscale``, ``offsets``; see Int8Quantizer.query).
    ``rows`` (ascending) limits the scan to those rows, as ``mask`` does by flags."""
    m = queries.shape[0]
    ids = np.empty((m, k), dtype=np.int64)
    scores = np.empty((m, k), dtype=np.float32)
    if k and m:
        _vector.search(
            matrix,
            kind,
            queries,
            qcodes,
            qscale,
            offsets,
            k,
            metric,
            normalized,
            mask,
            rows,
            query_sq,
            row_sq,
            threads,
            ids,
            scores,
        )
    return ids, scores


def top_k(
    matrix: npt.ArrayLike,
    queries: npt.ArrayLike,
    k: int,
    metric: Metric = "cosine",
    *,
    normalized: bool = False,
    mask: npt.ArrayLike | None = None,
    threads: int | None = None,
) -> tuple[IdArray, ScoreArray]:
    """The ``k`` rows of ``matrix`` nearest each query, best first.

    Args:
        matrix: float32 (n, d); other real dtypes and layouts are converted (a copy).
        queries: one (d,) query or a batch (m, d); must be finite.
        k: results per query; more than the rows allowed returns them all.
        metric: ``cosine`` and ``dot`` rank by highest similarity, ``euclidean`` by lowest
            distance (the L2 distance itself is returned). Zero vectors have cosine 0.
        normalized: the rows already have unit length (cosine then skips their norms).
        mask: optional bool (n,): only rows marked True are candidates. Not copied.
        threads: worker threads splitting the rows; default one for small work, else up to
            the CPU count.

    Returns:
        ``(ids, scores)``: int64 row numbers and float32 scores of shape (k,) for one query,
        (m, k) for a batch. Equal scores rank by lower row number.

    Raises:
        ValidationError: a dtype that is not real, wrong rank, mismatched dimension,
            ``k <= 0``, NaN/inf in a query, an unknown metric, a bad mask.
    """
    rows = real_matrix("matrix", matrix, (2,))
    metric_code = check_metric(metric)
    k = check_k(k)
    batch, single = check_queries(queries, rows.shape[1])
    selection = select_rows(check_mask(mask, rows.shape[0]), rows.shape[0], batch.shape[0])
    n_threads = check_threads(threads, selection.allowed, rows.shape[1], batch.shape[0])
    if metric == "cosine":
        batch = unit_rows(batch)
    ids, scores = run_search(
        rows,
        _vector.KINDS["float32"],
        batch,
        min(k, selection.allowed),
        metric_code,
        normalized=normalized,
        mask=selection.mask,
        rows=selection.rows,
        threads=n_threads,
        query_sq=squared_norms(batch) if metric == "euclidean" else None,
    )
    return (ids[0], scores[0]) if single else (ids, scores)
