"""Vector search: compiled exact top-k kernels and vector stores.

- :func:`top_k` — nearest rows of a float32 matrix (cosine, dot, euclidean), one query or a
  batch, with an optional row mask.
- :class:`CompressedMatrix` — float16 / int8 scans with exact float32 re-ranking.
- :class:`InMemoryVector` — the in-process :class:`VectorStore` with metadata filters.
- :class:`SQLiteVector` — the same, persisted in SQLite; :class:`PgVector` — PostgreSQL with
  pgvector (``from mastra.vector.pgvector import PgVector``, needs ``mastra[postgres]``).
"""

from mastra.vector.base import IndexStats, QueryResult, VectorStore
from mastra.vector.compressed import CompressedMatrix
from mastra.vector.filters import validate_filter
from mastra.vector.kernels import top_k
from mastra.vector.memory import InMemoryVector
from mastra.vector.sqlite import SQLiteVector

__all__ = [
    "CompressedMatrix",
    "InMemoryVector",
    "IndexStats",
    "QueryResult",
    "SQLiteVector",
    "VectorStore",
    "top_k",
    "validate_filter",
]
