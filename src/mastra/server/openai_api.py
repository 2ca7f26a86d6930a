"""The OpenAI Chat Completions API over the registry's agents: ``POST /v1/chat/completions``
(``model`` names an agent; its own tools run here, server-side; ``stream`` with
``stream_options.include_usage``) and ``GET /v1/models``. Any OpenAI client can talk to a
Mastra.py agent this way."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from aiohttp import web

from mastra.agent import Agent, AgentFinish, RunOptions, TextDelta
from mastra.errors import MastraError, ValidationError
from mastra.messages import Message, TextPart, ToolCall, ToolResult
from mastra.server.bodies import ChatCompletion, ChatMessage
from mastra.server.http import HttpError, body, json, takes
from mastra.server.state import MASTRA, request_context
from mastra.server.streams import SSE_DONE, open_stream, sse
from mastra.server.wire import messages_in

__all__ = ["add_routes"]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "max_steps": "length",
    "content_filter": "content_filter",
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/chat/completions", chat_completions)
    router.add_get("/v1/models", models)


async def models(request: web.Request) -> web.Response:
    """The agents, as OpenAI models."""
    return json(
        {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "mastra"}
                for name in request.app[MASTRA].agents
            ],
        }
    )


def _agent(request: web.Request, name: str) -> Agent:
    agents = request.app[MASTRA].agents
    if name not in agents:
        known = ", ".join(sorted(agents)) or "none"
        raise HttpError(404, "model_not_found", f"no agent named {name!r}; agents: {known}")
    return agents[name]


def _messages(given: list[ChatMessage]) -> list[Message]:
    """OpenAI messages as ours: text (or text parts), assistant tool calls, tool results."""
    out: list[Message] = []
    for i, message in enumerate(given):
        role = "system" if message.role == "developer" else message.role
        if role == "tool":
            if message.tool_call_id is None:
                raise ValidationError(f"messages[{i}] (a tool result) needs tool_call_id")
            out.append(
                Message.tool(
                    [ToolResult(message.tool_call_id, message.name or "", message.content)]
                )
            )
            continue
        content = message.content
        if isinstance(content, list):
            text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
            if any(p.get("type") != "text" for p in content):
                out.extend(messages_in([{"role": role, "content": _openai_parts(content)}]))
                continue
            content = text
        parts: list[Any] = [TextPart(content)] if content else []
        for call in message.tool_calls or []:
            function = call.get("function", {})
            arguments = _arguments(function.get("arguments"))
            parts.append(ToolCall(call.get("id", ""), function.get("name", ""), arguments))
        out.append(Message(role, parts))
    return out


def _openai_parts(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    parts = []
    for part in content:
        if part.get("type") == "image_url":
            url = part.get("image_url", {})
            parts.append(
                {"type": "image", "image": url.get("url") if isinstance(url, dict) else url}
            )
        else:
            parts.append(part)
    return parts


def _arguments(raw: Any) -> dict[str, Any]:
    import orjson

    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        raise ValidationError("a tool call's arguments are not JSON") from None
    return value if isinstance(value, dict) else {}


def _usage(result_usage: Any) -> dict[str, int]:
    return {
        "prompt_tokens": result_usage.input_tokens,
        "completion_tokens": result_usage.output_tokens,
        "total_tokens": result_usage.total_tokens,
    }


@takes(ChatCompletion)
async def chat_completions(request: web.Request) -> web.StreamResponse:
    """OpenAI Chat Completions: ``model`` is an agent's name."""
    completion = await body(request, ChatCompletion)
    agent = _agent(request, completion.model)
    messages = _messages(completion.messages)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    context = request_context(request, {"user": completion.user} if completion.user else {})
    options = RunOptions(run_id=completion_id, context=context)
    if completion.stream:
        include_usage = bool(completion.stream_options and completion.stream_options.include_usage)
        return await _stream(request, agent, messages, options, completion_id, include_usage)
    result = await agent.generate(messages, **options)
    return json(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": agent.name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": _FINISH.get(result.finish_reason, "stop"),
                }
            ],
            "usage": _usage(result.usage),
        }
    )


async def _stream(
    request: web.Request,
    agent: Agent,
    messages: list[Message],
    options: RunOptions,
    completion_id: str,
    include_usage: bool,
) -> web.StreamResponse:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": agent.name,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    response = await open_stream(request, "text/event-stream; charset=utf-8")
    await response.write(sse(chunk({"role": "assistant", "content": ""})))
    try:
        async with contextlib.aclosing(agent.stream(messages, **options)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    await response.write(sse(chunk({"content": event.text})))
                elif isinstance(event, AgentFinish):
                    reason = _FINISH.get(event.result.finish_reason, "stop")
                    await response.write(sse(chunk({}, reason)))
                    if include_usage:
                        usage = _usage(event.result.usage)
                        final = {**chunk({}), "choices": [], "usage": usage}
                        await response.write(sse(final))
    except MastraError as exc:
        error = {"error": {"type": "server_error", "message": str(exc)}}
        await response.write(sse(error))
    await response.write(SSE_DONE)
    await response.write_eof()
    return response
