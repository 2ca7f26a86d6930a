"""Resumability, proven: a real ingest process is SIGKILLed mid-run (real files, a real SQLite
file), then run again; the store must end exactly as one clean ingest leaves it."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mastra.rag import Document, HashingEmbedder, RecursiveChunker, ingest
from mastra.rag.manifest import Entry, Manifest
from mastra.vector import SQLiteVector
from tests.rag.corpus import contents, documents, journals, write_corpus

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from mastra.rag import HashingEmbedder, RecursiveChunker, ingest
    from mastra.vector import SQLiteVector

    class Paced:
        # HashingEmbedder at the pace of a remote API; says when each batch is done
        def __init__(self):
            self.inner = HashingEmbedder(64)
            self.dimension, self.fingerprint = 64, self.inner.fingerprint

        async def embed(self, texts):
            await asyncio.sleep(0.01)
            rows = await self.inner.embed(texts)
            print("batch", flush=True)
            return rows

    async def main(folder, db):
        async with SQLiteVector(db) as store:
            await ingest([folder], store, "kb", Paced(), RecursiveChunker(300, 50),
                         batch_size=16, concurrency=2, progress=False)
        print("done", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)
ROOT = Path(__file__).resolve().parents[2]


def run_ingest(script, folder, db, kill_after=None):
    """Run the ingest process; with ``kill_after``, SIGKILL it after that many batches.
    Returns True when it ran to the end."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(folder), str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    batches = 0
    try:
        for line in process.stdout:
            if line.strip() == "batch":
                batches += 1
                if kill_after is not None and batches == kill_after:
                    os.kill(process.pid, signal.SIGKILL)
                    break
            elif line.strip() == "done":
                break
    finally:
        process.stdout.close()
        code = process.wait(timeout=60)
    if kill_after is None:
        assert code == 0
    return code == 0


async def clean_ingest(folder, db):
    async with SQLiteVector(db) as store:
        await ingest(
            [folder],
            store,
            "kb",
            HashingEmbedder(64),
            RecursiveChunker(300, 50),
            batch_size=16,
            progress=False,
        )
        return await contents(store, "kb"), await documents(store, "kb")


async def stored(db):
    async with SQLiteVector(db) as store:
        return await contents(store, "kb"), await documents(store, "kb")


async def open_journals(db):
    async with SQLiteVector(db) as store:
        return await journals(store, "kb")


@pytest.mark.parametrize("kill_after", [1, 3, 8])
async def test_sigkill_mid_ingest_then_rerun_equals_a_clean_ingest(tmp_path, kill_after):
    folder = tmp_path / "docs"
    write_corpus(folder, 30)
    script = tmp_path / "ingest_script.py"
    script.write_text(SCRIPT)
    db = tmp_path / "rag.db"

    assert not run_ingest(script, folder, db, kill_after=kill_after)
    partial, partial_docs = await stored(db)
    expected = await clean_ingest(folder, tmp_path / "clean.db")
    assert len(partial) < len(expected[0])  # it really died mid-way...
    # ...while writing: the journal names documents whose chunks may be half-written
    written = {c[0]["document_id"] for c in partial.values()}
    named = {doc_id for docs in await open_journals(db) for doc_id, _, _ in docs}
    assert named and named <= set(partial_docs) | {str(p) for p in folder.iterdir()}
    assert written <= {i for i, m in partial_docs.items() if m["state"] == "done"} | named

    assert run_ingest(script, folder, db)
    chunks, docs = await stored(db)
    assert chunks == expected[0]
    assert docs == expected[1]
    assert all(m["state"] == "done" for m in docs.values())
    assert await open_journals(db) == []
    positions = [(m["document_id"], m["position"]) for m, _ in chunks.values()]
    assert len(positions) == len(set(positions))  # no chunk stored twice


async def test_killed_then_files_change_and_vanish_before_the_rerun(tmp_path):
    folder = tmp_path / "docs"
    names = write_corpus(folder, 30)
    script = tmp_path / "ingest_script.py"
    script.write_text(SCRIPT)
    db = tmp_path / "rag.db"
    assert not run_ingest(script, folder, db, kill_after=4)

    # documents that may be half-written now shrink, or disappear
    for name in names[:6]:
        (folder / f"{name}.txt").write_text(f"{name} is now short.", encoding="utf-8")
    for name in names[6:9]:
        (folder / f"{name}.txt").unlink()

    assert run_ingest(script, folder, db)
    assert await stored(db) == await clean_ingest(folder, tmp_path / "clean.db")


async def test_a_dead_runs_journal_is_settled_by_the_next_run(tmp_path):
    async with SQLiteVector(tmp_path / "v.db") as store:
        # a run died after writing three chunks of "a": only its journal says so
        await store.create_index("kb", 64)
        manifest = await Manifest(store, "kb").load()
        await manifest.begin([Entry("a", "h", "t", 3, "writing", "")])
        ids = ["a#0", "a#1", "a#2"]
        await store.upsert("kb", [[1.0] * 64] * 3, [{"text": "x"}] * 3, ids)

        # the next run is given another document only: "a" keeps a "writing" entry of its own
        embedder = HashingEmbedder(64)
        await ingest([Document("other text", id="b")], store, "kb", embedder, progress=False)
        docs = await documents(store, "kb")
        assert (docs["a"]["state"], docs["a"]["chunks"], docs["b"]["state"]) == (
            "writing",
            3,
            "done",
        )
        assert await journals(store, "kb") == []

        # a run that gets "a" again writes it and deletes the chunk ids it no longer has
        await ingest([Document("short", id="a")], store, "kb", embedder, progress=False)
        stored_ids = sorted(await contents(store, "kb"))
        assert stored_ids == ["a#0", "b#0"]
        assert (await documents(store, "kb"))["a"]["state"] == "done"
