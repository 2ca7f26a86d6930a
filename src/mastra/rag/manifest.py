"""The ingest manifest: which documents an index holds, with their content hash and chunk
count, kept in a small side index of the same vector store (``<index>__docs``, dimension 1)
so that it works on every store through the public VectorStore API.

Entries are stored by the batch: one *page* row lists the documents one write finished (their
fields one after another in a JSON array, kept as one string), with a sequence number. A
document written again moves to the new page and is dropped from its old one (an emptied page
is deleted); should a run die between the two writes, the page with the higher number wins
when the manifest is loaded, and the older page is rewritten then. One row per batch instead
of one per document keeps the store's copy of the manifest small (for SQLiteVector, memory)
and its writes few. Rows of kind
``"document"`` (one document each, as earlier versions wrote) are read as pages numbered 0.

Before any chunk of a batch of documents is written, one *journal* row names those documents
with the larger of their old and new chunk counts; after all of them are written, the row is
overwritten with their ``"done"`` page (one write: the journal becomes the page). A run killed
in between leaves the journal, which the next run reads as ``"writing"`` entries: they say
which chunk ids may exist, so that run overwrites or deletes them (documents it does not redo
keep a ``"writing"`` entry of their own when it settles). Chunk ids are
``<document id>#<position>``, so rewriting a document overwrites in place and never duplicates.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import orjson

from mastra.errors import NotFoundError, StorageError, ValidationError
from mastra.vector.base import VectorStore

__all__ = ["Entry", "Manifest", "chunk_id", "manifest_index"]

_SUFFIX = "__docs"
_GENERATION = "__generation__"
_PAGE = "__page__"
_FIELDS = 6  # an entry's fields in a page's flat list: see Entry.fields
_ONE = [1.0]


def manifest_index(index: str) -> str:
    name = index + _SUFFIX
    if len(name) > 63:
        raise ValidationError(
            f"index name {index!r} is too long for ingest: at most {63 - len(_SUFFIX)} "
            f"characters (ingest keeps its manifest in {index}{_SUFFIX})"
        )
    return name


def chunk_id(document_id: str, position: int) -> str:
    return f"{document_id}#{position}"


class Entry(msgspec.Struct):
    """One document in the manifest."""

    id: str
    hash: str
    text_hash: str
    chunks: int
    state: str  # "writing" | "done"
    root: str  # the path source it came from ("" for Document objects)

    def fields(self) -> tuple[str, str, str, int, str, str]:
        return (self.id, self.hash, self.text_hash, self.chunks, self.state, self.root)

    @classmethod
    def parse(cls, fields: Iterable[Any]) -> Entry:
        id_, hash_, text_hash, chunks, state, root = fields
        return cls(str(id_), str(hash_), str(text_hash), int(chunks), str(state), str(root))


class _Page(msgspec.Struct):
    """A page row as the manifest knows it: its number and the documents it lists now."""

    seq: int
    ids: set[str]


def _entries(row_id: str, docs: Any) -> Iterator[Entry]:
    """The entries of a page: its ``docs``, a JSON array of their fields one after another."""
    try:
        flat = orjson.loads(docs)
        if not isinstance(flat, list) or len(flat) % _FIELDS:
            raise ValueError(f"a list of {_FIELDS} fields per document was expected")
        return (Entry.parse(flat[at : at + _FIELDS]) for at in range(0, len(flat), _FIELDS))
    except (TypeError, ValueError) as exc:
        raise StorageError(f"ingest manifest page {row_id!r} is unreadable: {exc}") from None


class Manifest:
    """The manifest of one index, loaded whole (ids and hashes only: small beside the corpus)
    and written through a page per batch."""

    def __init__(self, store: VectorStore, index: str) -> None:
        self.store, self.index, self.name = store, index, manifest_index(index)
        self.entries: dict[str, Entry] = {}
        self.by_text: dict[str, str] = {}  # text hash -> a done document holding that text
        self.info: dict[str, Any] = {}
        self.journals: list[str] = []  # journal rows of runs that died while writing
        self.pages: dict[str, _Page] = {}  # page row id -> the page
        self.page_of: dict[str, str] = {}  # document id -> the page row listing it
        self.seq = 0  # the highest page number so far
        self.writing = asyncio.Lock()  # page rows are written one at a time, from memory

    async def load(self) -> Manifest:
        await self.store.create_index(self.name, 1)
        journals: list[tuple[str, Any]] = []
        listed: list[tuple[int, str, list[Entry]]] = []
        for row in await read_all(self.store, self.name, 1):
            meta = row.metadata
            if meta.get("kind") == "journal":
                journals.append((row.id, meta.get("docs")))
            elif meta.get("kind") == "generation":
                self.info = dict(meta)
            elif meta.get("kind") == "page":
                entries = list(_entries(row.id, meta.get("docs")))
                listed.append((int(meta.get("seq", 0)), row.id, entries))
            elif meta.get("kind") == "document":
                fields = ("hash", "text_hash", "chunks", "state", "root")
                defaults = ("", "", 0, "writing", "")
                entry = Entry.parse([row.id, *map(meta.get, fields, defaults)])
                listed.append((0, row.id, [entry]))
        stale: set[str] = set()  # pages listing a document that a newer page lists too
        for seq, page, entries in sorted(listed, key=lambda p: (p[0], p[1])):
            self.pages[page] = _Page(seq, set())
            self.seq = max(self.seq, seq)
            stale.update(self._place(entries, page))
        await self._rewrite(stale)
        for row_id, docs in journals:
            self._replay(row_id, docs)
        return self

    def _replay(self, row_id: str, docs: Any) -> None:
        """A dead run's journal: the documents it names become ``"writing"`` entries."""
        self.journals.append(row_id)
        flat = docs if isinstance(docs, list) else []
        for doc_id, chunks, root in zip(flat[0::3], flat[1::3], flat[2::3], strict=True):
            before = self.entries.get(doc_id)
            if before is None:
                self.entries[doc_id] = Entry(doc_id, "", "", int(chunks), "writing", str(root))
                continue
            if self.by_text.get(before.text_hash) == doc_id:
                del self.by_text[before.text_hash]
            self.entries[doc_id] = msgspec.structs.replace(
                before, chunks=max(before.chunks, int(chunks)), state="writing"
            )

    async def begin(self, entries: Iterable[Entry]) -> str:
        """Write the journal row of a batch about to be written: each document's id, the
        number of chunk ids it may have once the batch is half-written, and its root, one
        after the other in one flat list (one object for the store to keep, not one per
        document). Returns the row's id, which :meth:`put` turns into the batch's page."""
        row_id = f"{_PAGE}{uuid.uuid4().hex}"
        docs = [field for e in entries for field in (e.id, e.chunks, e.root)]
        await self.store.upsert(self.name, [_ONE], [{"kind": "journal", "docs": docs}], [row_id])
        return row_id

    async def settle(self) -> None:
        """After a run, retire the dead runs' journals: documents they name that this run did
        not redo or remove keep a ``"writing"`` entry of their own, then the journals go."""
        if not self.journals:
            return
        await self.put([e for e in self.entries.values() if e.state == "writing"])
        for journal in self.journals:
            await delete_quietly(self.store, self.name, journal)
        self.journals = []

    def _place(self, entries: list[Entry], page: str) -> set[str]:
        """Record ``entries`` as listed on ``page``; returns the pages they left. (One call a
        page, its lookups hoisted: ingest places every document it writes.)"""
        known, by_text, page_of, listed = self.entries, self.by_text, self.page_of, self.pages
        on_page = listed[page].ids
        left: set[str] = set()
        for entry in entries:
            id_ = entry.id
            before = known.get(id_)
            if (
                before is not None
                and before.text_hash != entry.text_hash
                and by_text.get(before.text_hash) == id_
            ):
                del by_text[before.text_hash]
            known[id_] = entry
            if entry.state == "done":
                by_text.setdefault(entry.text_hash, id_)
            on_page.add(id_)
            was = page_of.get(id_)
            page_of[id_] = page
            if was is not None and was != page:
                listed[was].ids.discard(id_)
                left.add(was)
        return left

    async def _rewrite(self, pages: Iterable[str]) -> None:
        """Write these pages again as memory has them now (emptied ones are deleted)."""
        for page in sorted(pages):
            known = self.pages[page]
            if not known.ids:
                del self.pages[page]
                await delete_quietly(self.store, self.name, page)
                continue
            docs = [f for i in sorted(known.ids) for f in self.entries[i].fields()]
            await self._write_page(page, known.seq, docs)

    async def _write_page(self, page: str, seq: int, docs: list[Any]) -> None:
        # the fields as one JSON text: one string for the store to keep, not six per document
        meta = {"kind": "page", "seq": seq, "docs": orjson.dumps(docs).decode()}
        await self.store.upsert(self.name, [_ONE], [meta], [page])

    async def put(self, entries: Iterable[Entry], page: str | None = None) -> None:
        """Write ``entries`` as one new page (in place of their journal row ``page`` when
        given), then drop them from the pages that held them."""
        batch = list(entries)
        if not batch:
            return
        async with self.writing:
            self.seq += 1
            page = page or f"{_PAGE}{uuid.uuid4().hex}"
            await self._write_page(page, self.seq, [f for e in batch for f in e.fields()])
            self.pages[page] = _Page(self.seq, set())
            await self._rewrite(self._place(batch, page))

    async def remove(self, document_ids: Iterable[str]) -> None:
        """Forget these documents (each page that listed one is written once)."""
        async with self.writing:
            left: set[str] = set()
            for document_id in document_ids:
                entry = self.entries.pop(document_id, None)
                if entry is not None and self.by_text.get(entry.text_hash) == document_id:
                    del self.by_text[entry.text_hash]
                page = self.page_of.pop(document_id, None)
                if page is not None:
                    self.pages[page].ids.discard(document_id)
                    left.add(page)
            await self._rewrite(left)

    async def bump(self, **info: Any) -> None:
        """A new generation token (retrieval's lexical cache watches it) and run info."""
        self.info = {**self.info, **info, "kind": "generation", "generation": uuid.uuid4().hex}
        await self.store.upsert(self.name, [_ONE], [self.info], [_GENERATION])


async def read_generation(store: VectorStore, index: str) -> dict[str, Any] | None:
    """The manifest's generation row, or None when the index has no manifest."""
    try:
        name = manifest_index(index)
        rows = await store.query(name, _ONE, top_k=1, filter={"kind": "generation"})
    except (NotFoundError, ValidationError):
        return None
    return dict(rows[0].metadata) if rows else None


async def read_all(store: VectorStore, index: str, dimension: int) -> list[Any]:
    """Every row of an index (the store has no scan: a query whose k is the count)."""
    count = (await store.describe_index(index)).count
    if count == 0:
        return []
    return await store.query(index, [1.0] * dimension, top_k=count)


async def delete_quietly(store: VectorStore, index: str, id: str) -> bool:
    """Delete one vector; an id already gone (a run killed mid-delete) is not an error."""
    try:
        await store.delete_vector(index, id)
    except NotFoundError:
        return False
    return True
