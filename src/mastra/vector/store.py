"""``BaseVectorStore``: the one front every vector store shares. It checks and normalises the
arguments of the :class:`~mastra.vector.VectorStore` methods once — the same rules and the same
messages for every backend — and hands the backend clean values through a few hooks."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from mastra.closeable import AsyncCloseable
from mastra.errors import NotFoundError, ValidationError
from mastra.vector.base import (
    IndexStats,
    QueryResult,
    check_index_name,
    check_open,
    metadata_copy,
)
from mastra.vector.compressed import StorageDtype, check_dtype, check_float16_range
from mastra.vector.filters import validate_filter
from mastra.vector.kernels import Metric, check_k, check_metric, real_matrix
from mastra.vector.locks import ReadWriteLock

__all__ = ["BaseVectorStore", "Batch", "IndexInfo", "Search", "unknown_index", "unknown_vector"]


class IndexInfo(NamedTuple):
    """What the front needs to know of an index to check arguments against it."""

    dimension: int
    metric: Metric
    dtype: StorageDtype = "float32"


class Batch(NamedTuple):
    """An upsert, checked: float32 rows, one JSON-safe metadata copy and one id per row, and
    each metadata object's JSON (made once by the check; backends that store JSON write it)."""

    rows: npt.NDArray[np.float32]
    metadata: list[dict[str, Any]]
    ids: list[str]
    encoded: list[bytes]


class Search(NamedTuple):
    """A query, checked: one float32 vector, k, and the compiled filter (None: all rows)."""

    vector: npt.NDArray[np.float32]
    k: int
    filter: dict[str, Any] | None
    include_vector: bool


def unknown_index(name: str, known: Sequence[str]) -> NotFoundError:
    return NotFoundError(
        f"unknown vector index {name!r}; indexes: {', '.join(sorted(known)) or 'none'}"
    )


def unknown_vector(index: str, id: str) -> NotFoundError:
    return NotFoundError(f"no vector with id {id!r} in index {index!r}")


def json_copy(where: str, value: Any) -> dict[str, Any]:
    """A deep, JSON-safe copy of a metadata object (so later caller mutations cannot reach
    the store), NaN and infinity refused."""
    return metadata_copy(where, value)[0]


def _metadata_batch(
    metadata: Sequence[dict[str, Any]] | None, count: int
) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The copies and the JSON of an upsert's metadata (empty objects when there is none)."""
    if metadata is None:
        return [{} for _ in range(count)], [b"{}"] * count
    copies: list[dict[str, Any]] = []
    encoded: list[bytes] = []
    for i, value in enumerate(metadata):  # no list of pairs: 1024 GC-tracked tuples fewer
        copy, json = metadata_copy(f"metadata[{i}]", value)
        copies.append(copy)
        encoded.append(json)
    return copies, encoded


class BaseVectorStore(AsyncCloseable, ABC):
    """Checks, then hooks. Backends implement ``_info`` (an index's settings, NotFoundError
    when unknown) and ``_upsert`` / ``_query`` / ``_update`` / ``_delete`` / ``_count`` /
    ``_create`` / ``_list`` / ``_drop``, which get values already checked, and ``_release``.

    ``aclose()`` refuses new calls, waits for the calls already running (on any thread's
    loop), then releases the backend; closing again does nothing."""

    max_dimension = 65_536

    def __init__(self) -> None:
        self._closed = False
        self._gate = ReadWriteLock()  # calls hold it shared; aclose alone

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._gate.write():
            await self._release()

    # -- hooks ----------------------------------------------------------------------------

    @abstractmethod
    async def _release(self) -> None:
        """Free threads, connections and memory (no call is running)."""

    @abstractmethod
    async def _info(self, index: str) -> IndexInfo: ...

    @abstractmethod
    async def _create(self, name: str, info: IndexInfo, options: dict[str, Any]) -> None:
        """Create the index, or do nothing when it exists with these settings."""

    @abstractmethod
    async def _upsert(self, index: str, batch: Batch) -> None: ...

    @abstractmethod
    async def _query(self, index: str, search: Search) -> list[QueryResult]: ...

    @abstractmethod
    async def _update(
        self,
        index: str,
        id: str,
        row: npt.NDArray[np.float32] | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        """Replace either or both; NotFoundError (``unknown_vector``) for an unknown id."""

    @abstractmethod
    async def _delete(self, index: str, id: str) -> None: ...

    @abstractmethod
    async def _count(self, index: str) -> int: ...

    @abstractmethod
    async def _list(self) -> list[str]: ...

    @abstractmethod
    async def _drop(self, index: str) -> None: ...

    # -- the VectorStore methods ----------------------------------------------------------

    async def create_index(
        self,
        name: str,
        dimension: int,
        metric: Metric = "cosine",
        *,
        dtype: StorageDtype = "float32",
        **options: Any,
    ) -> None:
        """Create an index; creating it again with the same settings does nothing, with other
        settings is a ValidationError. ``options`` are the backend's own (``index_type=`` for
        PgVector)."""
        async with self._gate.read():
            self._check_open()
            check_index_name(name)
            if (
                isinstance(dimension, bool)
                or not isinstance(dimension, int)
                or not 0 < dimension <= self.max_dimension
            ):
                raise ValidationError(
                    f"dimension must be an integer from 1 to {self.max_dimension}, "
                    f"got {dimension!r}"
                )
            check_metric(metric)
            await self._create(name, IndexInfo(dimension, metric, check_dtype(dtype)), options)

    async def upsert(
        self,
        index: str,
        vectors: npt.ArrayLike,
        metadata: Sequence[dict[str, Any]] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Insert vectors, or overwrite those whose id exists; ids are generated (uuid4 hex)
        when not given. Everything is checked before anything is written."""
        async with self._gate.read():
            self._check_open()
            info = await self._info(check_index_name(index))
            rows = self._rows(info, vectors)
            count = rows.shape[0]
            if metadata is not None and len(metadata) != count:
                raise ValidationError(f"got {len(metadata)} metadata objects for {count} vectors")
            if ids is not None and len(ids) != count:
                raise ValidationError(f"got {len(ids)} ids for {count} vectors")
            if count == 0:
                return []
            metas, encoded = _metadata_batch(metadata, count)
            id_list = (
                _check_ids(ids) if ids is not None else [uuid.uuid4().hex for _ in range(count)]
            )
            await self._upsert(index, Batch(rows, metas, id_list, encoded))
            return id_list

    async def query(
        self,
        index: str,
        vector: npt.ArrayLike,
        top_k: int = 10,
        filter: dict[str, Any] | None = None,
        include_vector: bool = False,
    ) -> list[QueryResult]:
        """The ``top_k`` nearest vectors matching ``filter``, best first (see
        :mod:`mastra.vector.filters` for the filter language)."""
        async with self._gate.read():
            self._check_open()
            info = await self._info(check_index_name(index))
            k = check_k(top_k)
            rows = self._rows(info, vector, what="query", ndim=(1,))
            spec = validate_filter(filter) if filter else None
            return await self._query(index, Search(rows[0], k, spec, bool(include_vector)))

    async def update_vector(
        self,
        index: str,
        id: str,
        vector: npt.ArrayLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Replace the vector and/or the metadata of an existing id."""
        async with self._gate.read():
            self._check_open()
            info = await self._info(check_index_name(index))
            if vector is None and metadata is None:
                raise ValidationError("update_vector needs a vector, metadata or both")
            row = None if vector is None else self._rows(info, vector)
            if row is not None and row.shape[0] != 1:
                raise ValidationError(f"update_vector takes one vector, got {row.shape[0]}")
            meta = None if metadata is None else json_copy("metadata", metadata)
            await self._update(index, id, None if row is None else row[0], meta)

    async def delete_vector(self, index: str, id: str) -> None:
        """Delete one vector; NotFoundError for an unknown id."""
        async with self._gate.read():
            self._check_open()
            await self._info(check_index_name(index))
            await self._delete(index, id)

    async def describe_index(self, index: str) -> IndexStats:
        async with self._gate.read():
            self._check_open()
            info = await self._info(check_index_name(index))
            return IndexStats(info.dimension, await self._count(index), info.metric, info.dtype)

    async def list_indexes(self) -> list[str]:
        async with self._gate.read():
            self._check_open()
            return sorted(await self._list())

    async def delete_index(self, index: str) -> None:
        async with self._gate.read():
            self._check_open()
            await self._info(check_index_name(index))
            await self._drop(index)

    # -- checks ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        check_open(self, self._closed)

    @staticmethod
    def _rows(
        info: IndexInfo, vectors: object, *, what: str = "vectors", ndim: tuple[int, ...] = (1, 2)
    ) -> npt.NDArray[np.float32]:
        """(m, d) float32 rows; a query (``ndim=(1,)``) must be one vector, and is exempt
        from the float16 range (it is never stored)."""
        rows = real_matrix(what, vectors, ndim)
        rows = rows.reshape(1, -1) if rows.ndim == 1 else rows
        if rows.shape[1] != info.dimension:
            raise ValidationError(
                f"{what} have dimension {rows.shape[1]}; the index has dimension {info.dimension}"
            )
        if not np.isfinite(rows).all():
            raise ValidationError(f"{what} contain NaN or infinity; expected finite values")
        if ndim != (1,):
            check_float16_range(what, rows, info.dtype, info.metric)
        return rows


def _check_ids(ids: Sequence[str]) -> list[str]:
    id_list = list(ids)
    for id_ in id_list:
        if not isinstance(id_, str) or not id_:
            raise ValidationError(f"ids must be non-empty strings, got {id_!r}")
    if len(set(id_list)) != len(id_list):
        raise ValidationError("ids repeat within one upsert; each id may appear once")
    return id_list
