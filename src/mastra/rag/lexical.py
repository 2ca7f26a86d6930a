"""BM25 over chunk texts, on NumPy postings: a term's postings are (row, precomputed BM25
weight) pairs, and a query sums the postings of its terms with one ``bincount``.

Vector stores have no full-text search, so retrieval builds this index from the chunk texts
stored in metadata, on first use per (store, index), and keeps it until the index's manifest
generation changes (every ingest that changes something bumps it)."""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from mastra.rag.manifest import read_all, read_generation
from mastra.vector.base import VectorStore

__all__ = ["BM25Index", "lexical_index", "tokenize"]

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
    }
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words, a few English stop words left out."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


class BM25Index:
    """Okapi BM25 (``k1``, ``b``) over a list of texts; rows are the texts' positions."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        vocabulary: dict[str, int] = {}
        term_ids = array("q")
        lengths = np.zeros(len(texts), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            term_ids.extend(vocabulary.setdefault(t, len(vocabulary)) for t in tokens)
        self.vocabulary = vocabulary
        self.count = len(texts)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths.astype(np.int64))
        terms = np.frombuffer(term_ids, dtype=np.int64) if term_ids else np.empty(0, np.int64)
        # (term, row) pairs with their frequency, sorted by term then row
        keys, tf = np.unique(terms * max(len(texts), 1) + rows, return_counts=True)
        post_terms, self.rows = np.divmod(keys, max(len(texts), 1))
        self.rows = self.rows.astype(np.int32)
        df = np.bincount(post_terms, minlength=len(vocabulary))
        self.offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(df, out=self.offsets[1:])
        idf = np.log1p((len(texts) - df + 0.5) / (df + 0.5)).astype(np.float32)
        average = float(lengths.mean()) if len(texts) else 0.0
        norm = k1 * (1.0 - b + b * lengths[self.rows] / max(average, 1e-9))
        tf32 = tf.astype(np.float32)
        self.weights = (idf[post_terms] * tf32 * (k1 + 1.0) / (tf32 + norm)).astype(np.float32)

    def search(self, query: str, k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The ``k`` best rows for ``query`` with their scores, best first (rows that share
        no term with the query are left out)."""
        ids = sorted({self.vocabulary[t] for t in tokenize(query) if t in self.vocabulary})
        if not ids or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        spans = [slice(self.offsets[t], self.offsets[t + 1]) for t in ids]
        rows = np.concatenate([self.rows[s] for s in spans])
        weights = np.concatenate([self.weights[s] for s in spans])
        if len(ids) == 1:
            scores, candidates = weights, rows.astype(np.int64)
        else:
            summed = np.bincount(rows, weights=weights, minlength=self.count)
            candidates = np.flatnonzero(summed)
            scores = summed[candidates].astype(np.float32)
        if len(candidates) > k:
            keep = _best(candidates, scores, k)
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))
        return candidates[order].astype(np.int64), scores[order].astype(np.float32)


def _best(
    candidates: npt.NDArray[np.int64], scores: npt.NDArray[np.float32], k: int
) -> npt.NDArray[np.intp]:
    """Where the ``k`` best are (k < len): every score above the k-th best, then the lowest
    rows among those equal to it (argpartition alone picks arbitrary ones of a tie)."""
    cut = scores[np.argpartition(-scores, k - 1)[k - 1]]
    above = np.flatnonzero(scores > cut)
    tied = np.flatnonzero(scores == cut)
    tied = tied[np.argsort(candidates[tied], kind="stable")][: k - len(above)]
    return np.concatenate([above, tied])


class Lexical:
    """A BM25 index of one vector index's chunks, with what retrieval needs to fetch a hit's
    metadata back from the store (its id, its document id and each document's chunk count)."""

    def __init__(self, generation: str, rows: list[Any]) -> None:
        self.generation = generation
        kept = [r for r in rows if isinstance(r.metadata.get("text"), str)]
        self.ids = [r.id for r in kept]
        self.documents: list[Any] = [r.metadata.get("document_id") for r in kept]
        self.chunk_counts = Counter(self.documents)  # indexed chunks per document id
        self.bm25 = BM25Index([r.metadata["text"] for r in kept])


_CACHE: weakref.WeakKeyDictionary[Any, dict[str, Lexical]] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()  # one build at a time: a second asker waits and takes it


async def lexical_index(store: VectorStore, index: str) -> Lexical:
    """The cached BM25 index of ``index``, rebuilt when the manifest generation (or, for
    an index not written by ingest, the vector count) has changed since it was built. A
    build (seconds at a million chunks) runs on a worker thread, not on the event loop."""
    info = await read_generation(store, index)
    stats = await store.describe_index(index)
    generation = f"{info.get('generation') if info else None}:{stats.count}"
    per_store = _CACHE.setdefault(store, {})
    cached = per_store.get(index)
    if cached is not None and cached.generation == generation:
        return cached
    rows = await read_all(store, index, stats.dimension)
    return await asyncio.to_thread(_build, per_store, index, generation, rows)


def _build(per_store: dict[str, Lexical], index: str, generation: str, rows: list[Any]) -> Lexical:
    with _BUILDING:
        cached = per_store.get(index)
        if cached is None or cached.generation != generation:
            cached = per_store[index] = Lexical(generation, rows)
        return cached
