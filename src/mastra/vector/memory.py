"""``InMemoryVector``: the VectorStore on contiguous NumPy rows and the compiled kernels."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson

from mastra._native import _vector
from mastra.closeable import AsyncCloseable
from mastra.errors import NotFoundError, StorageError, ValidationError
from mastra.vector.base import (
    IndexStats,
    QueryResult,
    check_index_name,
    check_open,
    metadata_json,
)
from mastra.vector.compressed import (
    Int8Quantizer,
    StorageDtype,
    check_dtype,
    check_float16_range,
    default_candidates,
    encode,
    search_compressed,
)
from mastra.vector.filters import MetadataTable, validate_filter
from mastra.vector.kernels import (
    IdArray,
    Metric,
    ScoreArray,
    check_k,
    check_metric,
    check_queries,
    default_threads,
    real_matrix,
    run_search,
    squared_norms,
    unit_rows,
)
from mastra.vector.locks import ReadWriteLock

__all__ = ["InMemoryVector"]

T = TypeVar("T")

_MIN_CAPACITY = 16
# Queries scanning more floats than this run in a worker thread, off the event loop.
_OFFLOAD_WORK = 1 << 20
_FORMAT_VERSION = 1


def _json_copy(where: str, value: Any) -> dict[str, Any]:
    """A deep, JSON-safe copy of a metadata object (so later caller mutations cannot reach
    the index)."""
    copied: dict[str, Any] = orjson.loads(metadata_json(where, value))
    return copied


class _Index:
    """One index: float32 rows (row i belongs to ids[i]), an optional compressed copy for the
    scan, metadata with value indexes. Deletes move the last row into the hole, so rows stay
    contiguous; capacity doubles on growth and halves when three quarters are free."""

    def __init__(self, dimension: int, metric: Metric, dtype: StorageDtype) -> None:
        self.dimension, self.metric, self.dtype = dimension, metric, dtype
        self.count = 0
        self.rows = np.empty((_MIN_CAPACITY, dimension), dtype=np.float32)
        self.codes: np.ndarray | None = (
            None if dtype == "float32" else np.empty((_MIN_CAPACITY, dimension), dtype=dtype)
        )
        self.quantizer: Int8Quantizer | None = None
        self.row_sq: npt.NDArray[np.float32] | None = (
            np.empty(_MIN_CAPACITY, dtype=np.float32)
            if dtype != "float32" and metric == "euclidean"
            else None
        )
        self.ids: list[str] = []
        self.positions: dict[str, int] = {}
        self.meta = MetadataTable()
        self.lock = ReadWriteLock()
        self.deleted = False  # set under the write lock by delete_index (and aclose)

    @property
    def capacity(self) -> int:
        return int(self.rows.shape[0])

    def _resize(self, capacity: int) -> None:
        def resized(array: np.ndarray) -> np.ndarray:
            grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
            grown[: self.count] = array[: self.count]
            return grown

        self.rows = resized(self.rows)
        if self.codes is not None:
            self.codes = resized(self.codes)
        if self.row_sq is not None:
            self.row_sq = resized(self.row_sq)

    def _reserve(self, needed: int) -> None:
        if needed > self.capacity:
            capacity = self.capacity
            while capacity < needed:
                capacity *= 2
            self._resize(capacity)

    def _scanned(self, rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return unit_rows(rows) if self.metric == "cosine" else rows

    def _write(self, positions: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        self.rows[positions] = vectors
        if self.row_sq is not None:
            self.row_sq[positions] = squared_norms(vectors)
        if self.codes is None:
            return
        scanned = self._scanned(vectors)
        if self.dtype == "int8" and (self.quantizer is None or not self.quantizer.covers(scanned)):
            # New values outside the trained range: widen it and re-encode every row.
            self.quantizer = (
                Int8Quantizer.fit(scanned)
                if self.quantizer is None
                else self.quantizer.widened(scanned)
            )
            live = self.rows[: max(self.count, int(positions.max()) + 1)]
            self.codes[: len(live)] = encode(self._scanned(live), self.dtype, self.quantizer)
        else:
            self.codes[positions] = encode(scanned, self.dtype, self.quantizer)

    def upsert(
        self, vectors: npt.NDArray[np.float32], metadata: list[dict[str, Any]], ids: list[str]
    ) -> None:
        new = [i for i, id_ in enumerate(ids) if id_ not in self.positions]
        self._reserve(self.count + len(new))
        positions = np.empty(len(ids), dtype=np.int64)
        for i, id_ in enumerate(ids):
            positions[i] = self.positions.get(id_, -1)
        positions[new] = np.arange(self.count, self.count + len(new))
        self._write(positions, vectors)
        for i, id_ in enumerate(ids):
            row = int(positions[i])
            if row < self.count:
                self.meta.replace(row, metadata[i])
            else:
                self.ids.append(id_)
                self.positions[id_] = row
                self.meta.append(metadata[i])
        self.count += len(new)

    def update(
        self, row: int, vector: npt.NDArray[np.float32] | None, metadata: dict[str, Any] | None
    ) -> None:
        if vector is not None:
            self._write(np.array([row], dtype=np.int64), vector.reshape(1, -1))
        if metadata is not None:
            self.meta.replace(row, metadata)

    def delete(self, id_: str) -> None:
        row = self.positions.pop(id_)
        last = self.count - 1
        if row != last:
            moved = self.ids[last]
            self.rows[row] = self.rows[last]
            if self.codes is not None:
                self.codes[row] = self.codes[last]
            if self.row_sq is not None:
                self.row_sq[row] = self.row_sq[last]
            self.ids[row] = moved
            self.positions[moved] = row
        self.ids.pop()
        self.meta.move_last_to(row)
        self.count -= 1
        if self.capacity > _MIN_CAPACITY and self.count < self.capacity // 4:
            self._resize(max(_MIN_CAPACITY, self.capacity // 2))

    def search(
        self, query: npt.NDArray[np.float32], k: int, mask: npt.NDArray[np.uint8] | None
    ) -> tuple[IdArray, ScoreArray]:
        n = self.count
        threads = default_threads(n, self.dimension, 1)
        if self.metric == "cosine":
            query = unit_rows(query)
        if self.codes is None:
            return run_search(
                self.rows[:n],
                _vector.KINDS["float32"],
                query,
                k,
                check_metric(self.metric),
                normalized=False,
                mask=mask,
                threads=threads,
                query_sq=squared_norms(query) if self.metric == "euclidean" else None,
            )
        allowed = n if mask is None else int(np.count_nonzero(mask))
        return search_compressed(
            self.codes[:n],
            self.rows[:n],
            query,
            k,
            self.metric,
            quantizer=self.quantizer,
            row_sq=None if self.row_sq is None else self.row_sq[:n],
            mask=mask,
            threads=threads,
            candidates=min(default_candidates(k), allowed),
        )


class InMemoryVector(AsyncCloseable):
    """A :class:`~mastra.vector.VectorStore` held in process memory.

    Vectors live in one contiguous float32 matrix per index (plus a float16/int8 copy when the
    index is created with that ``dtype``), ids map to rows in O(1), and queries run the
    compiled top-k kernels with the metadata filter compiled to a row mask. ``save`` and
    ``load`` write an index to one ``.npz`` file for a quick restart.

    One store may be shared by coroutines on several threads' event loops: its locks wait
    without blocking any loop. ``async with InMemoryVector() as store:`` (or ``aclose()``)
    drops the indexes; a closed store raises StorageError.
    """

    def __init__(self) -> None:
        self._indexes: dict[str, _Index] = {}
        self._registry = threading.Lock()  # check-and-set of _indexes across threads
        self._closed = False

    def _get(self, name: str) -> _Index:
        check_open(self, self._closed)
        index = self._indexes.get(name)
        if index is None:
            raise self._unknown(name)
        return index

    def _unknown(self, name: str) -> NotFoundError:
        known = ", ".join(sorted(self._indexes)) or "none"
        return NotFoundError(f"unknown vector index {name!r}; indexes: {known}")

    def _check_live(self, name: str, target: _Index) -> None:
        """With the index's lock held: an index deleted (or a store closed) while we waited
        is reported as such rather than changed."""
        check_open(self, self._closed)
        if target.deleted:
            raise self._unknown(name)

    async def aclose(self) -> None:
        """Drop every index and refuse further use; closing again does nothing."""
        with self._registry:
            self._closed = True
            indexes, self._indexes = self._indexes, {}
        for index in indexes.values():
            index.deleted = True

    async def create_index(
        self,
        name: str,
        dimension: int,
        metric: Metric = "cosine",
        *,
        dtype: StorageDtype = "float32",
    ) -> None:
        """Create an index; creating it again with the same settings does nothing."""
        check_open(self, self._closed)
        check_index_name(name)
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension <= 0:
            raise ValidationError(f"dimension must be a positive integer, got {dimension!r}")
        check_metric(metric)
        check_dtype(dtype)
        with self._registry:
            existing = self._indexes.get(name)
            if existing is None:
                self._indexes[name] = _Index(dimension, metric, dtype)
                return
        if (existing.dimension, existing.metric, existing.dtype) != (dimension, metric, dtype):
            raise ValidationError(
                f"index {name!r} exists with dimension={existing.dimension}, "
                f"metric={existing.metric!r}, dtype={existing.dtype!r}; asked for "
                f"dimension={dimension}, metric={metric!r}, dtype={dtype!r}"
            )

    def _vectors(self, index: _Index, vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
        rows = real_matrix("vectors", vectors, (1, 2))
        rows = rows.reshape(1, -1) if rows.ndim == 1 else rows
        if rows.shape[1] != index.dimension:
            raise ValidationError(
                f"vectors have dimension {rows.shape[1]}; the index has dimension {index.dimension}"
            )
        if not np.isfinite(rows).all():
            raise ValidationError("vectors contain NaN or infinity; expected finite values")
        check_float16_range("vectors", rows, index.dtype, index.metric)
        return rows

    async def upsert(
        self,
        index: str,
        vectors: npt.ArrayLike,
        metadata: Sequence[dict[str, Any]] | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Insert vectors, or overwrite those whose id exists. Ids are generated (uuid4 hex)
        when not given. Everything is validated before anything is written."""
        target = self._get(index)
        rows = self._vectors(target, vectors)
        m = rows.shape[0]
        if m == 0:
            return []
        if metadata is not None and len(metadata) != m:
            raise ValidationError(f"got {len(metadata)} metadata objects for {m} vectors")
        if ids is not None and len(ids) != m:
            raise ValidationError(f"got {len(ids)} ids for {m} vectors")
        metas = (
            [_json_copy(f"metadata[{i}]", md) for i, md in enumerate(metadata)]
            if (metadata is not None)
            else [{} for _ in range(m)]
        )
        if ids is None:
            id_list = [uuid.uuid4().hex for _ in range(m)]
        else:
            id_list = list(ids)
            for id_ in id_list:
                if not isinstance(id_, str) or not id_:
                    raise ValidationError(f"ids must be non-empty strings, got {id_!r}")
            if len(set(id_list)) != m:
                raise ValidationError("ids repeat within one upsert; each id may appear once")
        async with target.lock.write():
            self._check_live(index, target)
            target.upsert(rows, metas, id_list)
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
        target = self._get(index)
        k = check_k(top_k)
        query, single = check_queries(vector, target.dimension)
        if not single:
            raise ValidationError(
                f"query takes one vector of shape ({target.dimension},), got shape {query.shape}"
            )
        spec = validate_filter(filter) if filter else None
        async with target.lock.read():
            self._check_live(index, target)
            mask = None if spec is None else target.meta.mask(spec).view(np.uint8)
            allowed = target.count if mask is None else int(np.count_nonzero(mask))
            if allowed == 0:
                return []
            k = min(k, allowed)
            ids, scores = await self._maybe_offload(
                target.count * target.dimension, lambda: target.search(query, k, mask)
            )
            return [
                QueryResult(
                    id=target.ids[row],
                    score=float(score),
                    metadata=orjson.loads(orjson.dumps(target.meta.rows[row])),
                    vector=target.rows[row].tolist() if include_vector else None,
                )
                for row, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True)
            ]

    @staticmethod
    async def _maybe_offload(work: int, fn: Callable[[], T]) -> T:
        if work > _OFFLOAD_WORK:
            return await asyncio.to_thread(fn)
        return fn()

    async def update_vector(
        self,
        index: str,
        id: str,
        vector: npt.ArrayLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Replace the vector and/or the metadata of an existing id."""
        target = self._get(index)
        if vector is None and metadata is None:
            raise ValidationError("update_vector needs a vector, metadata or both")
        row_vector = None if vector is None else self._vectors(target, vector)
        if row_vector is not None and row_vector.shape[0] != 1:
            raise ValidationError(f"update_vector takes one vector, got {row_vector.shape[0]}")
        meta = None if metadata is None else _json_copy("metadata", metadata)
        async with target.lock.write():
            self._check_live(index, target)
            row = self._row(target, index, id)
            target.update(row, row_vector, meta)

    @staticmethod
    def _row(target: _Index, index: str, id: str) -> int:
        try:
            return target.positions[id]
        except (KeyError, TypeError):
            raise NotFoundError(f"no vector with id {id!r} in index {index!r}") from None

    async def delete_vector(self, index: str, id: str) -> None:
        target = self._get(index)
        async with target.lock.write():
            self._check_live(index, target)
            self._row(target, index, id)
            target.delete(id)

    async def describe_index(self, index: str) -> IndexStats:
        target = self._get(index)
        return IndexStats(target.dimension, target.count, target.metric, target.dtype)

    async def list_indexes(self) -> list[str]:
        check_open(self, self._closed)
        return sorted(self._indexes)

    async def delete_index(self, index: str) -> None:
        target = self._get(index)
        async with target.lock.write():
            self._check_live(index, target)
            with self._registry:
                del self._indexes[index]
            target.deleted = True

    async def save(self, index: str, path: str | os.PathLike[str]) -> None:
        """Write the index to ``path`` (``.npz``: the float32 rows plus a JSON header with
        ids, metadata and settings). The file is replaced atomically."""
        target = self._get(index)
        async with target.lock.read():
            self._check_live(index, target)
            n = target.count
            header = {
                "version": _FORMAT_VERSION,
                "dimension": target.dimension,
                "metric": target.metric,
                "dtype": target.dtype,
                "ids": target.ids[:n],
                "metadata": target.meta.rows[:n],
            }
            rows = target.rows[:n].copy()
        await asyncio.to_thread(_write_npz, Path(path), rows, orjson.dumps(header))

    async def load(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Load an index written by :meth:`save` under ``name`` (default: the file's stem);
        returns the name. An existing index of that name is an error."""
        check_open(self, self._closed)
        file = Path(path)
        index_name = check_index_name(name if name is not None else file.stem)
        self._check_free(index_name)
        rows, header = await asyncio.to_thread(_read_npz, file)
        try:
            index = _Index(int(header["dimension"]), header["metric"], header["dtype"])
            ids, metadata = list(header["ids"]), list(header["metadata"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StorageError(f"{file} is not a saved vector index: {exc}") from None
        if rows.shape != (len(ids), index.dimension):
            raise StorageError(f"{file} holds {rows.shape} rows for {len(ids)} ids")
        if len(ids):
            index.upsert(rows, metadata, ids)
        with self._registry:  # another task may have taken the name while we read the file
            check_open(self, self._closed)
            self._check_free(index_name)
            self._indexes[index_name] = index
        return index_name

    def _check_free(self, name: str) -> None:
        if name in self._indexes:
            raise ValidationError(f"index {name!r} exists; delete it or load under another name")


def _write_npz(path: Path, rows: np.ndarray, header: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            np.savez(f, rows=rows, header=np.frombuffer(header, dtype=np.uint8))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write vector index to {path}: {exc.strerror or exc}") from None


def _read_npz(path: Path) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            rows = np.ascontiguousarray(data["rows"], dtype=np.float32)
            header = orjson.loads(data["header"].tobytes())
    except (OSError, KeyError, ValueError, orjson.JSONDecodeError) as exc:
        raise StorageError(f"cannot read vector index from {path}: {exc}") from None
    if not isinstance(header, dict) or header.get("version") != _FORMAT_VERSION:
        raise StorageError(f"{path} has an unknown vector index format")
    return rows, header
