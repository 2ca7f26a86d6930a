"""Approximate search for ``InMemoryVector(index="hnsw")``: a usearch HNSW graph beside the
float32 rows. The graph proposes candidates; the exact kernels re-rank them on the float32
rows, so scores equal the exact scan's. Filters are honoured by fetching more candidates than
asked for and keeping those the filter allows; a filter letting so few rows through that the
graph would have to be walked nearly whole is answered by the exact scan of those rows."""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from mastra.errors import ConfigError, ValidationError
from mastra.vector.kernels import Metric, Selection

__all__ = ["DEFAULT_HNSW", "HnswGraph", "HnswParams", "IndexKind", "check_index_kind"]

IndexKind = Literal["exact", "hnsw"]
_USEARCH_METRICS: dict[str, str] = {"cosine": "cos", "dot": "ip", "euclidean": "l2sq"}
# Candidates fetched per result asked for at least (then over the share of rows allowed).
_OVERFETCH = 2
# Each try that leaves fewer than k allowed candidates fetches this many times more.
_GROWTH = 4
# A vector the graph walk reads (a random access, through the links) costs about this many
# rows of the sequential scan: a 10% filter at 200k x 384 scanned its 20k rows faster than the
# walk of some 6,400 vectors.
_RANDOM_READ_COST = 4


class HnswParams(NamedTuple):
    """The graph's settings: ``connectivity`` (edges per node; more is better recall, more
    memory and a slower build), ``expansion_add`` (the candidate list while inserting) and
    ``expansion_search`` (the candidate list while searching; raise it for recall)."""

    connectivity: int
    expansion_add: int
    expansion_search: int


DEFAULT_HNSW = HnswParams(connectivity=16, expansion_add=128, expansion_search=256)


def _positive(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}")
    return value


def check_index_kind(index: object, params: HnswParams) -> HnswParams | None:
    """The graph settings for ``index="hnsw"``, None for ``"exact"``; ValidationError for
    another kind or a bad setting."""
    if index == "exact":
        return None
    if index != "hnsw":
        raise ValidationError(f"index must be 'exact' or 'hnsw', got {index!r}")
    return HnswParams(
        _positive("connectivity", params.connectivity, 2),
        _positive("expansion_add", params.expansion_add, 1),
        _positive("expansion_search", params.expansion_search, 1),
    )


def _usearch_index() -> Any:
    try:
        from usearch.index import Index
    except ImportError:
        raise ConfigError(
            "InMemoryVector(index='hnsw') needs usearch: pip install 'mastra[hnsw]'"
        ) from None
    return Index


def _new_graph(dimension: int, metric: Metric, params: HnswParams) -> Any:
    return _usearch_index()(
        ndim=dimension,
        metric=_USEARCH_METRICS[metric],
        dtype="bf16",
        connectivity=params.connectivity,
        expansion_add=params.expansion_add,
        expansion_search=params.expansion_search,
    )


class HnswGraph:
    """One index's graph. Rows move (a delete fills its hole with the last row) but graph keys
    do not: ``row_keys`` maps a row to its key, ``key_rows`` a key to its row (-1 once
    removed). A replaced vector gets another key. Removed keys are given out again, so the key
    space (and ``key_rows``) stays as large as the most vectors ever held at once, however
    many are written over time."""

    def __init__(self, graph: Any, params: HnswParams, row_keys: npt.NDArray[np.uint64]) -> None:
        self.graph, self.params, self.row_keys = graph, params, row_keys
        self.next_key = int(row_keys.max()) + 1 if len(row_keys) else 0
        self.key_rows = np.full(self.next_key, -1, dtype=np.int64)
        self.key_rows[row_keys.astype(np.int64)] = np.arange(len(row_keys))
        # a stack of removed keys, the first ``free_count`` entries
        self.free_keys = np.flatnonzero(self.key_rows < 0).astype(np.uint64)
        self.free_count = len(self.free_keys)

    @classmethod
    def new(cls, dimension: int, metric: Metric, params: HnswParams) -> HnswGraph:
        """An empty graph."""
        return cls(_new_graph(dimension, metric, params), params, np.empty(0, dtype=np.uint64))

    def snapshot(self, n: int) -> dict[str, npt.NDArray[Any]]:
        """The graph and the keys of rows ``0..n-1``, as arrays for an index file."""
        graph = np.frombuffer(self.graph.save(), dtype=np.uint8)
        return {"graph": graph, "graph_keys": self.row_keys[:n].copy()}

    @classmethod
    def restore(
        cls,
        arrays: dict[str, npt.NDArray[Any]],
        dimension: int,
        metric: Metric,
        params: HnswParams,
    ) -> HnswGraph | None:
        """The graph of a :meth:`snapshot` (searched with ``params.expansion_search``), or
        None when the file holds none or one that does not fit its rows: the caller then
        builds the graph again."""
        if "graph" not in arrays or "graph_keys" not in arrays:
            return None
        keys = np.asarray(arrays["graph_keys"], dtype=np.uint64)
        try:
            graph = _usearch_index().restore(arrays["graph"])
        except (ValueError, RuntimeError):
            return None
        if (
            graph is None
            or graph.ndim != dimension
            or graph.metric_kind.name.lower() != _USEARCH_METRICS[metric]
            or len(graph) != len(keys)
            or not all(graph.contains(keys))
        ):
            return None
        graph.expansion_search = params.expansion_search
        built = params._replace(connectivity=graph.connectivity, expansion_add=graph.expansion_add)
        return cls(graph, built, keys)

    def put(
        self, positions: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], count: int
    ) -> None:
        """Add ``vectors`` at rows ``positions``; rows below ``count`` replace a vector."""
        replaced = positions[positions < count]
        if len(replaced):
            old = self.row_keys[replaced]
            self.graph.remove(old)
            self._release(old)
        keys = self._take(len(positions))
        self.row_keys = _grown(self.row_keys, int(positions.max()) + 1, 0)
        self.key_rows = _grown(self.key_rows, self.next_key, -1)
        self.row_keys[positions] = keys
        self.key_rows[keys.astype(np.int64)] = positions
        self.graph.add(keys, vectors, threads=0)

    def delete(self, row: int, last: int) -> None:
        """Remove ``row``'s vector; the vector of row ``last`` moves to ``row``."""
        key = self.row_keys[row]
        self.graph.remove(key)
        self._release(self.row_keys[row : row + 1])
        if row != last:
            moved = self.row_keys[last]
            self.row_keys[row] = moved
            self.key_rows[int(moved)] = row

    def _release(self, keys: npt.NDArray[np.uint64]) -> None:
        """Keys removed from the graph, to be given out again."""
        self.key_rows[keys.astype(np.int64)] = -1
        self.free_keys = _grown(self.free_keys, self.free_count + len(keys), 0)
        self.free_keys[self.free_count : self.free_count + len(keys)] = keys
        self.free_count += len(keys)

    def _take(self, n: int) -> npt.NDArray[np.uint64]:
        """``n`` keys for new vectors: removed ones first, then never used ones."""
        reused = min(n, self.free_count)
        self.free_count -= reused
        fresh = np.arange(self.next_key, self.next_key + n - reused, dtype=np.uint64)
        self.next_key += n - reused
        return np.concatenate([self.free_keys[self.free_count : self.free_count + reused], fresh])

    def fetch_size(self, k: int, allowed: int, n: int) -> int:
        """Candidates to fetch for ``k`` results when ``allowed`` of ``n`` rows pass: the
        walk's whole candidate list (it costs nothing more to return, and its exact re-rank
        recovers neighbours the graph's bfloat16 distances ranked lower), over the share
        allowed, so that a filtered walk keeps as many allowed candidates as an unfiltered
        one keeps candidates (with expansion_search alone, a 10% filter at 1M x 384 had
        recall@10 0.83 where the unfiltered query had 0.96)."""
        wanted = max(self.params.expansion_search, _OVERFETCH * k)
        return min(n, max(k, math.ceil(wanted * n / allowed)))

    def walk(self, k: int, allowed: int, n: int) -> int:
        """About the vectors a graph search reads: the bottom layer visits some
        ``2 * connectivity`` neighbours per candidate kept."""
        return self.fetch_size(k, allowed, n) * 2 * self.params.connectivity

    def prefers_exact(self, k: int, allowed: int, n: int) -> bool:
        """Scanning the allowed rows costs less than the graph walk's random reads."""
        return allowed <= self.walk(k, allowed, n) * _RANDOM_READ_COST

    def candidates(
        self, query: npt.NDArray[np.float32], k: int, selection: Selection, n: int
    ) -> npt.NDArray[np.int64] | None:
        """Ascending rows the graph proposes that the selection allows, at least ``k`` of
        them; None when even the whole graph walk finds fewer (the caller scans exactly)."""
        fetch = self.fetch_size(k, selection.allowed, n)
        while True:
            found = self.graph.search(query, fetch, threads=1).keys
            rows = self.key_rows[found.astype(np.int64)]
            rows = np.sort(rows[_allowed(rows, selection)])
            if len(rows) >= k:
                return rows
            if fetch >= n:
                return None
            fetch = min(n, fetch * _GROWTH)


def _allowed(rows: npt.NDArray[np.int64], selection: Selection) -> npt.NDArray[np.bool_]:
    keep = rows >= 0
    if selection.mask is not None:
        keep &= selection.mask[np.maximum(rows, 0)].astype(np.bool_)
    elif selection.rows is not None:
        listed = selection.rows
        at = np.minimum(np.searchsorted(listed, rows), len(listed) - 1)
        keep &= listed[at] == rows
    return keep


def _grown(array: np.ndarray, needed: int, fill: int) -> np.ndarray:
    """``array`` with room for ``needed`` entries (capacity doubling; new entries ``fill``)."""
    if needed <= len(array):
        return array
    grown = np.full(max(needed, 2 * len(array), 16), fill, dtype=array.dtype)
    grown[: len(array)] = array
    return grown
