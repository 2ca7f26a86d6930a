"""Vector search: compiled exact top-k kernels and vector stores.

- :func:`top_k` — nearest rows of a float32 matrix (cosine, dot, euclidean), one query or a
  batch, with an optional row mask.
- :class:`CompressedMatrix` — float16 / int8 scans with exact float32 re-ranking.
- :class:`InMemoryVector` — the in-process :class:`VectorStore` with metadata filters.
- :class:`SQLiteVector` — the same, persisted in SQLite; :class:`PgVector` — PostgreSQL with
  pgvector (loaded on first use; needs ``mastra[postgres]``).
- :func:`open_vectors` — a store from a URL (``memory://``, ``memory://?index=hnsw``,
  ``sqlite:///v.db``, ``postgresql://...``, or a plugin's scheme).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mastra.vector.base import IndexStats, QueryResult, VectorStore
from mastra.vector.compressed import CompressedMatrix
from mastra.vector.filters import validate_filter
from mastra.vector.kernels import top_k
from mastra.vector.memory import InMemoryVector
from mastra.vector.sqlite import SQLiteVector
from mastra.vector.store import BaseVectorStore

if TYPE_CHECKING:
    from mastra.vector.pgvector import PgVector

__all__ = [
    "BaseVectorStore",
    "CompressedMatrix",
    "InMemoryVector",
    "IndexStats",
    "PgVector",
    "QueryResult",
    "SQLiteVector",
    "VectorStore",
    "open_vectors",
    "top_k",
    "validate_filter",
]


def __getattr__(name: str) -> Any:
    if name == "PgVector":  # psycopg loads only when asked for
        from mastra.vector.pgvector import PgVector

        return PgVector
    raise AttributeError(f"module 'mastra.vector' has no attribute {name!r}")


def open_vectors(url: str) -> VectorStore:
    """The vector store a URL names: ``memory://`` (``memory://?index=hnsw&connectivity=16``
    passes :class:`InMemoryVector`'s options), ``sqlite:///path/vectors.db``,
    ``postgresql://user@host/db``, or a scheme an installed plugin registers in the
    ``mastra.vectors`` entry-point group (called with the URL)."""
    from mastra.plugins import open_url

    return open_url(
        "vectors",
        url,
        InMemoryVector,
        SQLiteVector,
        "mastra.vector.pgvector:PgVector",
        _IN_MEMORY_OPTIONS,
    )


_IN_MEMORY_OPTIONS: dict[str, Callable[[str], object]] = {  # InMemoryVector's keywords
    "index": str,
    "connectivity": int,
    "expansion_add": int,
    "expansion_search": int,
}
