"""Embedders: text to float32 vectors. ``HashingEmbedder`` is the offline default; provider
models embed through their APIs; ``CachedEmbedder`` never embeds the same text twice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from mastra._native import _hash_embed
from mastra.cache import LRUCache
from mastra.errors import ValidationError
from mastra.llm.base import LanguageModel

__all__ = ["CachedEmbedder", "Embedder", "HashingEmbedder", "ModelEmbedder"]

# More text than this (characters in one call) is hashed in a worker thread: a thread
# hand-off costs tens of microseconds, hashing this much about a millisecond.
_OFFLOAD_CHARS = 200_000


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into rows of a float32 matrix."""

    dimension: int

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class HashingEmbedder:
    """Feature hashing of words, word pairs and character n-grams, L2-normalised:
    deterministic, fast (compiled), nothing to download. Similar wording gives similar vectors
    (no semantics beyond that).

    Features of a text: its words (``\\w+`` of the lower-cased text) as ``w:WORD``,
    neighbouring pairs as ``b:WORD NEXT``, and the character n-grams of ``<WORD>``; each
    feature's UTF-8 CRC-32 picks a column (``crc % dimension``) and a sign (top bit).

    Args:
        dimension: vector size.
        char_ngrams: character n-gram lengths taken inside each word (with boundary marks).
    """

    def __init__(self, dimension: int = 256, *, char_ngrams: Sequence[int] = (3, 4)) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 8:
            raise ValidationError(f"dimension must be an integer >= 8, got {dimension!r}")
        ngrams = tuple(char_ngrams)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in ngrams):
            raise ValidationError(
                f"char_ngrams must be positive integers (n-gram lengths), got {char_ngrams!r}"
            )
        self.dimension = dimension
        self.char_ngrams = ngrams

    @property
    def fingerprint(self) -> str:
        """What decides its vectors (ingest re-embeds documents when it changes)."""
        return f"HashingEmbedder(dimension={self.dimension}, char_ngrams={self.char_ngrams})"

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if isinstance(texts, str):
            raise ValidationError("texts must be a sequence of str, got one str")
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        _hash_embed.hash_features(list(texts), rows, self.char_ngrams)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        np.divide(rows, norms, out=rows, where=norms > 0)
        return rows

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Large batches are hashed in a worker thread (the kernel runs without the GIL), so
        the event loop goes on meanwhile."""
        if sum(len(t) for t in texts if isinstance(t, str)) > _OFFLOAD_CHARS:
            return await asyncio.to_thread(self.embed_sync, texts)
        return self.embed_sync(texts)


class ModelEmbedder:
    """A provider's embedding model (``get_model("openai/text-embedding-3-small")``, any
    OpenAI-compatible ``/embeddings`` server with ``base_url=``, Google ...), called with at
    most ``batch_size`` texts at a time. Failed calls are retried by the model's HTTP client
    (its ``retry=`` policy: 429, 5xx, timeouts, with backoff)."""

    def __init__(self, model: LanguageModel, dimension: int, *, batch_size: int = 256) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValidationError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model = model
        self.dimension = dimension
        self.batch_size = batch_size

    @property
    def fingerprint(self) -> str:
        return f"ModelEmbedder({self.model.name}, dimension={self.dimension})"

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        parts = [
            await self._embed_batch(texts[i : i + self.batch_size])
            for i in range(0, len(texts), self.batch_size)
        ]
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    async def _embed_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = await self.model.embed(texts)
        if rows.ndim != 2 or rows.shape[0] != len(texts):
            raise ValidationError(
                f"{self.model.name} returned {rows.shape[0]} embeddings for {len(texts)} texts"
            )
        if rows.shape[1] != self.dimension:
            raise ValidationError(
                f"{self.model.name} returned {rows.shape[1]} dimensions; "
                f"this embedder was declared with {self.dimension}"
            )
        return rows


class CachedEmbedder:
    """An LRU cache of embeddings in front of any embedder: a text is embedded once."""

    def __init__(self, inner: Embedder, maxsize: int = 10_000) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.cache: LRUCache[str, npt.NDArray[np.float32]] = LRUCache(maxsize)

    @property
    def fingerprint(self) -> str:
        inner = getattr(self.inner, "fingerprint", None)
        return str(inner) if inner else f"{type(self.inner).__name__}({self.dimension})"

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            hit = self.cache.get(text)
            if hit is None:
                missing.setdefault(text, []).append(i)
            else:
                out[i] = hit
        if missing:
            fresh = await self.inner.embed(list(missing))
            for row, (text, places) in zip(fresh, missing.items(), strict=True):
                self.cache[text] = row.copy()
                out[places] = row
        return out
