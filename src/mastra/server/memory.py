"""Memory routes, as Mastra's server has them: threads (list, create, get, update, delete),
their messages (list, save, delete), working memory, and status. ``?agentId=`` picks that
agent's memory; without it the registry's storage answers."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from mastra.errors import NotFoundError
from mastra.ids import new_id
from mastra.memory import Memory
from mastra.server import wire
from mastra.server.bodies import (
    CreateThread,
    DeleteMessages,
    SaveMessages,
    UpdateThread,
    WorkingMemoryUpdate,
)
from mastra.server.http import HttpError, body, json, query_int, takes
from mastra.server.state import MASTRA
from mastra.storage import Storage, Thread

__all__ = ["add_routes"]


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    base = f"{prefix}/memory"
    router.add_get(base + "/status", status)
    router.add_get(base + "/threads", list_threads)
    router.add_post(base + "/threads", create_thread)
    router.add_get(base + "/threads/{thread_id}", get_thread)
    router.add_patch(base + "/threads/{thread_id}", update_thread)
    router.add_delete(base + "/threads/{thread_id}", delete_thread)
    router.add_get(base + "/threads/{thread_id}/messages", list_messages)
    router.add_get(base + "/threads/{thread_id}/working-memory", get_working_memory)
    router.add_post(base + "/threads/{thread_id}/working-memory", set_working_memory)
    router.add_post(base + "/save-messages", save_messages)
    router.add_post(base + "/messages/delete", delete_messages)


def _memory(request: web.Request) -> Memory | None:
    agent_id = request.query.get("agentId")
    if not agent_id:
        return None
    agent = request.app[MASTRA].get_agent(agent_id)
    if agent.memory is None:
        raise HttpError(400, "validation_error", f"agent {agent_id!r} has no memory")
    memory: Memory = agent.memory
    return memory


def _storage(request: web.Request) -> Storage:
    memory = _memory(request)
    if memory is not None:
        return memory.storage
    storage = request.app[MASTRA].storage
    if storage is None:
        raise HttpError(400, "validation_error", "no storage: register one, or pass ?agentId=")
    return storage


async def _thread(storage: Storage, thread_id: str) -> Thread:
    found = await storage.get_thread(thread_id)
    if found is None:
        raise NotFoundError(f"no thread {thread_id!r}")
    return found


async def status(request: web.Request) -> web.Response:
    agent_id = request.query.get("agentId")
    if agent_id:
        return json({"result": request.app[MASTRA].get_agent(agent_id).memory is not None})
    return json({"result": request.app[MASTRA].storage is not None})


async def list_threads(request: web.Request) -> web.Response:
    resource_id = request.query.get("resourceId")
    if not resource_id:
        raise HttpError(400, "validation_error", "resourceId is required (?resourceId=...)")
    per_page = query_int(request, "perPage", 100, 1, 1000)
    page = query_int(request, "page", 0, 0, 1_000_000)
    found = await _storage(request).list_threads(
        resource_id, limit=per_page + 1, offset=page * per_page
    )
    has_more = len(found) > per_page
    return json(
        {
            "threads": [wire.thread(t) for t in found[:per_page]],
            "total": page * per_page + len(found),
            "page": page,
            "perPage": per_page,
            "hasMore": has_more,
        }
    )


@takes(CreateThread)
async def create_thread(request: web.Request) -> web.Response:
    """Create a thread for ``resourceId`` (``threadId`` to choose its id)."""
    new = await body(request, CreateThread)
    memory = _memory(request)
    if memory is not None:
        made = await memory.create_thread(
            new.resource_id, thread_id=new.thread_id, title=new.title, metadata=new.metadata
        )
    else:
        thread = Thread(
            id=new.thread_id or new_id(),
            resource_id=new.resource_id,
            title=new.title,
            metadata=new.metadata,
        )
        made = await _storage(request).save_thread(thread)
    return json(wire.thread(made))


async def get_thread(request: web.Request) -> web.Response:
    return json(wire.thread(await _thread(_storage(request), request.match_info["thread_id"])))


@takes(UpdateThread)
async def update_thread(request: web.Request) -> web.Response:
    """Change a thread's title and/or metadata."""
    change = await body(request, UpdateThread)
    storage = _storage(request)
    thread_id = request.match_info["thread_id"]
    await _thread(storage, thread_id)
    updated = await storage.update_thread(thread_id, title=change.title, metadata=change.metadata)
    return json(wire.thread(updated))


async def delete_thread(request: web.Request) -> web.Response:
    storage = _storage(request)
    await _thread(storage, request.match_info["thread_id"])
    await storage.delete_thread(request.match_info["thread_id"])
    return json({"result": "Thread deleted"})


async def list_messages(request: web.Request) -> web.Response:
    storage = _storage(request)
    thread_id = request.match_info["thread_id"]
    await _thread(storage, thread_id)
    per_page = query_int(request, "perPage", 40, 1, 10_000)
    page = query_int(request, "page", 0, 0, 1_000_000)
    found = await storage.list_messages(thread_id, limit=per_page, offset=page * per_page)
    return json({"messages": [wire.stored_message(m) for m in found]})


@takes(SaveMessages)
async def save_messages(request: web.Request) -> web.Response:
    """Save messages (``{role, content, threadId, id?}``) to their threads."""
    given = await body(request, SaveMessages)
    messages = wire.stored_messages_in(given.messages, given.thread_id, given.resource_id)
    storage = _storage(request)
    for thread_id in {m.thread_id for m in messages}:
        await _thread(storage, thread_id)
    memory = _memory(request)
    if memory is None:
        await storage.save_messages(messages)
        return json({"messages": [wire.stored_message(m) for m in messages]})
    saved = []  # through the memory: the text is indexed for recall too
    for thread_id in dict.fromkeys(m.thread_id for m in messages):
        mine = [m for m in messages if m.thread_id == thread_id]
        saved += await memory.save_messages(
            thread_id,
            [m.to_message() for m in mine],
            resource_id=mine[0].resource_id,
            ids=[m.id for m in mine],
        )
    return json({"messages": [wire.stored_message(m) for m in saved]})


@takes(DeleteMessages)
async def delete_messages(request: web.Request) -> web.Response:
    """Delete messages by id."""
    ids = (await body(request, DeleteMessages)).message_ids
    await _storage(request).delete_messages(ids)
    return json({"success": True, "message": f"{len(ids)} messages deleted"})


def _working_memory(request: web.Request) -> Memory:
    memory = _memory(request)
    if memory is None or memory.options.working_memory is None:
        raise HttpError(
            400, "validation_error", "working memory needs ?agentId= of an agent with it"
        )
    return memory


async def get_working_memory(request: web.Request) -> web.Response:
    memory = _working_memory(request)
    thread_id = request.match_info["thread_id"]
    resource_id = request.query.get("resourceId")
    settings = memory.options.working_memory
    assert settings is not None
    exists = await memory.storage.get_thread(thread_id) is not None
    text = await memory.get_working_memory(thread_id, resource_id) if exists else None
    return json(
        {
            "workingMemory": text,
            "source": settings.scope,
            "workingMemoryTemplate": _template(settings),
            "threadExists": exists,
        }
    )


def _template(settings: Any) -> dict[str, Any] | None:
    if settings.schema is not None:
        return {"format": "json", "content": msgspec.json.schema(settings.schema)}
    if settings.template:
        return {"format": "markdown", "content": settings.template}
    return None


@takes(WorkingMemoryUpdate)
async def set_working_memory(request: web.Request) -> web.Response:
    """Replace the working memory of a thread (or of its resource)."""
    memory = _working_memory(request)
    update = await body(request, WorkingMemoryUpdate)
    thread_id = request.match_info["thread_id"]
    await _thread(memory.storage, thread_id)
    text = await memory.update_working_memory(thread_id, update.resource_id, update.working_memory)
    return json({"success": True, "workingMemory": text})
