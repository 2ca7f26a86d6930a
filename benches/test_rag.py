"""RAG beside its peers, on real text every machine has (the .py/.md/.rst files of the
installed site-packages, read in sorted order; the same texts for every engine):

(a) chunking MB/s: RecursiveChunker (``chunk``: Chunk objects with offsets and metadata;
    ``split_text``: strings only; and the bare compiled spans) beside LangChain's
    RecursiveCharacterTextSplitter (``split_text``: strings only;
    ``create_documents(add_start_index=True)``: the information of our ``chunk``) and
    chonkie's RecursiveChunker, all at 1000 characters (overlap 200 where the engine has one),
    and two scans that chunk nothing as the machine's limit: one memchr over the corpus's
    UTF-8 bytes, and the regex search of every paragraph break; ``test_chunking_interleaved``
    runs them all round-robin and reports the median of each round's ratios (steadier than
    separate runs on a shared machine) and of each engine's CPU time, both to LangChain's
    ``split_text`` (``x_langchain``) and to the peer call with the same output (``x_peer``);
(b) ingest of N documents end to end with HashingEmbedder into SQLiteVector, beside
    llama-index's IngestionPipeline (SentenceSplitter, the same embedder, the same store),
    each in a fresh process that reports its wall time, CPU time (all threads) and peak RSS
    (and the RSS before the clock: interpreter, imports, corpus), read from /proc/self/status
    (Linux);
(c) hybrid retrieval latency (vector + BM25, RRF) at M chunks in InMemoryVector.

Sizes: MASTRA_BENCH_RAG_DOCS (default 100000) and MASTRA_BENCH_RAG_CHUNKS (default 1000000).
"""

import asyncio
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mastra.rag import Document, HashingEmbedder, RecursiveChunker, retrieve
from mastra.rag.recursive import recursive_spans

CORPUS_MB = 10
DOCS = int(os.environ.get("MASTRA_BENCH_RAG_DOCS", "100000"))
CHUNKS = int(os.environ.get("MASTRA_BENCH_RAG_CHUNKS", "1000000"))
ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def corpus_texts(megabytes: int = CORPUS_MB) -> list[str]:
    site = Path(sysconfig.get_paths()["purelib"])
    texts, total = [], 0
    for path in sorted(site.rglob("*")):
        if path.suffix in (".py", ".md", ".rst") and path.is_file():
            try:
                text = path.read_text("utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            texts.append(text)
            total += len(text)
            if total >= megabytes * 1_000_000:
                break
    return texts


@functools.lru_cache(maxsize=1)
def paragraph_pool() -> list[str]:
    """The corpus paragraphs of 200+ characters."""
    return [p for t in corpus_texts() for p in t.split("\n\n") if len(p) >= 200]


def paragraphs(count: int):
    """``count`` distinct texts, made as they are consumed (a stream, as files read one by
    one would be): corpus paragraphs, cycled if the corpus runs short and numbered so that no
    two are equal (ingest would skip copies)."""
    pool = paragraph_pool()
    return (f"Note {i}.\n{pool[i % len(pool)]}" for i in range(count))


def megabytes(texts):
    return sum(len(t) for t in texts) / 1e6


# -- (a) chunking ---------------------------------------------------------------------------


def _chunk_ours():
    chunker = RecursiveChunker(1000, 200)
    return sum(len(chunker.chunk(Document(t, id=str(i)))) for i, t in enumerate(corpus_texts()))


def _chunk_ours_texts():
    chunker = RecursiveChunker(1000, 200)
    return sum(len(chunker.split_text(t)) for t in corpus_texts())


def _chunk_ours_spans():
    seps = ["\n\n", "\n", " ", ""]
    return sum(len(recursive_spans(t, 1000, 200, seps)) for t in corpus_texts())


def _chunk_langchain():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    return sum(len(splitter.split_text(t)) for t in corpus_texts())


def _chunk_langchain_documents():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True
    )
    return len(splitter.create_documents(corpus_texts()))


def _chunk_chonkie():
    from chonkie import RecursiveChunker as ChonkieRecursive

    chunker = ChonkieRecursive(chunk_size=1000)
    return sum(len(chunker.chunk(t)) for t in corpus_texts())


@functools.lru_cache(maxsize=1)
def corpus_bytes() -> list[bytes]:
    return [t.encode("utf-8") for t in corpus_texts()]


def _scan_memchr():
    """The machine's limit: every byte looked at once (memchr for a byte no text holds)."""
    return sum(b.find(b"\0") >= 0 for b in corpus_bytes())


_BREAK = re.compile("\n\n")


def _scan_regex():
    """Every paragraph break found, nothing built: the first level of a recursive split."""
    return sum(len(_BREAK.findall(t)) for t in corpus_texts())


CHUNKERS = {
    "mastra-chunks": _chunk_ours,
    "mastra-split_text": _chunk_ours_texts,
    "mastra-spans": _chunk_ours_spans,
    "langchain-split_text": _chunk_langchain,
    "langchain-create_documents": _chunk_langchain_documents,
    "chonkie-recursive": _chunk_chonkie,
    "limit-memchr": _scan_memchr,
    "limit-regex": _scan_regex,
}


@pytest.mark.benchmark(group="rag-chunking")
@pytest.mark.parametrize("engine", list(CHUNKERS))
def test_chunking(benchmark, engine):
    corpus_bytes()  # read outside the timing
    chunks = benchmark.pedantic(CHUNKERS[engine], rounds=9, iterations=1, warmup_rounds=1)
    benchmark.extra_info["MB"] = round(megabytes(corpus_texts()), 2)
    benchmark.extra_info["MB/s"] = round(megabytes(corpus_texts()) / benchmark.stats["median"], 1)
    benchmark.extra_info["chunks"] = chunks


@pytest.mark.benchmark(group="rag-chunking-interleaved")
def test_chunking_interleaved(benchmark):
    """Every engine once per round, 15 rounds; per engine the median time and the median of
    its per-round ratio to LangChain's split_text (a loaded machine slows a round, not an
    engine), and its median CPU time (what other jobs on the machine do not add to)."""
    corpus_bytes()
    times: dict[str, list[float]] = {name: [] for name in CHUNKERS}
    cpu: dict[str, list[float]] = {name: [] for name in CHUNKERS}

    def rounds():
        for _ in range(15):
            for name, run in CHUNKERS.items():
                began, began_cpu = time.perf_counter(), time.process_time()
                run()
                times[name].append(time.perf_counter() - began)
                cpu[name].append(time.process_time() - began_cpu)

    benchmark.pedantic(rounds, rounds=1, iterations=1, warmup_rounds=0)
    size = megabytes(corpus_texts())
    for name, spent in times.items():
        row = {
            "median_ms": round(statistics.median(spent) * 1000, 2),
            "MB/s": round(size / statistics.median(spent)),
            "cpu_ms": round(statistics.median(cpu[name]) * 1000, 2),
        }
        for label, peer in (("langchain", "langchain-split_text"), ("peer", LIKE.get(name))):
            if peer is not None:
                row[f"x_{label}"] = round(
                    statistics.median(b / t for b, t in zip(times[peer], spent, strict=True)), 2
                )
                row[f"x_{label}_cpu"] = round(
                    statistics.median(cpu[peer]) / statistics.median(cpu[name]), 2
                )
        benchmark.extra_info[name] = row


# Each of our outputs beside the peer's call that gives the same information: strings beside
# split_text, Chunks with offsets and metadata beside Documents with start indexes.
LIKE = {
    "mastra-split_text": "langchain-split_text",
    "mastra-chunks": "langchain-create_documents",
}


def test_chunks_equal_langchain_on_the_bench_corpus():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunker = RecursiveChunker(1000, 200)
    for text in corpus_texts()[:200]:
        expected = splitter.split_text(text)
        assert [c.text for c in chunker.chunk(Document(text))] == expected
        assert chunker.split_text(text) == expected


# -- (b) ingest end to end ------------------------------------------------------------------

INGEST = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from benches.test_rag import paragraph_pool, paragraphs
    from mastra.rag import Document, HashingEmbedder, RecursiveChunker, ingest
    from mastra.vector import SQLiteVector

    engine, count, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    embedder = HashingEmbedder(256)

    def stream():
        for i, text in enumerate(paragraphs(count)):
            yield Document(text, {"n": i}, id=f"doc{i}")

    async def mastra():
        async with SQLiteVector(path) as store:
            report = await ingest(stream(), store, "bench", embedder, RecursiveChunker(1000, 200),
                                  batch_size=1024, progress=False)
            return report.chunks

    if engine != "mastra":  # the peer's imports, like ours above, come before the clock
        from llama_index.core import Document as LlamaDocument
        from llama_index.core.embeddings import BaseEmbedding
        from llama_index.core.ingestion import IngestionPipeline
        from llama_index.core.node_parser import SentenceSplitter

        class Hashing(BaseEmbedding):
            def _get_text_embeddings(self, texts):
                return embedder.embed_sync(texts).tolist()
            def _get_text_embedding(self, text):
                return self._get_text_embeddings([text])[0]
            def _get_query_embedding(self, query):
                return self._get_text_embedding(query)
            async def _aget_query_embedding(self, query):
                return self._get_text_embedding(query)

    async def llama():
        pipeline = IngestionPipeline(transformations=[
            SentenceSplitter(chunk_size=256, chunk_overlap=50), Hashing(embed_batch_size=1024)])
        docs = (LlamaDocument(text=t, metadata={"n": i}, id_=f"doc{i}")
                for i, t in enumerate(paragraphs(count)))
        written = 0
        async with SQLiteVector(path) as store:
            await store.create_index("bench", 256)
            batch = []
            for doc in docs:  # the pipeline takes lists: fed 1024 documents at a time
                batch.append(doc)
                if len(batch) == 1024:
                    written += await write(pipeline, store, batch)
                    batch = []
            written += await write(pipeline, store, batch)
        return written

    async def write(pipeline, store, docs):
        if not docs:
            return 0
        nodes = pipeline.run(documents=docs)
        meta = [{"text": n.text, "document_id": n.ref_doc_id, **n.metadata} for n in nodes]
        await store.upsert("bench", [n.embedding for n in nodes], meta, [n.node_id for n in nodes])
        return len(nodes)

    def memory(field):
        # this process's own figures: ru_maxrss would also count the parent's RSS at fork
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith(field))

    paragraph_pool()  # the corpus is read before the clock starts
    before = memory("VmRSS:")
    started, cpu = time.perf_counter(), time.process_time()
    chunks = asyncio.run(mastra() if engine == "mastra" else llama())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rss = memory("VmHWM:")
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "chunks": chunks,
                      "rss_before_mb": before, "peak_rss_mb": rss}))
    """
)


def run_ingest(engine: str, count: int, tmp: Path) -> dict:
    db = tmp / f"{engine}.db"
    out = subprocess.run(
        [sys.executable, "-c", INGEST, engine, str(count), str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.benchmark(group="rag-ingest")
@pytest.mark.parametrize("engine", ["mastra", "llama-index"])
def test_ingest(benchmark, engine, tmp_path):
    found = {}

    def once():
        found.update(run_ingest(engine, DOCS, tmp_path))
        for leftover in tmp_path.glob("*.db*"):
            leftover.unlink()

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(found)
    benchmark.extra_info["docs/s"] = round(DOCS / found["seconds"])
    benchmark.extra_info["docs/cpu-s"] = round(DOCS / found["cpu_seconds"])


# -- (c) hybrid retrieval -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def retrieval_setup():
    from mastra.rag.lexical import lexical_index
    from mastra.vector import InMemoryVector

    async def build():
        store = InMemoryVector()
        await store.create_index("bench", 64)
        embedder = HashingEmbedder(64)
        texts = list(paragraphs(min(CHUNKS, 50_000)))
        rng = np.random.default_rng(0)
        for start in range(0, CHUNKS, 50_000):
            n = min(50_000, CHUNKS - start)
            rows = rng.standard_normal((n, 64), dtype=np.float32)
            meta = [
                {
                    "text": texts[(start + i) % len(texts)][:300],
                    "document_id": f"d{start + i}",
                    "position": 0,
                    "tenant": (start + i) % 10,
                }
                for i in range(n)
            ]
            await store.upsert("bench", rows, meta, [f"d{start + i}#0" for i in range(n)])
        began = time.perf_counter()
        await lexical_index(store, "bench")
        return store, embedder, time.perf_counter() - began

    return asyncio.run(build())


QUERIES = [
    "how to configure logging",
    "parse the json file",
    "retry with backoff",
    "thread pool executor",
    "unicode decode error",
]


@pytest.mark.benchmark(group="rag-retrieval")
@pytest.mark.parametrize("mode", ["hybrid", "vector-only", "hybrid-filtered"])
def test_retrieval(benchmark, mode):
    store, embedder, build_seconds = retrieval_setup()
    where = {"tenant": 3} if mode == "hybrid-filtered" else None
    queries = iter(QUERIES * 1000)
    loop = asyncio.new_event_loop()

    def one():
        return loop.run_until_complete(
            retrieve(next(queries), store, "bench", embedder, 10, where, mode != "vector-only")
        )

    try:
        found = benchmark.pedantic(one, rounds=30, iterations=1, warmup_rounds=2)
    finally:
        loop.close()
    assert len(found) == 10
    benchmark.extra_info["chunks"] = CHUNKS
    benchmark.extra_info["bm25_build_s"] = round(build_seconds, 1)
