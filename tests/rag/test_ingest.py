"""ingest: incremental, deduplicating, streaming, reporting, on every vector store."""

import fcntl
import os
import pty
import struct
import sys
import termios
from pathlib import Path

import pytest

from mastra.errors import ValidationError
from mastra.rag import (
    Document,
    HashingEmbedder,
    MarkdownChunker,
    RecursiveChunker,
    ingest,
)
from mastra.vector import InMemoryVector, SQLiteVector
from tests.rag.corpus import TOPICS, contents, documents, write_corpus


class Counting:
    """HashingEmbedder that counts the texts it is asked to embed."""

    def __init__(self, dimension=64):
        self.inner = HashingEmbedder(dimension)
        self.dimension = dimension
        self.fingerprint = self.inner.fingerprint
        self.texts = 0
        self.calls = 0

    async def embed(self, texts):
        self.texts += len(texts)
        self.calls += 1
        return await self.inner.embed(texts)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request, tmp_path):
    if request.param == "memory":
        made = InMemoryVector()
    elif request.param == "sqlite":
        made = SQLiteVector(tmp_path / "v.db")
    else:
        from mastra.vector import PgVector

        made = PgVector(request.getfixturevalue("postgres_dsn"))
    async with made:
        yield made


async def test_reingest_changes_only_what_changed_and_removes_deleted_files(store, tmp_path):
    folder = tmp_path / "docs"
    names = write_corpus(folder, 12)
    embedder, chunker = Counting(), RecursiveChunker(400, 50)
    first = await ingest([folder], store, "kb", embedder, chunker, progress=False)
    assert (first.documents, first.unchanged, first.deleted) == (12, 0, 0)
    assert first.chunks == (await store.describe_index("kb")).count > 12
    before = await contents(store, "kb")

    again = await ingest([folder], store, "kb", embedder, chunker, progress=False)
    assert (again.documents, again.unchanged, again.chunks) == (0, 12, 0)
    assert await contents(store, "kb") == before

    (folder / f"{names[0]}.txt").write_text("A short replacement text.", encoding="utf-8")
    (folder / f"{names[1]}.txt").unlink()
    embedder.texts = 0
    third = await ingest([folder], store, "kb", embedder, chunker, progress=False)
    assert (third.documents, third.unchanged, third.deleted, third.chunks) == (1, 10, 1, 1)
    assert embedder.texts == 1  # only the changed document was embedded
    after = await contents(store, "kb")
    changed = str((folder / f"{names[0]}.txt").absolute())
    gone = str((folder / f"{names[1]}.txt").absolute())
    assert [m["text"] for m, _ in after.values() if m["document_id"] == changed] == [
        "A short replacement text."
    ]
    assert not any(m["document_id"] == gone for m, _ in after.values())
    untouched = {k: v for k, v in before.items() if v[0]["document_id"] not in (changed, gone)}
    assert {k: after[k] for k in untouched} == untouched
    assert set(await documents(store, "kb")) == {
        str((folder / f"{n}.txt").absolute()) for n in names if n != names[1]
    }


async def test_chunks_keep_text_origin_and_offsets(tmp_path):
    folder = tmp_path / "docs"
    write_corpus(folder, 3)
    async with InMemoryVector() as store:
        await ingest(
            [folder], store, "kb", HashingEmbedder(32), RecursiveChunker(300, 30), progress=False
        )
        for id_, (meta, _) in (await contents(store, "kb")).items():
            source_text = Path(meta["source"]).read_text(encoding="utf-8")
            assert source_text[meta["start"] : meta["end"]] == meta["text"]
            assert id_ == f"{meta['document_id']}#{meta['position']}"
            assert meta["format"] == "text" and meta["source"] == meta["document_id"]


async def test_a_shrinking_document_leaves_no_stale_chunks():
    async with InMemoryVector() as store:
        chunker, embedder = RecursiveChunker(100, 0), HashingEmbedder(32)
        long = Document("word " * 200, id="d")
        await ingest([long], store, "kb", embedder, chunker, progress=False)
        assert (await store.describe_index("kb")).count > 5
        await ingest([Document("tiny", id="d")], store, "kb", embedder, chunker, progress=False)
        assert list(await contents(store, "kb")) == ["d#0"]


async def test_same_content_is_stored_once_and_taken_up_when_the_keeper_goes(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("identical text about owls", encoding="utf-8")
    (folder / "b.txt").write_text("identical text about owls", encoding="utf-8")
    async with InMemoryVector() as store:
        embedder = HashingEmbedder(32)
        report = await ingest([folder], store, "kb", embedder, progress=False)
        assert report.documents == 1
        assert [s.reason for s in report.skipped] == [f"same content as {folder / 'a.txt'}"]
        assert {m["source"] for m, _ in (await contents(store, "kb")).values()} == {
            str(folder / "a.txt")
        }
        (folder / "a.txt").unlink()
        report = await ingest([folder], store, "kb", embedder, progress=False)
        assert (report.deleted, report.documents, report.skipped) == (1, 1, [])
        assert {m["source"] for m, _ in (await contents(store, "kb")).values()} == {
            str(folder / "b.txt")
        }


async def test_unreadable_binary_and_missing_sources_are_skipped_with_reasons(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("fine text", encoding="utf-8")
    (folder / "blob.bin").write_bytes(b"\x89PNG\x00\x00\x01")
    (folder / "latin.txt").write_bytes(b"caf\xe9 cr\xe8me")
    async with InMemoryVector() as store:
        report = await ingest(
            [folder, tmp_path / "nope", tmp_path / "docs"],
            store,
            "kb",
            HashingEmbedder(32),
            progress=False,
        )
    reasons = {os.path.basename(s.source): s.reason for s in report.skipped}
    assert reasons["nope"] == "not found"
    assert reasons["blob.bin"].startswith("binary")
    assert reasons["good.txt"] == reasons["latin.txt"] == "listed twice"
    assert report.encoding_errors == 2
    assert report.documents == 2 and report.seconds > 0


async def test_a_changed_chunker_rechunks_everything(tmp_path):
    folder = tmp_path / "docs"
    write_corpus(folder, 4)
    async with InMemoryVector() as store:
        embedder = HashingEmbedder(32)
        await ingest([folder], store, "kb", embedder, RecursiveChunker(500, 0), progress=False)
        report = await ingest(
            [folder], store, "kb", embedder, MarkdownChunker(300, 0), progress=False
        )
        assert report.documents == 4 and report.unchanged == 0


async def test_documents_stream_through_a_bounded_pipeline():
    produced = 0
    in_flight = []

    def stream():
        nonlocal produced
        for i in range(300):
            produced += 1
            yield Document(f"document number {i} about topic {i % 7}", id=f"d{i}")

    class Watching(Counting):
        async def embed(self, texts):
            in_flight.append(produced - self.texts)
            return await super().embed(texts)

    async with InMemoryVector() as store:
        report = await ingest(
            stream(), store, "kb", Watching(), batch_size=8, concurrency=2, progress=False
        )
    assert report.documents == 300 and report.chunks == 300
    assert max(in_flight) <= 8 * 3 + 1  # never the whole corpus in memory


async def test_bad_arguments_are_validation_errors():
    async with InMemoryVector() as store:
        embedder = HashingEmbedder(32)
        with pytest.raises(ValidationError, match="batch_size"):
            await ingest([], store, "kb", embedder, batch_size=0)
        with pytest.raises(ValidationError, match="index name"):
            await ingest([], store, "bad name", embedder)
        with pytest.raises(ValidationError, match="too long"):
            await ingest([], store, "x" * 60, embedder)
        with pytest.raises(ValidationError, match="sources"):
            await ingest([42], store, "kb", embedder)
        with pytest.raises(ValidationError, match="chunker"):
            await ingest([], store, "kb", embedder, chunker="recursive")


def _drain(fd):
    out = b""
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except (BlockingIOError, OSError):
            return out.decode()
        if not data:
            return out.decode()
        out += data


async def test_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, capfd):
    folder = tmp_path / "docs"
    write_corpus(folder, 5)
    async with InMemoryVector() as store:
        await ingest([folder], store, "a", HashingEmbedder(32))  # stderr is not a terminal
        assert capfd.readouterr().err == ""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        os.set_blocking(master, False)
        terminal = os.fdopen(slave, "w")
        monkeypatch.setattr(sys, "stderr", terminal)
        try:
            await ingest([folder], store, "b", HashingEmbedder(32), batch_size=4)
            terminal.flush()
            shown = _drain(master)
            await ingest([folder], store, "c", HashingEmbedder(32), progress=False)
            terminal.flush()
            assert _drain(master) == ""
        finally:
            terminal.close()
            os.close(master)
    assert "5/5" in shown and "doc/s" in shown and "chunks/s" in shown and "<00:00" in shown


async def test_text_sources_of_every_format(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Owls</title><script>x()</script></head>"
        "<body><h1>Owls</h1><p>Owls hunt at night.</p></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "data.csv").write_text("name,diet\nbarn owl,mice\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("# Notes\n\nOwls are birds.\n", encoding="utf-8")
    (tmp_path / "conf.json").write_text('{"bird": "owl"}', encoding="utf-8")
    async with InMemoryVector() as store:
        report = await ingest(
            [tmp_path],
            store,
            "kb",
            HashingEmbedder(32),
            progress=False,
            glob=["*.html", "*.csv", "*.md", "*.json"],
        )
        texts = {m["format"]: m["text"] for m, _ in (await contents(store, "kb")).values()}
    assert report.documents == 4
    assert texts == {
        "html": "Owls\n\nOwls hunt at night.",
        "csv": "name: barn owl\ndiet: mice",
        "markdown": "# Notes\n\nOwls are birds.",
        "json": '{"bird": "owl"}',
    }
    assert TOPICS  # the corpus module is importable


async def test_each_batch_is_one_embedding_call_of_at_most_batch_size():
    # 8 documents of 3 chunks, batch_size 10: groups of 9, 9 and 6 chunks, each embedded
    # and written in one call (a group that overflowed was split into 10 + 2 before)
    chunker = RecursiveChunker(40, 0)
    docs = [Document(" ".join(f"w{d}x{i:02d}" for i in range(15)), id=f"d{d}") for d in range(8)]
    assert {len(chunker.chunk(d)) for d in docs} == {3}
    sizes = []

    class Sizes(Counting):
        async def embed(self, texts):
            sizes.append(len(texts))
            return await super().embed(texts)

    async with InMemoryVector() as store:
        report = await ingest(
            docs, store, "kb", Sizes(), chunker, batch_size=10, concurrency=1, progress=False
        )
    assert report.chunks == 24
    assert sizes == [9, 9, 6]
