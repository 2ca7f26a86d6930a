"""The ingest manifest's pages: one row per written batch, the newest listing of a document
winning, older listings dropped (and rows of the one-document format still read)."""

import hashlib
import json

import pytest

from mastra.errors import StorageError
from mastra.rag import Document, HashingEmbedder, RecursiveChunker, ingest
from mastra.rag.documents import content_hash
from mastra.rag.manifest import Entry, Manifest
from mastra.vector import InMemoryVector
from tests.rag.corpus import contents, documents

EMBEDDER = HashingEmbedder(16)


def docs(count, word="text"):
    return [Document(f"{word} number {i}", id=f"d{i}") for i in range(count)]


async def manifest_rows(store):
    return {k: m for k, (m, _) in (await contents(store, "kb__docs")).items()}


async def pages(store):
    """The page rows, each with its documents' fields decoded."""
    rows = (await manifest_rows(store)).items()
    return {k: {**m, "docs": json.loads(m["docs"])} for k, m in rows if m["kind"] == "page"}


async def run(store, documents_):
    return await ingest(
        documents_, store, "kb", EMBEDDER, RecursiveChunker(100, 0), batch_size=64, progress=False
    )


async def test_a_batch_of_documents_is_one_manifest_row():
    async with InMemoryVector() as store:
        await run(store, docs(50))
        rows = await manifest_rows(store)
        assert sorted(m["kind"] for m in rows.values()) == ["generation", "page"]
        assert set(await documents(store, "kb")) == {f"d{i}" for i in range(50)}


async def test_a_rewritten_document_moves_and_emptied_pages_go():
    async with InMemoryVector() as store:
        await run(store, docs(3))
        (first,) = await pages(store)
        await run(store, [Document("changed text", id="d1")])
        found = await pages(store)
        assert len(found) == 2 and first in found
        assert found[first]["docs"][0::6] == ["d0", "d2"]  # d1 left its first page
        await run(store, [Document("changed too", id="d0"), Document("and this", id="d2")])
        assert first not in await pages(store)  # emptied, deleted
        listed = [i for m in (await pages(store)).values() for i in m["docs"][0::6]]
        assert sorted(listed) == ["d0", "d1", "d2"]


async def test_removed_documents_leave_their_page():
    async with InMemoryVector() as store:
        await run(store, docs(4))
        manifest = await Manifest(store, "kb").load()
        await manifest.remove(["d1", "d3"])
        assert set(await documents(store, "kb")) == {"d0", "d2"}
        assert set((await Manifest(store, "kb").load()).entries) == {"d0", "d2"}


async def test_the_newest_listing_wins_and_older_ones_are_rewritten_on_load():
    async with InMemoryVector() as store:
        await run(store, docs(2))
        (first,) = await pages(store)
        # a run that died between writing a new page and dropping d0 from the old one
        manifest = await Manifest(store, "kb").load()
        newer = Entry("d0", "new-hash", "new-text", 1, "done", "")
        await manifest._write_page("__page__newer", 9, list(newer.fields()))

        loaded = await Manifest(store, "kb").load()
        assert loaded.entries["d0"] == newer and loaded.seq == 9
        assert (await pages(store))[first]["docs"][0::6] == ["d1"]
        await loaded.put([Entry("d1", "h", "t", 1, "done", "")])
        assert (await pages(store))["__page__newer"]["docs"][0::6] == ["d0"]
        assert first not in await pages(store)


async def test_one_document_rows_of_earlier_versions_are_read():
    async with InMemoryVector() as store:
        await store.create_index("kb", 16)
        await store.create_index("kb__docs", 1)
        old = {"kind": "document", "hash": "h", "text_hash": "t", "chunks": 2, "state": "done"}
        await store.upsert("kb__docs", [[1.0]], [{**old, "root": ""}], ["d0"])
        manifest = await Manifest(store, "kb").load()
        assert manifest.entries == {"d0": Entry("d0", "h", "t", 2, "done", "")}
        await run(store, docs(1))  # d0 changed: it moves to a page, its old row goes
        assert "d0" not in await manifest_rows(store)
        assert (await documents(store, "kb"))["d0"]["chunks"] == 1


async def test_an_unreadable_page_is_a_storage_error():
    async with InMemoryVector() as store:
        await store.create_index("kb__docs", 1)
        bad = {"kind": "page", "seq": 1, "docs": '["d0", "h"]'}
        await store.upsert("kb__docs", [[1.0]], [bad], ["__page__x"])
        with pytest.raises(StorageError, match="page '__page__x' is unreadable: a list of 6"):
            await Manifest(store, "kb").load()


async def test_a_batchs_journal_row_becomes_its_page():
    async with InMemoryVector() as store:
        manifest = await Manifest(store, "kb").load()
        entry = Entry("d0", "h", "t", 2, "done", "")
        row = await manifest.begin([entry])
        assert (await manifest_rows(store))[row]["kind"] == "journal"
        await manifest.put([entry], row)
        assert list(await manifest_rows(store)) == [row]
        assert (await pages(store))[row]["docs"] == list(entry.fields())


async def test_document_hashes_stay_those_earlier_manifests_hold():
    # the text's blake2b-128, and that of the text, the sorted metadata JSON and the settings
    chunker = RecursiveChunker(100, 0)
    async with InMemoryVector() as store:
        await ingest(
            [Document("some text", {"b": 1, "a": 2}, id="d")],
            store,
            "kb",
            EMBEDDER,
            chunker,
            progress=False,
        )
        entry = (await documents(store, "kb"))["d"]
    settings = f"{chunker.fingerprint}|{EMBEDDER.fingerprint}".encode()
    full = b'some text{"a":2,"b":1}' + settings
    assert entry["text_hash"] == content_hash("some text")
    assert entry["hash"] == hashlib.blake2b(full, digest_size=16).hexdigest()
