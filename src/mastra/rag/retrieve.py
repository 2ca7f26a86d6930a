"""Retrieval: vector search fused with BM25 by reciprocal rank fusion, reranking through an
LLM or a ``/rerank`` API, and a tool that lets an agent search."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import numpy as np
import orjson

from mastra.errors import ProviderError, ValidationError
from mastra.http.client import HttpClient
from mastra.llm.base import LanguageModel
from mastra.llm.types import ModelRequest, ModelSettings
from mastra.messages import Message
from mastra.rag.embedders import Embedder
from mastra.rag.lexical import Lexical, lexical_index
from mastra.tools.tool import Tool
from mastra.vector.base import QueryResult, VectorStore
from mastra.vector.filters import validate_filter
from mastra.vector.kernels import check_k

__all__ = ["RerankAPI", "rerank", "retrieve", "vector_query_tool"]

RRF_K = 60


async def retrieve(
    query: str,
    store: VectorStore,
    index: str,
    embedder: Embedder,
    top_k: int = 10,
    filter: dict[str, Any] | None = None,
    hybrid: bool = True,
    *,
    candidates: int | None = None,
) -> list[QueryResult]:
    """The ``top_k`` chunks best matching ``query``, best first.

    ``hybrid=True`` fuses the vector ranking with a BM25 ranking of the chunk texts by
    reciprocal rank fusion (``score = sum 1 / (60 + rank)``); each side contributes its best
    ``candidates`` (default ``max(4 * top_k, 50)``), and a lexical hit is kept only when it
    passes ``filter``. ``hybrid=False`` is plain vector search (scores are similarities)."""
    if not isinstance(query, str) or not query.strip():
        raise ValidationError(f"query must be a non-empty string, got {query!r}")
    k = check_k(top_k)
    pool = check_k(candidates) if candidates is not None else max(4 * k, 50)
    spec = validate_filter(filter) if filter else None
    vector = np.asarray(await embedder.embed([query]), dtype=np.float32)[0]
    if not hybrid:
        return await store.query(index, vector, top_k=k, filter=spec)
    # the BM25 search runs on a worker thread while the store scans (in its own, for a
    # large index): the two sides take about the same time at a million chunks
    semantic, (lexical, rows) = await asyncio.gather(
        store.query(index, vector, top_k=pool, filter=spec), _bm25(store, index, query, pool)
    )
    hits = await _lexical_hits(store, index, vector, lexical, rows, semantic, spec)
    fused: dict[str, float] = {}
    found: dict[str, QueryResult] = {}
    for ranking in (semantic, hits):
        for rank, result in enumerate(ranking, start=1):
            fused[result.id] = fused.get(result.id, 0.0) + 1.0 / (RRF_K + rank)
            found.setdefault(result.id, result)
    best = sorted(fused, key=lambda id_: (-fused[id_], id_))[:k]
    return [QueryResult(id_, fused[id_], found[id_].metadata) for id_ in best]


async def _bm25(store: VectorStore, index: str, query: str, pool: int) -> tuple[Lexical, list[int]]:
    """The lexical index and the rows of its ``pool`` best BM25 matches, best first."""
    lexical = await lexical_index(store, index)
    rows, _ = await asyncio.to_thread(lexical.bm25.search, query, pool)
    return lexical, rows.tolist()


async def _lexical_hits(
    store: VectorStore,
    index: str,
    vector: np.ndarray,
    lexical: Lexical,
    rows: list[int],
    semantic: list[QueryResult],
    spec: dict[str, Any] | None,
) -> list[QueryResult]:
    """The BM25 ranking as results with metadata: hits the vector side also found are taken
    from it; the others are fetched from the store (which applies the filter)."""
    known = {r.id: r for r in semantic}
    ids, documents = lexical.ids, lexical.documents
    wanted = {ids[row]: documents[row] for row in rows if ids[row] not in known}
    if wanted:
        known.update(await _fetch(store, index, vector, lexical, wanted, spec))
    return [known[lexical.ids[row]] for row in rows if lexical.ids[row] in known]


async def _fetch(
    store: VectorStore,
    index: str,
    vector: np.ndarray,
    lexical: Lexical,
    wanted: dict[str, Any],
    spec: dict[str, Any] | None,
) -> dict[str, QueryResult]:
    """The chunks ``wanted`` (id -> document id) that pass ``spec``, by one query for the
    chunks of their documents: an ``$in`` on the document id is one value-index lookup in
    the stores, where a clause per chunk costs a pass over every row each. ``k`` starts at
    the chunks the lexical index counts for those documents and doubles while a full answer
    may have left a wanted chunk out (the store changed since the index was built)."""
    documents = sorted(set(wanted.values()), key=repr)
    where: dict[str, Any] = {"document_id": {"$in": documents}}
    if spec is not None:
        where = {"$and": [spec, where]}
    k = max(sum(lexical.chunk_counts[d] for d in documents), 1)
    while True:
        answer = await store.query(index, vector, top_k=k, filter=where)
        found = {r.id: r for r in answer if r.id in wanted}
        if len(answer) < k or len(found) == len(wanted):
            return found
        k *= 2


# -- reranking ------------------------------------------------------------------------------


class RerankAPI:
    """A rerank service speaking the Cohere/Jina wire format: ``POST {base_url}/rerank`` with
    ``{"model", "query", "documents", "top_n"}``, answered by ``{"results": [{"index",
    "relevance_score"}]}``. Retries and timeouts are the :class:`HttpClient`'s."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        client: HttpClient | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self.client = client or HttpClient(base_url, headers, provider="rerank")

    async def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        answer = await self.client.request_json(
            "POST",
            "/rerank",
            json={
                "model": self.model,
                "query": query,
                "documents": list(texts),
                "top_n": len(texts),
            },
            type=_RerankAnswer,
        )
        scores = [float("-inf")] * len(texts)
        for item in answer.results:
            if not 0 <= item.index < len(texts):
                raise ProviderError(
                    f"rerank answer names document {item.index}; only {len(texts)} were sent",
                    provider="rerank",
                )
            scores[item.index] = item.relevance_score
        return scores

    async def aclose(self) -> None:
        await self.client.aclose()


class _RerankItem(msgspec.Struct):
    index: int
    relevance_score: float


class _RerankAnswer(msgspec.Struct):
    results: list[_RerankItem]


_RERANK_PROMPT = """Rate how well each passage answers the query, from 0 (unrelated) to 10
(answers it fully). Reply with JSON only: {{"scores": [one number per passage, in order]}}.

Query: {query}

{passages}"""
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


async def _llm_scores(model: LanguageModel, query: str, texts: Sequence[str]) -> list[float]:
    passages = "\n\n".join(f"[{i}] {t}" for i, t in enumerate(texts))
    request = ModelRequest(
        messages=[Message.user(_RERANK_PROMPT.format(query=query, passages=passages))],
        settings=ModelSettings(temperature=0.0),
    )
    answer = (await model.generate(request)).text
    match = _JSON_OBJECT.search(answer)
    try:
        scores = orjson.loads(match.group(0))["scores"] if match else None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        scores = None
    if (
        not isinstance(scores, list)
        or len(scores) != len(texts)
        or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores)
    ):
        raise ProviderError(
            f"{model.name} did not answer the rerank prompt with {len(texts)} scores: "
            f"{answer[:200]!r}",
            provider=model.provider,
        )
    return [float(s) for s in scores]


async def rerank(
    query: str,
    results: Sequence[QueryResult],
    model: LanguageModel | RerankAPI,
    *,
    top_k: int | None = None,
) -> list[QueryResult]:
    """``results`` reordered by a reranker: an LLM asked to score each chunk's ``text``
    (0-10), or a :class:`RerankAPI`. Scores become the reranker's; ``top_k`` keeps the best."""
    if not results:
        return []
    texts = [str(r.metadata.get("text", "")) for r in results]
    if isinstance(model, RerankAPI):
        scores = await model.scores(query, texts)
    elif isinstance(model, LanguageModel):
        scores = await _llm_scores(model, query, texts)
    else:
        raise ValidationError(
            f"rerank model must be a LanguageModel or a RerankAPI, got {type(model).__name__}"
        )
    order = sorted(range(len(results)), key=lambda i: -scores[i])
    ranked = [QueryResult(results[i].id, scores[i], results[i].metadata) for i in order]
    return ranked if top_k is None else ranked[: check_k(top_k)]


# -- the agent's tool -----------------------------------------------------------------------


class _SearchInput(msgspec.Struct, forbid_unknown_fields=True):
    query: str
    top_k: int = 5
    filter: dict[str, Any] | None = None


def vector_query_tool(
    store: VectorStore,
    index: str,
    embedder: Embedder,
    *,
    id: str = "search_knowledge",
    description: str | None = None,
    hybrid: bool = True,
    max_top_k: int = 20,
) -> Tool[list[dict[str, Any]]]:
    """A tool an agent calls with ``query``, ``top_k`` and an optional metadata ``filter``
    (the :mod:`mastra.vector.filters` language). The filter is validated before use: a bad
    one comes back to the model as the tool's error, with what was wrong."""

    async def search(args: _SearchInput) -> list[dict[str, Any]]:
        if not 1 <= args.top_k <= max_top_k:
            raise ValidationError(f"top_k must be from 1 to {max_top_k}, got {args.top_k}")
        spec = validate_filter(args.filter) if args.filter else None
        found = await retrieve(args.query, store, index, embedder, args.top_k, spec, hybrid)
        return [_hit(r.metadata, r.score) for r in found]

    return Tool(
        id,
        description
        or (
            f"Search the {index!r} knowledge base. Returns the best matching passages with "
            'their source. filter narrows by metadata, e.g. {"source": {"$in": [...]}}.'
        ),
        input=_SearchInput,
        execute=search,
    )


def _hit(metadata: Mapping[str, Any], score: float) -> dict[str, Any]:
    return {
        "text": metadata.get("text", ""),
        "source": metadata.get("source", ""),
        "score": round(float(score), 6),
        "metadata": {k: v for k, v in metadata.items() if k != "text"},
    }
