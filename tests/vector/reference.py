"""Plain NumPy (float64) reference for the top-k kernels."""

import numpy as np


def reference_keys(matrix, queries, metric):
    """Scores in float64, as 'higher is better' keys, plus the scores users see."""
    X = matrix.astype(np.float64)
    Q = np.atleast_2d(queries).astype(np.float64)
    if metric == "dot":
        scores = Q @ X.T
        return scores, scores
    if metric == "cosine":
        xn = np.linalg.norm(X, axis=1)
        qn = np.linalg.norm(Q, axis=1)
        denom = np.outer(qn, xn)
        scores = np.divide(Q @ X.T, denom, out=np.zeros_like(denom), where=denom > 0)
        return scores, scores
    dist = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    return -dist, dist


def reference_top_k(matrix, queries, k, metric, mask=None):
    keys, scores = reference_keys(matrix, queries, metric)
    n = matrix.shape[0]
    allowed = np.arange(n) if mask is None else np.flatnonzero(mask)
    ids, out = [], []
    for row_keys, row_scores in zip(keys, scores, strict=True):
        order = allowed[np.lexsort((allowed, -row_keys[allowed]))][:k]
        ids.append(order)
        out.append(row_scores[order])
    return np.array(ids, dtype=np.int64).reshape(len(keys), -1), np.array(out).reshape(
        len(keys), -1
    )
