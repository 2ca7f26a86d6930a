"""retrieve (vector + BM25 by RRF), BM25 against a plain reference, rerank, the agent tool."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra.errors import ProviderError, ValidationError
from mastra.llm.testing import FunctionModel
from mastra.messages import ToolCall
from mastra.rag import (
    BM25Index,
    Document,
    HashingEmbedder,
    RecursiveChunker,
    RerankAPI,
    ingest,
    rerank,
    retrieve,
    vector_query_tool,
)
from mastra.rag.lexical import tokenize
from mastra.rag.manifest import read_all
from mastra.vector import InMemoryVector, QueryResult
from tests.loop_gaps import loop_gaps
from tests.servers import json_reply

DOCS = [
    Document("The barn owl hunts mice at night over open fields.", {"kind": "bird"}, "owl"),
    Document("Salmon swim upstream to spawn in cold rivers.", {"kind": "fish"}, "salmon"),
    Document(
        "Zebrafish regenerate fins; researchers study zebrafish genes.",
        {"kind": "fish"},
        "zebrafish",
    ),
    Document("Eagles soar on thermals and hunt fish from rivers.", {"kind": "bird"}, "eagle"),
]


def reference_bm25(texts, query, k1=1.5, b=0.75):
    docs = [tokenize(t) for t in texts]
    average = sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        score = 0.0
        for term in set(tokenize(query)):
            df = sum(term in d for d in docs)
            if df == 0:
                continue
            tf = doc.count(term)
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / average))
        scores.append(score)
    return scores


WORDS = st.sampled_from(["owl", "fish", "river", "night", "the", "zebra", "hunt", "cold"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(WORDS, max_size=12).map(" ".join), min_size=1, max_size=12),
    st.lists(WORDS, min_size=1, max_size=3).map(" ".join),
    st.integers(1, 15),
)
def test_bm25_scores_equal_a_plain_reference(texts, query, k):
    check_bm25(texts, query, k)


def test_bm25_ties_at_the_kth_place_go_to_the_lower_rows():
    # rows 2 and 3 score the same; argpartition alone returned row 3 for k=1
    texts = ["owl", "owl", " ".join(["owl"] * 11), " ".join(["owl"] * 11)]
    check_bm25(texts, "owl", 1)
    check_bm25(texts, "owl", 3)
    many = ["fish owl"] * 40 + ["owl"] * 40
    for k in (1, 7, 39, 41, 79):
        check_bm25(many, "owl fish", k)
        check_bm25(many, "owl", k)


def check_bm25(texts, query, k):
    """A valid top k of the reference: every row found scores (about) what the reference
    gives it, best first, and no row left out scores above the last one found; scores equal
    in exact arithmetic may round either way (float32 here, float64 there)."""
    rows, scores = BM25Index(texts).search(query, k)
    expected = reference_bm25(texts, query)
    matching = [i for i, s in enumerate(expected) if s > 0]
    found = rows.tolist()
    assert len(found) == len(set(found)) == min(k, len(matching))
    assert scores.tolist() == pytest.approx([expected[i] for i in found], rel=1e-5)
    assert all(a >= b * (1 - 1e-6) for a, b in itertools.pairwise(scores.tolist()))
    if found:
        last = expected[found[-1]]
        assert all(expected[i] <= last * (1 + 1e-6) for i in matching if i not in found)


@pytest.fixture
async def knowledge():
    async with InMemoryVector() as store:
        embedder = HashingEmbedder(64)
        await ingest(DOCS, store, "kb", embedder, RecursiveChunker(200, 0), progress=False)
        yield store, embedder


async def test_hybrid_fuses_the_rankings_by_reciprocal_rank(knowledge):
    store, embedder = knowledge
    query = "zebrafish genes"
    vector = (await embedder.embed([query]))[0]
    semantic = [r.id for r in await store.query("kb", vector, top_k=4)]
    found = await retrieve(query, store, "kb", embedder, top_k=4)
    assert found[0].id == "zebrafish#0"
    lexical = ["zebrafish#0"]  # the only chunk sharing a term with the query
    for result in found:
        expected = sum(
            1 / (60 + ranking.index(result.id) + 1)
            for ranking in (semantic, lexical)
            if result.id in ranking
        )
        assert result.score == pytest.approx(expected)
    assert found[0].metadata["text"].startswith("Zebrafish")


async def test_lexical_hits_respect_the_filter(knowledge):
    store, embedder = knowledge
    found = await retrieve("hunt rivers", store, "kb", embedder, top_k=4, filter={"kind": "bird"})
    assert {r.metadata["kind"] for r in found} == {"bird"}
    plain = await retrieve("hunt rivers", store, "kb", embedder, top_k=2, hybrid=False)
    assert [r.id for r in plain] == [
        r.id for r in await store.query("kb", (await embedder.embed(["hunt rivers"]))[0], top_k=2)
    ]


async def reference_hybrid(store, embedder, query, k, spec, pool):
    """RRF of the vector ranking and the BM25 ranking of every chunk with a text, a lexical
    hit kept when the filter lets it through (asked of the store for all its rows)."""
    vector = (await embedder.embed([query]))[0]
    semantic = [r.id for r in await store.query("many", vector, top_k=pool, filter=spec)]
    everything = await read_all(store, "many", 32)  # in the order BM25 breaks ties by
    texted = [r for r in everything if isinstance(r.metadata.get("text"), str)]
    allowed = {r.id for r in await store.query("many", vector, top_k=len(everything), filter=spec)}
    rows, _ = BM25Index([r.metadata["text"] for r in texted]).search(query, pool)
    lexical = [texted[row].id for row in rows.tolist() if texted[row].id in allowed]
    fused = {}
    for ranking in (semantic, lexical):
        for rank, id_ in enumerate(ranking, start=1):
            fused[id_] = fused.get(id_, 0.0) + 1 / (60 + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]


async def test_hybrid_equals_a_reference_on_documents_of_many_chunks():
    words = ["owl", "fish", "river", "night", "zebra", "hunt", "cold", "barn", "egg", "moss"]
    texts = [" ".join(words[(d * 7 + i * 3) % 10] for i in range(400)) for d in range(12)]
    docs = [Document(text, {"tenant": d % 3}, f"doc{d}") for d, text in enumerate(texts)]
    async with InMemoryVector() as store:
        embedder = HashingEmbedder(32)
        await ingest(docs, store, "many", embedder, RecursiveChunker(40, 10), progress=False)
        # chunks without a text share their documents' ids and crowd the vector side: the
        # fetch of lexical hits has to look past them
        for query in ("zebra egg", "cold moss night"):
            vector = (await embedder.embed([query]))[0]
            extra = [f"{query}-x{i}" for i in range(600)]
            meta = [{"document_id": f"doc{i % 12}", "tenant": i % 3} for i in range(600)]
            await store.upsert("many", [vector] * 600, meta, extra)
        for query in ("zebra egg", "cold moss night", "owl"):
            for spec in (None, {"tenant": 1}, {"tenant": {"$in": [0, 2]}}):
                found = await retrieve(query, store, "many", embedder, 8, spec, candidates=20)
                expected = await reference_hybrid(store, embedder, query, 8, spec, 20)
                assert [(r.id, pytest.approx(r.score)) for r in found] == expected


async def test_the_lexical_index_follows_new_ingests(knowledge):
    store, embedder = knowledge
    before = await retrieve("platypus", store, "kb", embedder, top_k=5)
    assert not any("platypus" in r.metadata["text"] for r in before)
    await ingest(
        [Document("A platypus lays eggs.", id="platypus")], store, "kb", embedder, progress=False
    )
    found = await retrieve("platypus", store, "kb", embedder, top_k=1)
    assert found[0].id == "platypus#0"


async def test_bad_queries_are_validation_errors(knowledge):
    store, embedder = knowledge
    with pytest.raises(ValidationError, match="query"):
        await retrieve("  ", store, "kb", embedder)
    with pytest.raises(ValidationError, match="k must"):
        await retrieve("owl", store, "kb", embedder, top_k=0)
    with pytest.raises(ValidationError, match="operator"):
        await retrieve("owl", store, "kb", embedder, filter={"$bogus": 1})


def results(*texts):
    return [QueryResult(f"c{i}", 0.5, {"text": t}) for i, t in enumerate(texts)]


async def test_rerank_with_an_llm():
    seen = []

    def judge(request):
        seen.append(request.messages[-1].text)
        return 'Here: {"scores": [2, 9, 5]}'

    ranked = await rerank("owls", results("a", "b", "c"), FunctionModel(judge), top_k=2)
    assert [(r.id, r.score) for r in ranked] == [("c1", 9.0), ("c2", 5.0)]
    assert "[1] b" in seen[0] and "Query: owls" in seen[0]
    with pytest.raises(ProviderError, match="3 scores"):
        await rerank("owls", results("a", "b", "c"), FunctionModel(lambda r: '{"scores": [1]}'))


async def test_rerank_through_a_rerank_api(provider_server):
    url, script = await provider_server()
    script.add(
        json_reply(
            {
                "results": [
                    {"index": 2, "relevance_score": 0.9},
                    {"index": 0, "relevance_score": 0.4},
                    {"index": 1, "relevance_score": 0.1},
                ]
            }
        )
    )
    api = RerankAPI(url, "rerank-small", api_key="k-secret")
    try:
        ranked = await rerank("owls", results("a", "b", "c"), api)
    finally:
        await api.aclose()
    assert [r.id for r in ranked] == ["c2", "c0", "c1"]
    sent = script.requests[0]
    assert sent["path"] == "/rerank"
    assert sent["json"] == {
        "model": "rerank-small",
        "query": "owls",
        "documents": ["a", "b", "c"],
        "top_n": 3,
    }
    assert sent["headers"]["Authorization"] == "Bearer k-secret"


async def test_rerank_api_answer_out_of_range(provider_server):
    url, script = await provider_server()
    script.add(json_reply({"results": [{"index": 7, "relevance_score": 0.9}]}))
    api = RerankAPI(url, "m")
    try:
        with pytest.raises(ProviderError, match="document 7"):
            await rerank("q", results("a"), api)
    finally:
        await api.aclose()


async def test_the_search_tool_validates_the_models_filter(knowledge):
    store, embedder = knowledge
    search = vector_query_tool(store, "kb", embedder)
    assert set(search.parameters["properties"]) == {"query", "top_k", "filter"}
    good = await search.run(
        ToolCall("1", search.id, {"query": "salmon", "top_k": 2, "filter": {"kind": "fish"}})
    )
    assert good.error is None
    assert good.result.content[0]["source"] == "salmon"
    assert all(hit["metadata"]["kind"] == "fish" for hit in good.result.content)
    bad = await search.run(
        ToolCall("2", search.id, {"query": "x", "filter": {"kind": {"$gt": []}}})
    )
    assert bad.result.is_error and "$gt" in bad.error
    many = await search.run(ToolCall("3", search.id, {"query": "x", "top_k": 500}))
    assert "top_k must be from 1 to 20" in many.error


async def test_the_first_hybrid_query_builds_bm25_off_the_event_loop():
    words = [f"w{i}" for i in range(2000)]
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(words, 300)) for _ in range(3000)]
    async with InMemoryVector() as store:
        await store.create_index("big", 8)
        meta = [{"text": t, "document_id": f"d{i}", "position": 0} for i, t in enumerate(texts)]
        await store.upsert("big", rng.standard_normal((len(texts), 8)), meta)
        embedder = HashingEmbedder(8)
        await embedder.embed(["warm"])  # its first call loads what it needs, on the loop
        found, gaps, took = await loop_gaps(
            retrieve("w7 w11", store, "big", embedder, top_k=3), pause=0.001
        )
    assert len(found) == 3
    # the build takes most of `took`; the loop kept running other tasks through it
    assert max(gaps) < took / 3, (max(gaps), took)
