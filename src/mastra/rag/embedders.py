"""Embedders: text to float32 vectors. ``HashingEmbedder`` is the offline default; provider
models embed through their APIs; ``CachedEmbedder`` never embeds the same text twice."""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from mastra.cache import LRUCache
from mastra.errors import ValidationError
from mastra.llm.base import LanguageModel

__all__ = ["CachedEmbedder", "Embedder", "HashingEmbedder", "ModelEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into rows of a float32 matrix."""

    dimension: int

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class HashingEmbedder:
    """Feature hashing of words and character n-grams, L2-normalised: deterministic, fast,
    nothing to download. Similar wording gives similar vectors (no semantics beyond that).

    Args:
        dimension: vector size.
        char_ngrams: character n-gram lengths taken inside each word (with boundary marks).
    """

    def __init__(self, dimension: int = 256, *, char_ngrams: Sequence[int] = (3, 4)) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 8:
            raise ValidationError(f"dimension must be an integer >= 8, got {dimension!r}")
        self.dimension = dimension
        self.char_ngrams = tuple(char_ngrams)

    @property
    def fingerprint(self) -> str:
        """What decides its vectors (ingest re-embeds documents when it changes)."""
        return f"HashingEmbedder(dimension={self.dimension}, char_ngrams={self.char_ngrams})"

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        features = [f"w:{w}" for w in words]
        features += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
        for word in words:
            marked = f"<{word}>"
            for n in self.char_ngrams:
                features += [marked[i : i + n] for i in range(max(len(marked) - n + 1, 0))]
        return features

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        dim = self.dimension
        for row, text in zip(rows, texts, strict=True):
            for feature in self._features(text):
                digest = zlib.crc32(feature.encode())
                row[digest % dim] += 1.0 if digest & 0x80000000 else -1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        np.divide(rows, norms, out=rows, where=norms > 0)
        return rows

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
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
