"""float16 and int8 scans with exact float32 re-ranking.

The compressed copy is what the kernel streams (2x or 4x less memory traffic than float32);
the best ``candidates`` rows it finds are then scored exactly on the float32 rows, so the
returned scores are exact and only the candidate set is approximate (see recall in
benches/RESULTS.md).
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from mastra._native import _vector
from mastra.errors import ValidationError
from mastra.vector.kernels import (
    IdArray,
    Metric,
    ScoreArray,
    Selection,
    check_k,
    check_mask,
    check_metric,
    check_queries,
    check_threads,
    real_matrix,
    run_search,
    select_rows,
    squared_norms,
    unit_rows,
)

__all__ = ["CompressedMatrix", "Int8Quantizer", "StorageDtype", "check_float16_range"]

StorageDtype = Literal["float32", "float16", "int8"]
_DTYPES = ("float32", "float16", "int8")
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def check_dtype(dtype: str) -> StorageDtype:
    if dtype not in _DTYPES:
        raise ValidationError(
            f"unknown storage dtype {dtype!r}; expected one of {', '.join(_DTYPES)}"
        )
    return cast(StorageDtype, dtype)


def check_float16_range(
    name: str, rows: npt.NDArray[np.float32], dtype: StorageDtype, metric: Metric
) -> None:
    """float16 holds magnitudes up to 65504; larger values would become infinity and rank as
    the best match. Cosine scans unit rows, which always fit."""
    if dtype != "float16" or metric == "cosine" or not rows.size:
        return
    if max(float(rows.max()), -float(rows.min())) > _FLOAT16_MAX:
        raise ValidationError(
            f"{name} hold values beyond ±{_FLOAT16_MAX:g}, which float16 cannot store (its "
            f"range is -{_FLOAT16_MAX:g} to {_FLOAT16_MAX:g}); use dtype 'int8' or 'float32'"
        )


def check_int8_dimension(dimension: int, dtype: StorageDtype) -> None:
    """The int8 scan sums integer products in 32 bits, which holds up to this dimension."""
    if dtype == "int8" and dimension > _vector.INT8_MAX_DIMENSION:
        raise ValidationError(
            f"int8 scans take at most {_vector.INT8_MAX_DIMENSION} dimensions, got {dimension}; "
            "use dtype 'float16' or 'float32'"
        )


class Int8Quantizer:
    """Per-dimension affine int8 codes: x ~ (code + 128) * scale + low."""

    __slots__ = ("high", "low", "scale")

    def __init__(self, low: npt.NDArray[np.float32], high: npt.NDArray[np.float32]) -> None:
        self.low = low.astype(np.float32)
        self.high = high.astype(np.float32)
        span = self.high - self.low
        self.scale = np.where(span > 0, span / 255.0, 1.0).astype(np.float32)

    @classmethod
    def fit(cls, rows: npt.NDArray[np.float32]) -> Int8Quantizer:
        return cls(rows.min(axis=0), rows.max(axis=0))

    def covers(self, rows: npt.NDArray[np.float32]) -> bool:
        return bool(((rows >= self.low) & (rows <= self.high)).all())

    def widened(self, rows: npt.NDArray[np.float32]) -> Int8Quantizer:
        return Int8Quantizer(
            np.minimum(self.low, rows.min(axis=0)), np.maximum(self.high, rows.max(axis=0))
        )

    def encode(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
        codes: npt.NDArray[np.float32] = np.rint((rows - self.low) / self.scale) - 128.0
        return np.clip(codes, -128, 127).astype(np.int8)

    def query(
        self, queries: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Queries for the integer scan: codes v in [-127, 127], a scale a and an offset b per
        query, such that a * (v . code) + b approximates the query's dot product with each
        encoded row. (Folding the per-dimension scale into the query leaves one scale per
        query; -128 is never used, so a code's sign can always be flipped.)"""
        folded = queries.astype(np.float64) * self.scale
        peak = np.abs(folded).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0)
        codes = np.clip(np.rint(folded / scale[:, None]), -127, 127).astype(np.int8)
        offsets = queries.astype(np.float64) @ (128.0 * self.scale + self.low).astype(np.float64)
        return codes, scale.astype(np.float32), offsets.astype(np.float32)


def encode(
    rows: npt.NDArray[np.float32], dtype: StorageDtype, quantizer: Int8Quantizer | None
) -> np.ndarray:
    if dtype == "float16":
        return rows.astype(np.float16)
    assert quantizer is not None
    return quantizer.encode(rows)


def default_candidates(k: int) -> int:
    return max(8 * k, 64)


def search_compressed(
    codes: np.ndarray,
    rows: npt.NDArray[np.float32],
    queries: npt.NDArray[np.float32],
    k: int,
    metric: Metric,
    *,
    quantizer: Int8Quantizer | None,
    row_sq: npt.NDArray[np.float32] | None,
    selection: Selection,
    threads: int,
    candidates: int,
) -> tuple[IdArray, ScoreArray]:
    """Scan ``codes`` (encoding unit rows for cosine) for every query at once, then re-rank
    each query's candidates in float32 on ``rows``.

    ``queries`` are prepared: unit length for cosine. ``k`` and ``candidates`` must not exceed
    the rows ``selection`` allows.
    """
    metric_code = check_metric(metric)
    query_sq = squared_norms(queries) if metric == "euclidean" else None
    qcodes = qscale = offsets = None
    if quantizer is not None:
        qcodes, qscale, offsets = quantizer.query(queries)
    found, _ = run_search(
        codes.view(np.uint8),
        _vector.KINDS[str(codes.dtype)],
        queries,
        max(k, candidates),
        metric_code,
        normalized=True,
        mask=selection.mask,
        rows=selection.rows,
        threads=threads,
        query_sq=query_sq,
        row_sq=row_sq,
        qcodes=qcodes,
        qscale=qscale,
        offsets=offsets,
    )
    m = queries.shape[0]
    out_ids = np.empty((m, k), dtype=np.int64)
    out_scores = np.empty((m, k), dtype=np.float32)
    for i in range(m):
        shortlist = np.sort(found[i])
        picked, scores = run_search(
            np.ascontiguousarray(rows[shortlist]),
            _vector.KINDS["float32"],
            queries[i : i + 1],
            k,
            metric_code,
            normalized=False,
            mask=None,
            threads=1,
            query_sq=None if query_sq is None else query_sq[i : i + 1],
        )
        out_ids[i] = shortlist[picked[0]]
        out_scores[i] = scores[0]
    return out_ids, out_scores


class CompressedMatrix:
    """A float32 matrix with a float16 or int8 copy for fast approximate scans and exact
    float32 re-ranking of the best ``candidates`` rows per query.

    >>> index = CompressedMatrix(vectors, dtype="int8", metric="cosine")
    >>> ids, scores = index.top_k(query, 10)
    """

    def __init__(
        self, matrix: npt.ArrayLike, dtype: StorageDtype = "int8", metric: Metric = "cosine"
    ) -> None:
        self.dtype = check_dtype(dtype)
        if self.dtype == "float32":
            raise ValidationError(
                "CompressedMatrix needs dtype 'float16' or 'int8'; use top_k for float32"
            )
        check_metric(metric)
        self.metric: Metric = metric
        self.rows = real_matrix("matrix", matrix, (2,))
        if not np.isfinite(self.rows).all():
            raise ValidationError("matrix contains NaN or infinity; expected finite values")
        check_float16_range("matrix rows", self.rows, self.dtype, metric)
        check_int8_dimension(self.rows.shape[1], self.dtype)
        scanned = unit_rows(self.rows) if metric == "cosine" else self.rows
        self.quantizer = Int8Quantizer.fit(scanned) if dtype == "int8" and len(scanned) else None
        self.codes = (
            encode(scanned, self.dtype, self.quantizer)
            if len(scanned)
            else (np.empty(self.rows.shape, dtype=np.float16 if dtype == "float16" else np.int8))
        )
        self.row_sq = squared_norms(self.rows) if metric == "euclidean" else None

    @property
    def nbytes(self) -> int:
        """Bytes the scan streams (the compressed copy)."""
        return int(self.codes.nbytes)

    def top_k(
        self,
        queries: npt.ArrayLike,
        k: int,
        *,
        mask: npt.ArrayLike | None = None,
        threads: int | None = None,
        candidates: int | None = None,
    ) -> tuple[IdArray, ScoreArray]:
        """Like :func:`mastra.vector.top_k`; ``candidates`` rows per query (default
        ``max(8k, 64)``) are re-ranked exactly in float32."""
        n, d = self.rows.shape
        k = check_k(k)
        batch, single = check_queries(queries, d)
        selection = select_rows(check_mask(mask, n), n, batch.shape[0])
        n_threads = check_threads(threads, selection.allowed, d, batch.shape[0])
        wanted = default_candidates(k) if candidates is None else check_k(candidates)
        if self.metric == "cosine":
            batch = unit_rows(batch)
        ids, scores = search_compressed(
            self.codes,
            self.rows,
            batch,
            min(k, selection.allowed),
            self.metric,
            quantizer=self.quantizer,
            row_sq=self.row_sq,
            selection=selection,
            threads=n_threads,
            candidates=min(wanted, selection.allowed),
        )
        return (ids[0], scores[0]) if single else (ids, scores)
