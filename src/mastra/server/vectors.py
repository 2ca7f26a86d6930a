"""Vector routes, as Mastra's server has them: ``/api/vector/<store name>/...`` to list,
describe, create and delete indexes, upsert and query (and ``/api/vector``, ours: the store
names, for the Studio). Mastra says ``dotproduct`` where we say ``dot``; the routes
translate."""

from __future__ import annotations

import msgspec
from aiohttp import web

from mastra.server.bodies import CreateIndex, QueryVectors, UpsertVectors
from mastra.server.http import body, json, takes
from mastra.server.state import MASTRA
from mastra.vector import VectorStore
from mastra.vector.kernels import Metric

__all__ = ["add_routes"]

_METRIC_IN: dict[str, Metric] = {
    "cosine": "cosine",
    "euclidean": "euclidean",
    "dotproduct": "dot",
    "dot": "dot",
}
_METRIC_OUT = {"cosine": "cosine", "euclidean": "euclidean", "dot": "dotproduct"}


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(f"{prefix}/vector", list_stores)
    base = f"{prefix}/vector/{{vector_name}}"
    router.add_get(base + "/indexes", list_indexes)
    router.add_get(base + "/indexes/{index_name}", describe_index)
    router.add_delete(base + "/indexes/{index_name}", delete_index)
    router.add_post(base + "/create-index", create_index)
    router.add_post(base + "/upsert", upsert)
    router.add_post(base + "/query", query)


def _store(request: web.Request) -> VectorStore:
    return request.app[MASTRA].get_vector(request.match_info["vector_name"])


async def list_stores(request: web.Request) -> web.Response:
    """The registry's vector store names."""
    return json({"vectors": sorted(request.app[MASTRA].vectors)})


async def list_indexes(request: web.Request) -> web.Response:
    """The store's index names."""
    return json({"indexes": await _store(request).list_indexes()})


async def describe_index(request: web.Request) -> web.Response:
    """An index's dimension, count and metric."""
    stats = await _store(request).describe_index(request.match_info["index_name"])
    metric = _METRIC_OUT.get(stats.metric, stats.metric)
    return json({"dimension": stats.dimension, "count": stats.count, "metric": metric})


async def delete_index(request: web.Request) -> web.Response:
    """Delete an index and its vectors."""
    await _store(request).delete_index(request.match_info["index_name"])
    return json({"success": True})


@takes(CreateIndex)
async def create_index(request: web.Request) -> web.Response:
    """Create an index (again with the same settings: nothing happens)."""
    new = await body(request, CreateIndex)
    await _store(request).create_index(new.index_name, new.dimension, _METRIC_IN[new.metric])
    return json({"success": True})


@takes(UpsertVectors)
async def upsert(request: web.Request) -> web.Response:
    """Insert or replace vectors; the ids."""
    given = await body(request, UpsertVectors)
    return json(
        await _store(request).upsert(given.index_name, given.vectors, given.metadata, given.ids)
    )


@takes(QueryVectors)
async def query(request: web.Request) -> web.Response:
    """The nearest vectors matching the filter, best first."""
    q = await body(request, QueryVectors)
    results = await _store(request).query(
        q.index_name, q.query_vector, q.top_k, q.filter, q.include_vector
    )
    return json([msgspec.to_builtins(r) for r in results])
