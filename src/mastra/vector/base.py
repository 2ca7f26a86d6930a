"""The ``VectorStore`` protocol every backend implements, and its result types."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec
import numpy.typing as npt

from mastra.errors import ValidationError

__all__ = ["IndexStats", "QueryResult", "VectorStore", "check_index_name"]

_INDEX_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_index_name(name: object) -> str:
    """Index names are identifiers (they become table names in SQL backends)."""
    if not isinstance(name, str) or not _INDEX_NAME.match(name):
        raise ValidationError(
            f"invalid index name {name!r}; expected a letter or underscore followed by up to 62 "
            "letters, digits or underscores"
        )
    return name


class QueryResult(msgspec.Struct, frozen=True):
    """One match: its id, score (similarity, or distance for euclidean), metadata and, when
    asked for, the stored vector."""

    id: str
    score: float
    metadata: dict[str, Any] = {}
    vector: list[float] | None = None


class IndexStats(msgspec.Struct, frozen=True):
    dimension: int
    count: int
    metric: str
    dtype: str = "float32"


@runtime_checkable
class VectorStore(Protocol):
    """Async vector store: named indexes of vectors with metadata and filtered top-k."""

    async def create_index(
        self, name: str, dimension: int, metric: Literal["cosine", "dot", "euclidean"] = "cosine"
    ) -> None: ...

    async def upsert(
        self,
        index: str,
        vectors: npt.ArrayLike,
        metadata: Sequence[dict[str, Any]] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]: ...

    async def query(
        self,
        index: str,
        vector: npt.ArrayLike,
        top_k: int = 10,
        filter: dict[str, Any] | None = None,
        include_vector: bool = False,
    ) -> list[QueryResult]: ...

    async def update_vector(
        self,
        index: str,
        id: str,
        vector: npt.ArrayLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None: ...

    async def delete_vector(self, index: str, id: str) -> None: ...

    async def describe_index(self, index: str) -> IndexStats: ...

    async def list_indexes(self) -> list[str]: ...

    async def delete_index(self, index: str) -> None: ...
