"""The ingest manifest: which documents an index holds, with their content hash and chunk
count, kept in a small side index of the same vector store (``<index>__docs``, dimension 1)
so that it works on every store through the public VectorStore API.

Before any chunk of a batch of documents is written, one *journal* row names those documents
with the larger of their old and new chunk counts; after all of them are written, each
document's entry is written ``"done"`` and the journal row is deleted. A run killed in between
leaves the journal, which the next run reads as ``"writing"`` entries: they say which chunk ids
may exist, so that run overwrites or deletes them (documents it does not redo keep a
``"writing"`` entry of their own when it settles). Chunk ids are ``<document id>#<position>``,
so rewriting a document overwrites in place and never duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from mastra.errors import NotFoundError, ValidationError
from mastra.vector.base import VectorStore

__all__ = ["Entry", "Manifest", "chunk_id", "manifest_index"]

_SUFFIX = "__docs"
_GENERATION = "__generation__"
_JOURNAL = "__journal__"
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

    def metadata(self) -> dict[str, Any]:
        return {
            "kind": "document",
            "hash": self.hash,
            "text_hash": self.text_hash,
            "chunks": self.chunks,
            "state": self.state,
            "root": self.root,
        }


class Manifest:
    """The manifest of one index, loaded whole (ids and hashes only: small beside the corpus)
    and written through in batches."""

    def __init__(self, store: VectorStore, index: str) -> None:
        self.store, self.index, self.name = store, index, manifest_index(index)
        self.entries: dict[str, Entry] = {}
        self.by_text: dict[str, str] = {}  # text hash -> a done document holding that text
        self.info: dict[str, Any] = {}
        self.journals: list[str] = []  # journal rows of runs that died while writing

    async def load(self) -> Manifest:
        await self.store.create_index(self.name, 1)
        journals: list[tuple[str, Any]] = []
        for row in await read_all(self.store, self.name, 1):
            meta = row.metadata
            if meta.get("kind") == "journal":
                journals.append((row.id, meta.get("docs")))
            elif meta.get("kind") == "generation":
                self.info = dict(meta)
            elif meta.get("kind") == "document":
                entry = Entry(
                    row.id,
                    str(meta.get("hash", "")),
                    str(meta.get("text_hash", "")),
                    int(meta.get("chunks", 0)),
                    str(meta.get("state", "writing")),
                    str(meta.get("root", "")),
                )
                self.entries[row.id] = entry
                if entry.state == "done":
                    self.by_text.setdefault(entry.text_hash, row.id)
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
        document). Returns the row's id."""
        row_id = f"{_JOURNAL}{uuid.uuid4().hex}"
        docs = [field for e in entries for field in (e.id, e.chunks, e.root)]
        await self.store.upsert(self.name, [_ONE], [{"kind": "journal", "docs": docs}], [row_id])
        return row_id

    async def end(self, journal: str) -> None:
        """The batch is written and its entries are ``"done"``: drop its journal row."""
        await delete_quietly(self.store, self.name, journal)

    async def settle(self) -> None:
        """After a run, retire the dead runs' journals: documents they name that this run did
        not redo or remove keep a ``"writing"`` entry of their own, then the journals go."""
        if not self.journals:
            return
        await self.put(e for e in self.entries.values() if e.state == "writing")
        for journal in self.journals:
            await delete_quietly(self.store, self.name, journal)
        self.journals = []

    async def put(self, entries: Iterable[Entry]) -> None:
        batch = list(entries)
        if not batch:
            return
        await self.store.upsert(
            self.name, [_ONE] * len(batch), [e.metadata() for e in batch], [e.id for e in batch]
        )
        for entry in batch:
            before = self.entries.get(entry.id)
            if (
                before is not None
                and before.text_hash != entry.text_hash
                and self.by_text.get(before.text_hash) == entry.id
            ):
                del self.by_text[before.text_hash]
            self.entries[entry.id] = entry
            if entry.state == "done":
                self.by_text.setdefault(entry.text_hash, entry.id)

    async def remove(self, document_id: str) -> None:
        entry = self.entries.pop(document_id, None)
        if entry is not None and self.by_text.get(entry.text_hash) == document_id:
            del self.by_text[entry.text_hash]
        await delete_quietly(self.store, self.name, document_id)

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
