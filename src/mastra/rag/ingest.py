"""``ingest``: sources -> documents -> chunks -> embeddings -> the vector store, as a bounded
pipeline (at most ``concurrency`` batches of up to ``batch_size`` chunks in flight), with a
manifest that makes it incremental and resumable (see :mod:`mastra.rag.manifest`)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import orjson

from mastra.errors import MastraError, ValidationError
from mastra.rag.chunkers import Chunker, RecursiveChunker
from mastra.rag.documents import Document
from mastra.rag.embedders import Embedder
from mastra.rag.loaders import Loaded, Skipped, load_file, walk_files
from mastra.rag.manifest import Entry, Manifest, chunk_id, delete_quietly
from mastra.vector.base import VectorStore, check_index_name

__all__ = ["IngestReport", "Source", "ingest"]

Source = str | os.PathLike[str] | Document
_Item = tuple[Document | Path, str]  # a document or a file, and the path source it came from


class IngestReport(msgspec.Struct):
    """What an ingest did.

    Attributes:
        documents: documents written (new or changed).
        unchanged: documents already stored with the same content, left alone.
        deleted: documents removed because their file is gone from a walked folder.
        chunks: chunks written.
        skipped: sources left out, each with the reason (unreadable, binary, duplicate ...).
        encoding_errors: undecodable byte runs replaced by U+FFFD.
        seconds: wall time.
    """

    documents: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks: int = 0
    skipped: list[Skipped] = msgspec.field(default_factory=list)
    encoding_errors: int = 0
    seconds: float = 0.0


def embedder_fingerprint(embedder: Embedder) -> str:
    found = getattr(embedder, "fingerprint", None)
    return str(found) if found else f"{type(embedder).__name__}(dimension={embedder.dimension})"


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}")
    return value


def _globs(glob: str | Sequence[str] | None) -> list[str]:
    patterns = ["**/*"] if glob is None else [glob] if isinstance(glob, str) else list(glob)
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ValidationError(f"glob must be a pattern or a list of patterns, got {glob!r}")
    return patterns


class _Sources:
    """The sources as items, path sources walked as they come; remembers the roots walked
    (only those may have documents pruned) and what could not be found."""

    def __init__(self, sources: Source | Iterable[Source], globs: list[str]) -> None:
        if isinstance(sources, (str, os.PathLike, Document)):
            sources = [sources]
        self.sources, self.globs = sources, globs
        self.roots: set[str] = set()
        self.missing: list[Skipped] = []
        self.total: int | None = None
        if isinstance(sources, Sequence):
            self.items: Iterable[_Item] = list(self._walk())
            self.total = len(self.items)
        else:
            self.items = self._walk()

    def _walk(self) -> Iterator[_Item]:
        for source in self.sources:
            if isinstance(source, Document):
                yield source, ""
            elif isinstance(source, (str, os.PathLike)):
                yield from self._paths(Path(source).absolute())
            else:
                raise ValidationError(
                    f"sources must be paths or Documents, got {type(source).__name__}"
                )

    def _paths(self, path: Path) -> Iterator[_Item]:
        root = str(path)
        if path.is_dir():
            self.roots.add(root)
            for file in walk_files(path, self.globs):
                yield file, root
        elif path.is_file():
            self.roots.add(root)
            yield path, root
        else:
            self.missing.append(Skipped(root, "not found"))


class _Pending(msgspec.Struct, gc=False):
    """A document on its way to the store."""

    entry: Entry  # the manifest entry once written
    old_chunks: int  # how many chunk ids the store may hold for it now


class _Group(msgspec.Struct, gc=False):
    """Documents on their way to the store, with their chunks as the store will hold them
    (metadata with the text, and ids): the Chunk objects are dropped as soon as they are
    made. Dicts of strings and numbers are not tracked by the garbage collector, nor is this
    (never in a reference cycle), so batches in flight are not walked by every collection."""

    documents: list[_Pending] = msgspec.field(default_factory=list)
    metadata: list[dict[str, Any]] = msgspec.field(default_factory=list)
    ids: list[str] = msgspec.field(default_factory=list)


class _Run:
    def __init__(
        self,
        store: VectorStore,
        index: str,
        embedder: Embedder,
        chunker: Chunker,
        batch_size: int,
        concurrency: int,
    ) -> None:
        self.store, self.index, self.embedder, self.chunker = store, index, embedder, chunker
        self.batch_size = batch_size
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.report = IngestReport()
        self.manifest = Manifest(store, index)
        fingerprint = f"{chunker.fingerprint}|{embedder_fingerprint(embedder)}"
        self.fingerprint_bytes = fingerprint.encode()
        self.group = _Group()
        self.seen: set[str] = set()
        self.duplicates: list[tuple[_Item, str]] = []  # skipped as copies: (item, text hash)
        self.bar: Any = None
        self.started = time.perf_counter()

    # -- one document ---------------------------------------------------------------------

    def _load(self, item: _Item) -> Document | None:
        thing, _ = item
        if isinstance(thing, Document):
            return thing
        loaded = load_file(thing)
        if isinstance(loaded, Skipped):
            self.report.skipped.append(loaded)
            return None
        assert isinstance(loaded, Loaded)
        self.report.encoding_errors += loaded.replaced
        return loaded.document

    def _hashes(self, document: Document) -> tuple[str, str]:
        """The document's full hash (text, metadata, chunker and embedder) and its text's
        (``content_hash``), in one pass over the text: the first digest is read midway."""
        digest = hashlib.blake2b(document.text.encode("utf-8", "surrogatepass"), digest_size=16)
        text_hash = digest.hexdigest()
        digest.update(orjson.dumps(document.metadata, option=orjson.OPT_SORT_KEYS))
        digest.update(self.fingerprint_bytes)
        return digest.hexdigest(), text_hash

    async def feed(self, item: _Item, *, retry: bool = False) -> None:
        if isinstance(item[0], Path) and str(item[0]) in self.seen:
            self.report.skipped.append(Skipped(str(item[0]), "listed twice"))
            return
        document = self._load(item)
        if self.bar is not None and not retry:
            self.bar.update(1)
        if document is None:
            return
        doc_id = str(document.id)
        if doc_id in self.seen:
            self.report.skipped.append(Skipped(document.source, f"duplicate id {doc_id!r}"))
            return
        self.seen.add(doc_id)
        old = self.manifest.entries.get(doc_id)
        full_hash, text_hash = self._hashes(document)
        if old is not None and old.state == "done" and old.hash == full_hash:
            self.report.unchanged += 1
            return
        keeper = self.manifest.by_text.get(text_hash)
        if keeper is not None and keeper != doc_id:
            self.seen.discard(doc_id)  # unseen: copies are retried if the keeper goes
            self.duplicates.append((item, text_hash))
            if old is not None:  # it held other content before: that is stale now
                await self.remove([old])
            return
        try:
            chunks = await self.chunker.achunk(document)
        except MastraError as exc:
            self.report.skipped.append(Skipped(document.source, f"cannot chunk: {exc}"))
            return
        if self.group.ids and len(self.group.ids) + len(chunks) > self.batch_size:
            await self.flush()  # sent as it is: one store write of at most batch_size chunks
        entry = Entry(doc_id, full_hash, text_hash, len(chunks), "done", item[1])
        self.manifest.by_text.setdefault(text_hash, doc_id)  # later copies in this run wait
        group = self.group
        group.documents.append(_Pending(entry, old.chunks if old else 0))
        group.metadata += [{**c.metadata, "text": c.text} for c in chunks]
        group.ids += [chunk_id(doc_id, int(c.metadata["position"])) for c in chunks]
        if len(group.ids) >= self.batch_size:
            await self.flush()

    # -- one batch ------------------------------------------------------------------------

    async def flush(self) -> None:
        group, self.group = self.group, _Group()
        if not group.documents:
            return
        await self.slots.acquire()
        task = asyncio.create_task(self._write(group))
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.slots.release()
        if not task.cancelled() and task.exception() is None:
            self.tasks.discard(task)

    async def _write(self, group: _Group) -> None:
        documents, ids = group.documents, group.ids
        journal = await self.manifest.begin(
            p.entry
            if p.old_chunks <= p.entry.chunks
            else msgspec.structs.replace(p.entry, chunks=p.old_chunks)
            for p in documents
        )
        for start in range(0, len(ids), self.batch_size):
            end = start + self.batch_size
            await self._upsert(group.metadata[start:end], ids[start:end])
        for p in documents:
            for position in range(p.entry.chunks, p.old_chunks):
                await delete_quietly(self.store, self.index, chunk_id(p.entry.id, position))
        await self.manifest.put((p.entry for p in documents), journal)
        self.report.documents += len(documents)
        self.report.chunks += len(ids)
        if self.bar is not None:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            self.bar.set_postfix_str(f"{self.report.chunks / elapsed:,.0f} chunks/s")

    async def _upsert(self, metadata: list[dict[str, Any]], ids: list[str]) -> None:
        texts = [m["text"] for m in metadata]
        unique = list(dict.fromkeys(texts))
        rows = np.asarray(await self.embedder.embed(unique), dtype=np.float32)
        if rows.shape != (len(unique), self.embedder.dimension):
            raise ValidationError(
                f"the embedder returned shape {rows.shape} for {len(unique)} texts; "
                f"expected ({len(unique)}, {self.embedder.dimension})"
            )
        if len(unique) < len(texts):  # copies within the batch were embedded once
            where = {text: i for i, text in enumerate(unique)}
            rows = rows[[where[t] for t in texts]]
        await self.store.upsert(self.index, rows, metadata, ids)

    async def drain(self) -> None:
        await self.flush()
        while self.tasks:
            pending = list(self.tasks)
            await asyncio.gather(*pending)
            self.tasks.difference_update(pending)

    # -- the end of a run -----------------------------------------------------------------

    async def prune(self, roots: set[str]) -> None:
        """Remove documents of the walked roots that this run did not see (deleted files)."""
        gone = [
            e for e in self.manifest.entries.values() if e.root in roots and e.id not in self.seen
        ]
        if gone:
            await self.remove(gone)

    async def remove(self, entries: list[Entry]) -> None:
        """Delete the documents' chunks, then their manifest entries (a run killed in between
        leaves entries that the next one removes again)."""
        for entry in entries:
            for position in range(entry.chunks):
                await delete_quietly(self.store, self.index, chunk_id(entry.id, position))
        await self.manifest.remove(e.id for e in entries)
        self.report.deleted += len(entries)

    async def retry_duplicates(self) -> None:
        """Copies skipped because another document held their text: ingest those whose
        keeper no longer holds it (deleted or changed in this run); list the others."""
        waiting, self.duplicates = self.duplicates, []
        for item, text_hash in waiting:
            keeper = self.manifest.by_text.get(text_hash)
            if keeper is None:
                await self.feed(item, retry=True)
            else:
                self.report.skipped.append(Skipped(_source_of(item), f"same content as {keeper}"))
        await self.drain()
        for item, _ in self.duplicates:  # copies of a copy that was retried just now
            self.report.skipped.append(Skipped(_source_of(item), "same content as another"))


def _source_of(item: _Item) -> str:
    thing = item[0]
    return thing.source if isinstance(thing, Document) else str(thing)


def _progress_bar(enabled: bool, total: int | None) -> Any:
    """tqdm on a terminal (documents/s, ETA when the total is known), else nothing."""
    if not enabled or not sys.stderr.isatty():
        return None
    try:
        tqdm = importlib.import_module("tqdm").tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="doc", desc="ingest", file=sys.stderr, dynamic_ncols=True)


async def ingest(
    sources: Source | Iterable[Source],
    store: VectorStore,
    index: str,
    embedder: Embedder,
    chunker: Chunker | None = None,
    *,
    batch_size: int = 256,
    concurrency: int = 4,
    glob: str | Sequence[str] | None = None,
    progress: bool = True,
) -> IngestReport:
    """Load, chunk, embed and store ``sources`` (files, folders walked with ``glob``, or
    :class:`Document` s; an iterator is consumed as it goes) into ``index``.

    Incremental: a document whose text, metadata, chunker and embedder are unchanged is left
    alone; a changed one is rewritten in place; documents of a walked folder whose files are
    gone are removed; a document with the same text as one already stored is skipped.
    Resumable: a run killed at any point and run again ends as one clean run would.
    ``progress`` shows a tqdm bar on a terminal. Chunk metadata holds ``text``, ``source``,
    ``document_id``, ``position``, ``start``, ``end`` and the document's metadata."""
    started = time.perf_counter()
    check_index_name(index)
    if not isinstance(embedder, Embedder):
        raise ValidationError(f"embedder must be an Embedder, got {type(embedder).__name__}")
    chunker = RecursiveChunker() if chunker is None else chunker
    if not isinstance(chunker, Chunker):
        raise ValidationError(f"chunker must be a Chunker, got {type(chunker).__name__}")
    run = _Run(
        store,
        index,
        embedder,
        chunker,
        _check_positive("batch_size", batch_size),
        _check_positive("concurrency", concurrency),
    )
    plan = _Sources(sources, _globs(glob))
    await store.create_index(index, embedder.dimension)
    await run.manifest.load()
    run.bar = _progress_bar(progress, plan.total)
    try:
        for item in plan.items:
            await run.feed(item)
        await run.drain()
        await run.prune(plan.roots)
        await run.retry_duplicates()
        await run.manifest.settle()
    finally:
        await asyncio.gather(*run.tasks, return_exceptions=True)
        if run.bar is not None:
            run.bar.close()
    report = run.report
    report.skipped = plan.missing + report.skipped
    if report.documents or report.deleted or not run.manifest.info:
        await run.manifest.bump(embedder=embedder_fingerprint(embedder))
    report.seconds = time.perf_counter() - started
    return report
