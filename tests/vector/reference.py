"""Plain references for the vector tests: NumPy (float64) top-k, and the filter language and
a vector store in pure Python."""

import operator

import numpy as np
import orjson

# A squared norm below the smallest normal float32 is a zero vector (cosine 0), as documented.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


def _norms(rows):
    """Row lengths, with underflowing ones (and NaN) as 0."""
    squares = (rows * rows).sum(axis=1)
    return np.where(squares >= FLOAT32_TINY, np.sqrt(squares), 0.0)


def reference_keys(matrix, queries, metric):
    """Scores in float64, as 'higher is better' keys (NaN rows: -inf, ranked last), plus the
    scores users see (NaN for rows holding NaN; cosine within [-1, 1])."""
    X = matrix.astype(np.float64)
    Q = np.atleast_2d(queries).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if metric == "dot":
            scores = Q @ X.T
            keys = scores
        elif metric == "cosine":
            dots = Q @ X.T
            denom = np.outer(_norms(Q), _norms(X))
            scores = np.divide(dots, denom, out=dots * 0.0, where=denom > 0)
            scores = np.clip(scores, -1.0, 1.0)
            keys = scores
        else:
            scores = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1))
            keys = -scores
    return np.where(np.isnan(keys), -np.inf, keys), scores


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


def assert_close_to_reference(matrix, queries, k, metric, mask, ids, scores):
    """Results within rounding of the reference: right shape, distinct allowed rows, their own
    scores, nothing clearly better left out, best first; rows with NaN last in row order."""
    keys, ref_scores = reference_keys(matrix, queries, metric)
    finite_keys = np.where(np.isfinite(keys), keys, -1e30)
    allowed = matrix.shape[0] if mask is None else int(mask.sum())
    assert ids.shape == scores.shape == (queries.shape[0], min(k, allowed))
    scale = 1e-4 * (1 + np.abs(ref_scores[np.isfinite(ref_scores)]).max(initial=0))
    for q in range(queries.shape[0]):
        got = ids[q]
        assert len(set(got.tolist())) == len(got)
        if mask is not None:
            assert mask[got].all()
        np.testing.assert_allclose(scores[q], ref_scores[q, got], atol=scale, rtol=1e-4)
        if len(got):
            candidates = np.arange(matrix.shape[0]) if mask is None else np.flatnonzero(mask)
            kth = finite_keys[q, got].min()
            # nothing left out is clearly better than the worst returned
            left_out = np.setdiff1d(candidates, got)
            assert (finite_keys[q, left_out] <= kth + 2 * scale).all()
            # best first
            assert (np.diff(finite_keys[q, got]) <= 2 * scale).all()
            # rows with NaN: last, and the lowest-numbered of them, in row order
            nan_got = got[np.isnan(scores[q])]
            nan_rows = candidates[np.isnan(ref_scores[q, candidates])]
            assert nan_got.tolist() == nan_rows[: len(nan_got)].tolist()
            assert (got[len(got) - len(nan_got) :] == nan_got).all()


# -- filters and a store in pure Python (the semantics in mastra/vector/filters.py) ----------

MISSING = object()
_ORDER = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}


def _lookup(doc, path):
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return MISSING
        doc = doc[part]
    return doc


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a, b):
    """JSON equality: numbers by value, booleans apart from numbers, containers exactly."""
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        sort = orjson.OPT_SORT_KEYS
        return orjson.dumps(a, option=sort) == orjson.dumps(b, option=sort)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _scalars(stored):
    """The value itself and, for a list, its elements that are not containers."""
    items = [stored]
    if isinstance(stored, list):
        items += [x for x in stored if not isinstance(x, (list, dict))]
    return items


def _equal(stored, value):
    return stored is not MISSING and any(_same(x, value) for x in _scalars(stored))


def _ordered(stored, op, operand):
    if stored is MISSING:
        return False
    kind = str if isinstance(operand, str) else None
    return any(
        (isinstance(x, str) if kind else _is_number(x)) and _ORDER[op](x, operand)
        for x in _scalars(stored)
    )


def _field_matches(doc, path, condition):
    operators = isinstance(condition, dict) and any(k.startswith("$") for k in condition)
    stored = _lookup(doc, path)
    if not operators:
        return _equal(stored, condition)
    for op, operand in condition.items():
        if op == "$eq":
            ok = _equal(stored, operand)
        elif op == "$ne":
            ok = not _equal(stored, operand)
        elif op == "$in":
            ok = any(_equal(stored, v) for v in operand)
        elif op == "$nin":
            ok = not any(_equal(stored, v) for v in operand)
        elif op == "$exists":
            ok = (stored is not MISSING) == operand
        elif op == "$not":
            ok = not _field_matches(doc, path, operand)
        else:
            ok = _ordered(stored, op, operand)
        if not ok:
            return False
    return True


def reference_match(doc, spec):
    """Whether a metadata object matches a Mongo-style filter."""
    for key, condition in spec.items():
        if key == "$and":
            ok = all(reference_match(doc, part) for part in condition)
        elif key == "$or":
            ok = any(reference_match(doc, part) for part in condition)
        elif key == "$not":
            ok = not reference_match(doc, condition)
        else:
            ok = _field_matches(doc, key, condition)
        if not ok:
            return False
    return True


class ReferenceStore:
    """One index as a dict: id -> (float32 vector, metadata)."""

    def __init__(self, metric):
        self.metric = metric
        self.rows = {}

    def upsert(self, vectors, metadata, ids):
        for vector, meta, id_ in zip(vectors, metadata, ids, strict=True):
            self.rows[id_] = (np.asarray(vector, dtype=np.float32), meta)

    def check_query(self, results, query, k, spec):
        """Store results agree with this reference: the matching rows, each with its own
        score, and none clearly better left out (ties may come in any order)."""
        matching = [i for i, (_, meta) in self.rows.items() if reference_match(meta, spec or {})]
        assert len(results) == min(k, len(matching))
        if not matching:
            return
        matrix = np.stack([self.rows[i][0] for i in matching])
        keys, scores = reference_keys(matrix, query, self.metric)
        position = {id_: n for n, id_ in enumerate(matching)}
        got = [position[r.id] for r in results]  # KeyError: a row that does not match
        assert len(set(got)) == len(got)
        scale = 1e-4 * (1 + np.abs(scores).max())
        np.testing.assert_allclose([r.score for r in results], scores[0, got], atol=scale)
        for r in results:
            assert r.metadata == self.rows[r.id][1]
        worst = keys[0, got].min()
        assert (np.delete(keys[0], got) <= worst + 2 * scale).all()
        assert (np.diff(keys[0, got]) <= 2 * scale).all()
