"""Agent routes, as Mastra's server has them: list, details, generate, stream (SSE), the
agent's tools, and a WebSocket that streams the same chunks and takes ``{"type": "cancel"}``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import orjson
from aiohttp import WSMsgType, web

from mastra.agent import (
    Agent,
    AgentEvent,
    AgentFinish,
    ReasoningDelta,
    RunOptions,
    StepFinish,
    TextDelta,
    ToolCallEvent,
    ToolProgress,
    ToolResultEvent,
)
from mastra.errors import MastraError
from mastra.ids import new_id
from mastra.server import wire
from mastra.server.bodies import AgentRun, MemoryRef, ToolExecution
from mastra.server.http import HttpError, body, json, log, status_of, takes
from mastra.server.state import MASTRA, request_context
from mastra.server.streams import SSE_DONE, open_stream, sse
from mastra.server.tools import execute_tool, tool_info

__all__ = ["AgentChunks", "add_routes", "run_options"]


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    base = f"{prefix}/agents"
    router.add_get(base, list_agents)
    router.add_get(base + "/{agent_id}", get_agent)
    for route in ("generate", "generate-legacy", "generate/vnext"):
        router.add_post(f"{base}/{{agent_id}}/{route}", generate)
    for route in ("stream", "stream-legacy", "stream/vnext"):
        router.add_post(f"{base}/{{agent_id}}/{route}", stream)
    router.add_get(base + "/{agent_id}/ws", websocket)
    router.add_get(base + "/{agent_id}/tools/{tool_id}", agent_tool)
    router.add_post(base + "/{agent_id}/tools/{tool_id}/execute", execute_agent_tool)


def find_agent(request: web.Request) -> Agent:
    return request.app[MASTRA].get_agent(request.match_info["agent_id"])


def describe(agent: Agent) -> dict[str, Any]:
    """A ``GetAgentResponse``."""
    model = agent.model
    instructions = agent.instructions if isinstance(agent.instructions, str) else "(dynamic)"
    return {
        "id": agent.name,
        "name": agent.name,
        "description": agent.description,
        "instructions": instructions,
        "tools": {tool_id: tool_info(t) for tool_id, t in agent.tools.items()},
        "workflows": {},
        "agents": {},
        "provider": model.provider,
        "modelId": model.model,
        "modelVersion": "v2",
        "inputProcessors": [],
        "outputProcessors": [],
        "defaultOptions": {"maxSteps": agent.max_steps},
    }


async def list_agents(request: web.Request) -> web.Response:
    agents = request.app[MASTRA].agents
    return json({name: describe(agent) for name, agent in agents.items()})


async def get_agent(request: web.Request) -> web.Response:
    return json(describe(find_agent(request)))


def run_options(request: web.Request, run: AgentRun) -> RunOptions:
    """A generate/stream body's options: ``memory: {thread, resource}`` (or the legacy
    ``threadId`` / ``resourceId``), ``maxSteps``, ``runId``, and ``requestContext`` values,
    which reach dynamic instructions and tools as ``context`` beside the caller's claims."""
    memory = run.memory or MemoryRef()
    thread = memory.thread if memory.thread is not None else run.thread_id
    if isinstance(thread, dict):
        thread = thread.get("id")
    if thread is not None and not isinstance(thread, str):
        raise HttpError(400, "validation_error", "memory.thread must be an id or {id}")
    if run.structured_output is not None:
        raise HttpError(
            400,
            "validation_error",
            "structuredOutput from the request is not supported: give the agent an output type"
            " (Agent(..., output=MyStruct)) and its answers carry `object`",
        )
    return RunOptions(
        thread_id=thread,
        resource_id=memory.resource or run.resource_id,
        max_steps=run.max_steps,
        context=request_context(request, run.request_context),
        run_id=run.run_id or new_id(),
    )


@takes(AgentRun)
async def generate(request: web.Request) -> web.Response:
    """Run the agent to the end; Mastra's full output JSON."""
    agent = find_agent(request)
    run = await body(request, AgentRun)
    messages = wire.messages_in(run.messages)
    result = await agent.generate(messages, **run_options(request, run))
    return json(wire.agent_result(result))


class AgentChunks:
    """Our agent events as Mastra's stream chunks ``{type, runId, from: "AGENT", payload}``,
    with the step-start / text-start / text-end framing Mastra's clients expect."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._step_open = False
        self._text_id: str | None = None
        self._steps = 0

    def chunk(self, type: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"type": type, "runId": self.run_id, "from": "AGENT", "payload": payload}

    def start(self) -> list[dict[str, Any]]:
        return [self.chunk("start", {})]

    def convert(self, event: AgentEvent) -> list[dict[str, Any]]:
        if isinstance(event, AgentFinish):
            return [*self._close_text(), self._finish(event)]
        out = self._open_step()
        if isinstance(event, TextDelta):
            if self._text_id is None:
                self._text_id = f"{self.run_id}-text-{self._steps}"
                out.append(self.chunk("text-start", {"id": self._text_id}))
            out.append(self.chunk("text-delta", {"id": self._text_id, "text": event.text}))
        elif isinstance(event, ReasoningDelta):
            reasoning_id = f"{self.run_id}-reasoning-{self._steps}"
            out.append(self.chunk("reasoning-delta", {"id": reasoning_id, "text": event.text}))
        elif isinstance(event, ToolCallEvent):
            out += self._close_text()
            call = wire.tool_call(event.tool_call)
            out.append(self.chunk("tool-call", {k: v for k, v in call.items() if k != "type"}))
        elif isinstance(event, ToolProgress):
            progress = {"toolCallId": event.tool_call_id, "message": event.message}
            out.append(self.chunk("tool-progress", {**progress, "data": event.data}))
        elif isinstance(event, ToolResultEvent):
            result = wire.tool_result(event.result)
            result = {k: v for k, v in result.items() if k != "type"}
            out.append(self.chunk("tool-result", {**result, "durationMs": event.duration_ms}))
        elif isinstance(event, StepFinish):
            out += [*self._close_text(), self._step_finish(event)]
        return out

    def error(self, exc: BaseException) -> dict[str, Any]:
        return self.chunk("error", {"error": {"message": str(exc) or type(exc).__name__}})

    def internal_error(self, exc: Exception) -> dict[str, Any]:
        """An unexpected exception: its type only; the traceback goes to the log."""
        log.error("agent run %s failed", self.run_id, exc_info=exc)
        message = f"internal error ({type(exc).__name__}; run id {self.run_id} in the server log)"
        return self.chunk("error", {"error": {"message": message}})

    def _open_step(self) -> list[dict[str, Any]]:
        if self._step_open:
            return []
        self._step_open = True
        message_id = f"{self.run_id}-step-{self._steps}"
        return [self.chunk("step-start", {"messageId": message_id, "request": {}, "warnings": []})]

    def _close_text(self) -> list[dict[str, Any]]:
        if self._text_id is None:
            return []
        closed, self._text_id = self._text_id, None
        return [self.chunk("text-end", {"id": closed})]

    def _step_finish(self, event: StepFinish) -> dict[str, Any]:
        step = event.step
        self._step_open = False
        self._steps += 1
        return self.chunk(
            "step-finish",
            {
                "stepResult": {
                    "reason": wire.finish_reason(step.response.finish_reason),
                    "isContinued": bool(step.tool_calls),
                    "warnings": [],
                },
                "output": {"usage": wire.usage(step.usage)},
                "metadata": {"modelId": step.response.model},
                "messageId": f"{self.run_id}-step-{step.index}",
            },
        )

    def _finish(self, event: AgentFinish) -> dict[str, Any]:
        result = event.result
        messages = [wire.message_out(m) for m in result.messages]
        return self.chunk(
            "finish",
            {
                "stepResult": {"reason": wire.finish_reason(result.finish_reason)},
                "output": {"usage": wire.usage(result.usage)},
                "metadata": {},
                "messages": {
                    "all": messages,
                    "user": [m for m in messages if m["role"] == "user"],
                    "nonUser": [m for m in messages if m["role"] != "user"],
                },
            },
        )


async def chunks_of(
    agent: Agent, messages: list[Any], options: RunOptions
) -> AsyncIterator[dict[str, Any]]:
    """The run's chunks, ending with ``finish`` — or with ``error`` when it fails."""
    chunks = AgentChunks(options.get("run_id") or "")
    for chunk in chunks.start():
        yield chunk
    try:
        async with contextlib.aclosing(agent.stream(messages, **options)) as events:
            async for event in events:
                for chunk in chunks.convert(event):
                    yield chunk
    except MastraError as exc:
        yield chunks.error(exc)
    except Exception as exc:  # the stream has started: the failure goes into it, not a 500
        yield chunks.internal_error(exc)


@takes(AgentRun)
async def stream(request: web.Request) -> web.StreamResponse:
    """SSE: one ``data: <chunk>`` frame per chunk, then ``data: [DONE]``. A client that goes
    away cancels the run (the handler is cancelled and the agent's stream closed)."""
    agent = find_agent(request)
    run = await body(request, AgentRun)
    messages = wire.messages_in(run.messages)
    options = run_options(request, run)
    response = await open_stream(request, "text/event-stream; charset=utf-8")
    async for chunk in chunks_of(agent, messages, options):
        await response.write(sse(chunk))
    await response.write(SSE_DONE)
    await response.write_eof()
    return response


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Send a generate/stream body to start a run; get its chunks as JSON text messages and
    ``{"type": "done", "runId"}``; ``{"type": "cancel"}`` stops the run in progress."""
    agent = find_agent(request)
    socket = web.WebSocketResponse(heartbeat=30)
    await socket.prepare(request)
    running: asyncio.Task[None] | None = None
    try:
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = _ws_json(message.data)
            if data is None:
                await socket.send_json(_ws_error(400, "invalid_json", "send one JSON object"))
            elif data.get("type") == "cancel":
                if running is not None and not running.done():
                    running.cancel()
            elif running is not None and not running.done():
                await socket.send_json(_ws_error(409, "conflict", "a run is in progress"))
            else:
                running = asyncio.ensure_future(_ws_run(socket, request, agent, data))
    finally:
        if running is not None and not running.done():
            running.cancel()  # the socket closed: the run stops with it
            with contextlib.suppress(asyncio.CancelledError):
                await running
    return socket


async def _ws_run(
    socket: web.WebSocketResponse, request: web.Request, agent: Agent, data: dict[str, Any]
) -> None:
    try:
        run = msgspec.convert(data, AgentRun)
        messages = wire.messages_in(run.messages)
        options = run_options(request, run)
    except msgspec.ValidationError as exc:
        await socket.send_json(_ws_error(400, "validation_error", f"invalid run: {exc}"))
        return
    except MastraError as exc:
        await socket.send_json(_ws_error(*status_of(exc), str(exc)))
        return
    run_id = options.get("run_id")
    try:
        async for chunk in chunks_of(agent, messages, options):
            await socket.send_json(chunk, dumps=_dumps)
    except asyncio.CancelledError:
        if not socket.closed:
            await socket.send_json({"type": "canceled", "runId": run_id})
            await socket.send_json({"type": "done", "runId": run_id})
        raise
    await socket.send_json({"type": "done", "runId": run_id})


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _ws_json(text: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _ws_error(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "status": status, "error": {"type": kind, "message": message}}


async def agent_tool(request: web.Request) -> web.Response:
    """One of the agent's tools: id, description and schemas."""
    tool = _agent_tool(request)
    return json(tool_info(tool))


@takes(ToolExecution)
async def execute_agent_tool(request: web.Request) -> web.Response:
    """Run one of the agent's tools with ``data`` as its arguments; its bare result."""
    return await execute_tool(request, _agent_tool(request))


def _agent_tool(request: web.Request) -> Any:
    agent = find_agent(request)
    tool_id = request.match_info["tool_id"]
    if tool_id not in agent.tools:
        known = ", ".join(sorted(agent.tools)) or "none"
        raise HttpError(404, "not_found", f"agent {agent.name!r} has no tool {tool_id!r}; {known}")
    return agent.tools[tool_id]
