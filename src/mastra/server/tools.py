"""Tool routes: list, details and execute, for the registry's tools (Mastra's
``/api/tools``); the agent routes reuse ``tool_info`` and ``execute_tool``."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import orjson
from aiohttp import web

from mastra.messages import ToolCall
from mastra.server.bodies import ToolExecution
from mastra.server.http import HttpError, body, json, takes
from mastra.server.state import MASTRA, request_context
from mastra.tools import Tool, ToolContext

__all__ = ["add_routes", "execute_tool", "tool_info"]


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(f"{prefix}/tools", list_tools)
    router.add_get(f"{prefix}/tools/{{tool_id}}", get_tool)
    router.add_post(f"{prefix}/tools/{{tool_id}}/execute", execute)


def tool_info(tool: Tool[Any]) -> dict[str, Any]:
    """A ``GetToolResponse``: the schemas are JSON text, as Mastra serialises them."""
    output = msgspec.json.schema(tool.output) if tool.output is not None else {}
    return {
        "id": tool.id,
        "description": tool.description,
        "inputSchema": orjson.dumps(tool.parameters).decode(),
        "outputSchema": orjson.dumps(output).decode(),
    }


def all_tools(request: web.Request) -> dict[str, Tool[Any]]:
    """The registry's tools, then every agent's (the registry's win a name clash)."""
    mastra = request.app[MASTRA]
    found = {tool_id: t for agent in mastra.agents.values() for tool_id, t in agent.tools.items()}
    return {**found, **mastra.tools}


def _tool(request: web.Request) -> Tool[Any]:
    tools, tool_id = all_tools(request), request.match_info["tool_id"]
    if tool_id not in tools:
        known = ", ".join(sorted(tools)) or "none"
        raise HttpError(404, "not_found", f"unknown tool {tool_id!r}; tools: {known}")
    return tools[tool_id]


async def list_tools(request: web.Request) -> web.Response:
    """Every tool: the registry's and the agents', by id."""
    return json({tool_id: tool_info(t) for tool_id, t in all_tools(request).items()})


async def get_tool(request: web.Request) -> web.Response:
    """One tool: id, description and schemas (JSON text)."""
    return json(tool_info(_tool(request)))


@takes(ToolExecution)
async def execute(request: web.Request) -> web.Response:
    """Run the tool with ``data`` as its arguments; its bare result."""
    return await execute_tool(request, _tool(request))


async def execute_tool(request: web.Request, tool: Tool[Any]) -> web.Response:
    """``{data: <arguments>}`` in, the tool's bare result out; invalid arguments are 400, a
    failure inside the tool 500 (its message, no traceback)."""
    execution = await body(request, ToolExecution)
    context = request_context(request, execution.request_context)
    run_id = request.query.get("runId") or uuid.uuid4().hex
    call = ToolCall(f"{run_id}:{tool.id}", tool.id, execution.data)
    outcome = await tool.run(
        call, ToolContext(run_id=run_id, tool_call_id=call.id, context=context)
    )
    if outcome.error is not None:
        status = 400 if outcome.invalid_arguments else 500
        raise HttpError(status, "tool_error", outcome.error)
    return json(outcome.result.content)
