"""The ``VectorStore`` protocol every backend implements, and its result types."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec
import numpy.typing as npt
import orjson

from mastra.errors import StorageError, ValidationError

__all__ = [
    "IndexStats",
    "QueryResult",
    "VectorStore",
    "check_index_name",
    "check_open",
    "json_bytes",
    "metadata_copy",
    "metadata_json",
]

_INDEX_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Values whose JSON decodes to an equal value of the same type (floats: finite ones).
_PLAIN_VALUES = frozenset({str, int, bool, type(None)})


def check_index_name(name: object) -> str:
    """Index names are identifiers (they become table names in SQL backends)."""
    if not isinstance(name, str) or not _INDEX_NAME.fullmatch(name):
        raise ValidationError(
            f"invalid index name {name!r}; expected a letter or underscore followed by up to 62 "
            "letters, digits or underscores"
        )
    return name


def check_open(store: object, closed: bool) -> None:
    """Every method of a closed store raises this, instead of quietly reopening it."""
    if closed:
        raise StorageError(f"{type(store).__name__} is closed; create a new store to go on")


def json_bytes(where: str, value: object) -> bytes:
    """``value`` as JSON bytes; ValidationError for anything JSON cannot hold exactly, NaN and
    infinity included (which orjson would silently write as null)."""
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:
        raise ValidationError(f"{where} is not JSON-serialisable: {exc}") from None
    if b"null" in encoded:  # NaN and infinity come out as null; only then is a walk needed
        _reject_non_finite(where, value)
    return encoded


def metadata_json(where: str, value: object) -> bytes:
    """A metadata object (a dict) as JSON bytes, checked by :func:`json_bytes`."""
    if not isinstance(value, dict):
        raise ValidationError(f"{where} must be an object (dict), got {type(value).__name__}")
    return json_bytes(where, value)


def metadata_copy(where: str, value: object) -> tuple[dict[str, Any], bytes]:
    """A metadata object's JSON bytes (checked as by :func:`metadata_json`) and a deep copy
    equal to decoding them, which later caller mutations cannot reach. A flat dict of plain
    values (str, int, bool, None, finite float under str keys) is copied with ``dict``: its
    values are immutable and decode to themselves, so the decode is skipped."""
    if type(value) is dict and _is_plain(value):
        try:
            return dict(value), orjson.dumps(value)
        except TypeError:
            pass  # an int beyond 64 bits, a lone surrogate: the general path says so
    encoded = metadata_json(where, value)
    copied: dict[str, Any] = orjson.loads(encoded)
    return copied, encoded


def _is_plain(value: dict[Any, Any]) -> bool:
    """Exact type checks only: subclasses (which JSON would turn into their base type), nested
    objects and NaN or infinity are left to the general path."""
    for key, item in value.items():
        kind = type(item)
        if type(key) is not str or (
            kind not in _PLAIN_VALUES and (kind is not float or not math.isfinite(item))
        ):
            return False
    return True


def _reject_non_finite(path: str, value: object) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            f"{path} is {value}; numbers must be finite (JSON has no NaN or infinity)"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(f"{path}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _reject_non_finite(f"{path}[{i}]", item)


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

    async def aclose(self) -> None:
        """Release what the store holds (threads, connections); idempotent. A closed store
        raises StorageError when used. Stores are async context managers that call this."""
        ...
