"""``InMemoryVector``: the VectorStore on contiguous NumPy rows and the compiled kernels."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson

from mastra._native import _vector
from mastra.errors import StorageError, ValidationError
from mastra.vector.base import QueryResult, check_index_name
from mastra.vector.compressed import (
    Int8Quantizer,
    StorageDtype,
    default_candidates,
    encode,
    search_compressed,
)
from mastra.vector.filters import MetadataTable
from mastra.vector.hnsw import DEFAULT_HNSW, HnswGraph, HnswParams, IndexKind, check_index_kind
from mastra.vector.kernels import (
    IdArray,
    Metric,
    ScoreArray,
    Selection,
    check_metric,
    default_threads,
    run_search,
    select_rows,
    squared_norms,
    unit_rows,
)
from mastra.vector.locks import ReadWriteLock
from mastra.vector.store import (
    BaseVectorStore,
    Batch,
    IndexInfo,
    Search,
    unknown_index,
    unknown_vector,
)

__all__ = ["InMemoryVector"]

T = TypeVar("T")

_MIN_CAPACITY = 16
# Queries scanning more floats than this (rows the filter allows x dimensions) run in a worker
# thread, off the event loop.
_OFFLOAD_WORK = 1 << 20
# About the floats a scan reads in the time one result takes to build (~3 us: its metadata
# copied, the QueryResult made).
_RESULT_COST = 4_096
_FORMAT_VERSION = 1
# About the vectors a graph insert reads (its walk of expansion_add candidates).
_GRAPH_INSERT_COST = 1_000


class _Index:
    """One index: float32 rows (row i belongs to ids[i]), an optional compressed copy for the
    scan, metadata with value indexes. Deletes move the last row into the hole, so rows stay
    contiguous; capacity doubles on growth and halves when three quarters are free."""

    def __init__(
        self,
        dimension: int,
        metric: Metric,
        dtype: StorageDtype,
        hnsw: HnswParams | None = None,
    ) -> None:
        self.dimension, self.metric, self.dtype = dimension, metric, dtype
        self.graph = None if hnsw is None else HnswGraph.new(dimension, metric, hnsw)
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
        if self.graph is not None:
            self.graph.put(positions, vectors, self.count)
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
        known = list(map(self.positions.get, ids))  # the row of each id, None when new
        added = known.count(None)
        self._reserve(self.count + added)
        # the new ids take the next rows, in their order
        rows = range(self.count, self.count + added)
        if added == len(ids):
            positions, fresh, fresh_metadata = np.arange(rows.start, rows.stop), ids, metadata
        else:
            new = [i for i, row in enumerate(known) if row is None]
            positions = np.array([-1 if row is None else row for row in known], dtype=np.int64)
            positions[new] = rows
            fresh, fresh_metadata = [ids[i] for i in new], [metadata[i] for i in new]
        self._write(positions, vectors)
        if added < len(ids):
            for row, meta in zip(known, metadata, strict=True):
                if row is not None:
                    self.meta.replace(row, meta)
        self.ids += fresh
        self.positions.update(zip(fresh, rows, strict=True))
        self.meta.extend(fresh_metadata)
        self.count += added

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
        if self.graph is not None:
            self.graph.delete(row, last)
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

    def insert_work(self, count: int) -> int:
        """About the floats inserting ``count`` rows reads: a graph insert walks the graph
        (without one, a copy, left on the event loop)."""
        return 0 if self.graph is None else count * self.dimension * _GRAPH_INSERT_COST

    def work(self, k: int, selection: Selection) -> int:
        """About the floats a query reads: the rows it scans, or the graph's walk."""
        if self.graph is None or self.graph.prefers_exact(k, selection.allowed, self.count):
            return selection.allowed * self.dimension
        return self.graph.walk(k, selection.allowed, self.count) * self.dimension

    def search(
        self, query: npt.NDArray[np.float32], k: int, selection: Selection
    ) -> tuple[IdArray, ScoreArray]:
        n = self.count
        if self.graph is not None and not self.graph.prefers_exact(k, selection.allowed, n):
            candidates = self.graph.candidates(query, k, selection, n)
            if candidates is not None:  # else too few pass: scan them all
                selection = Selection(None, candidates, len(candidates))
        threads = default_threads(selection.allowed, self.dimension, 1)
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
                mask=selection.mask,
                rows=selection.rows,
                threads=threads,
                query_sq=squared_norms(query) if self.metric == "euclidean" else None,
            )
        return search_compressed(
            self.codes[:n],
            self.rows[:n],
            query,
            k,
            self.metric,
            quantizer=self.quantizer,
            row_sq=None if self.row_sq is None else self.row_sq[:n],
            selection=selection,
            threads=threads,
            candidates=min(default_candidates(k), selection.allowed),
        )


def _results(
    target: _Index, rows: list[int], scores: list[float], with_vectors: bool
) -> list[QueryResult]:
    """The QueryResults of ``rows``, their metadata copied by one JSON round trip."""
    metadata = orjson.loads(orjson.dumps([target.meta.rows[row] for row in rows]))
    return [
        QueryResult(
            id=target.ids[row],
            score=score,
            metadata=meta,
            vector=target.rows[row].tolist() if with_vectors else None,
        )
        for row, score, meta in zip(rows, scores, metadata, strict=True)
    ]


class InMemoryVector(BaseVectorStore):
    """A :class:`~mastra.vector.VectorStore` held in process memory.

    Vectors live in one contiguous float32 matrix per index (plus a float16/int8 copy when the
    index is created with that ``dtype``), ids map to rows in O(1), and queries run the
    compiled top-k kernels with the metadata filter compiled to a row mask. ``save`` and
    ``load`` write an index to one ``.npz`` file for a quick restart.

    ``index="hnsw"`` (needs ``mastra[hnsw]``) adds a usearch HNSW graph to each index:
    queries walk the graph for candidates and re-rank them exactly, so a query costs about a
    millisecond at a million vectors instead of a full scan, at the price of recall (some true
    neighbours missed; ``expansion_search`` trades speed for recall), a slower upsert (the
    graph insert) and the graph's memory. Filters still hold: the graph is asked for more
    candidates, and a filter letting few rows through is answered by the exact scan. ``save``
    writes the graph too, and ``load`` restores it.

    One store may be shared by coroutines on several threads' event loops: its locks wait
    without blocking any loop. ``async with InMemoryVector() as store:`` (or ``aclose()``)
    drops the indexes; a closed store raises StorageError.
    """

    def __init__(
        self,
        *,
        index: IndexKind = "exact",
        connectivity: int = DEFAULT_HNSW.connectivity,
        expansion_add: int = DEFAULT_HNSW.expansion_add,
        expansion_search: int = DEFAULT_HNSW.expansion_search,
    ) -> None:
        self._hnsw = check_index_kind(
            index, HnswParams(connectivity, expansion_add, expansion_search)
        )
        super().__init__()
        self._indexes: dict[str, _Index] = {}
        self._registry = threading.Lock()  # check-and-set of _indexes across threads

    def _get(self, name: str) -> _Index:
        index = self._indexes.get(name)
        if index is None:
            raise unknown_index(name, list(self._indexes))
        return index

    def _check_live(self, name: str, target: _Index) -> None:
        """With the index's lock held: an index deleted while we waited is reported as such
        rather than changed."""
        if target.deleted:
            raise unknown_index(name, list(self._indexes))

    async def _release(self) -> None:
        """Drop every index."""
        with self._registry:
            indexes, self._indexes = self._indexes, {}
        for index in indexes.values():
            index.deleted = True

    # -- the hooks of BaseVectorStore -----------------------------------------------------

    async def _info(self, index: str) -> IndexInfo:
        target = self._get(index)
        return IndexInfo(target.dimension, target.metric, target.dtype)

    async def _create(self, name: str, info: IndexInfo, options: dict[str, Any]) -> None:
        if options:
            raise ValidationError(
                f"InMemoryVector.create_index takes no {', '.join(sorted(options))}"
            )
        with self._registry:
            existing = self._indexes.get(name)
            if existing is None:
                self._indexes[name] = self._new_index(info.dimension, info.metric, info.dtype)
                return
        had = IndexInfo(existing.dimension, existing.metric, existing.dtype)
        if had != info:
            raise ValidationError(
                f"index {name!r} exists with dimension={had.dimension}, metric={had.metric!r}, "
                f"dtype={had.dtype!r}; asked for dimension={info.dimension}, "
                f"metric={info.metric!r}, dtype={info.dtype!r}"
            )

    def _new_index(self, dimension: int, metric: Metric, dtype: StorageDtype) -> _Index:
        return _Index(dimension, metric, dtype, self._hnsw)

    async def _upsert(self, index: str, batch: Batch) -> None:
        target = self._get(index)
        async with target.lock.write():
            self._check_live(index, target)
            await self._maybe_offload(
                target.insert_work(len(batch.ids)),
                lambda: target.upsert(batch.rows, batch.metadata, batch.ids),
            )

    async def _query(self, index: str, search: Search) -> list[QueryResult]:
        target = self._get(index)
        async with target.lock.read():
            self._check_live(index, target)
            selection = self._select(target, search.filter)
            if selection.allowed == 0:
                return []
            k = min(search.k, selection.allowed)
            query = search.vector.reshape(1, -1)

            def answer() -> list[QueryResult]:
                ids, scores = target.search(query, k, selection)
                return _results(target, ids[0].tolist(), scores[0].tolist(), search.include_vector)

            # a large k (a scan of the whole index, say) is mostly building results
            return await self._maybe_offload(target.work(k, selection) + k * _RESULT_COST, answer)

    @staticmethod
    def _select(target: _Index, spec: dict[str, Any] | None) -> Selection:
        """The rows a filter lets through: straight from a value index for one field's $eq or
        $in, else from its mask."""
        if spec is None:
            return select_rows(None, target.count, 1)
        rows = target.meta.matching_rows(spec)
        if rows is not None:
            return select_rows(None, target.count, 1, rows)
        return select_rows(target.meta.mask(spec), target.count, 1)

    @staticmethod
    async def _maybe_offload(work: int, fn: Callable[[], T]) -> T:
        if work > _OFFLOAD_WORK:
            return await asyncio.to_thread(fn)
        return fn()

    async def _update(
        self,
        index: str,
        id: str,
        row: npt.NDArray[np.float32] | None,
        metadata: dict[str, Any] | None,
    ) -> None:
        target = self._get(index)
        async with target.lock.write():
            self._check_live(index, target)
            target.update(self._row(target, index, id), row, metadata)

    @staticmethod
    def _row(target: _Index, index: str, id: str) -> int:
        try:
            return target.positions[id]
        except (KeyError, TypeError):
            raise unknown_vector(index, id) from None

    async def _delete(self, index: str, id: str) -> None:
        target = self._get(index)
        async with target.lock.write():
            self._check_live(index, target)
            self._row(target, index, id)
            target.delete(id)

    async def _count(self, index: str) -> int:
        return self._get(index).count

    async def _list(self) -> list[str]:
        return list(self._indexes)

    async def _drop(self, index: str) -> None:
        target = self._get(index)
        async with target.lock.write():
            self._check_live(index, target)
            with self._registry:
                del self._indexes[index]
            target.deleted = True

    # -- snapshots ------------------------------------------------------------------------

    async def save(self, index: str, path: str | os.PathLike[str]) -> None:
        """Write the index to ``path`` (``.npz``: the float32 rows plus a JSON header with
        ids, metadata and settings). The file is replaced atomically."""
        async with self._gate.read():
            self._check_open()
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
                graph = {}
                if target.graph is not None:  # a copy of the whole graph: off the event loop
                    graph = await asyncio.to_thread(target.graph.snapshot, n)
        await asyncio.to_thread(_write_npz, Path(path), rows, orjson.dumps(header), graph)

    async def load(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Load an index written by :meth:`save` under ``name`` (default: the file's stem);
        returns the name. An existing index of that name is an error."""
        self._check_open()
        file = Path(path)
        index_name = check_index_name(name if name is not None else file.stem)
        self._check_free(index_name)
        rows, header, saved_graph = await asyncio.to_thread(_read_npz, file)
        try:
            check_metric(header["metric"])
            index = _Index(int(header["dimension"]), header["metric"], header["dtype"])
            ids, metadata = list(header["ids"]), list(header["metadata"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StorageError(f"{file} is not a saved vector index: {exc}") from None
        if rows.shape != (len(ids), index.dimension):
            raise StorageError(f"{file} holds {rows.shape} rows for {len(ids)} ids")
        if len(ids):
            index.upsert(rows, metadata, ids)
        if self._hnsw is not None:
            index.graph = await asyncio.to_thread(_loaded_graph, index, saved_graph, self._hnsw)
        with self._registry:  # another task may have taken the name while we read the file
            self._check_open()
            self._check_free(index_name)
            self._indexes[index_name] = index
        return index_name

    def _check_free(self, name: str) -> None:
        if name in self._indexes:
            raise ValidationError(f"index {name!r} exists; delete it or load under another name")


def _loaded_graph(index: _Index, saved: dict[str, np.ndarray], params: HnswParams) -> HnswGraph:
    """The graph saved with a loaded index, or (none saved, or not fitting) a new one."""
    graph = HnswGraph.restore(saved, index.dimension, index.metric, params)
    if graph is None:
        graph = HnswGraph.new(index.dimension, index.metric, params)
        if index.count:
            graph.put(np.arange(index.count), index.rows[: index.count], 0)
    return graph


def _write_npz(path: Path, rows: np.ndarray, header: bytes, graph: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            arrays: dict[str, Any] = {"rows": rows, "header": np.frombuffer(header, np.uint8)}
            np.savez(f, **(arrays | graph))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write vector index to {path}: {exc.strerror or exc}") from None


def _read_npz(
    path: Path,
) -> tuple[npt.NDArray[np.float32], dict[str, Any], dict[str, np.ndarray]]:
    """The rows, the header and the saved graph's arrays (empty when none was saved)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            rows = np.ascontiguousarray(data["rows"], dtype=np.float32)
            header = orjson.loads(data["header"].tobytes())
            graph = {name: data[name] for name in ("graph", "graph_keys") if name in data}
    except (OSError, KeyError, ValueError, orjson.JSONDecodeError) as exc:
        raise StorageError(f"cannot read vector index from {path}: {exc}") from None
    if not isinstance(header, dict) or header.get("version") != _FORMAT_VERSION:
        raise StorageError(f"{path} has an unknown vector index format")
    return rows, header, graph
