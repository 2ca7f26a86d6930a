"""``MCPServer``: our tools, agents and workflows offered to MCP clients (on the SDK's
low-level ``Server``, so the tools keep our JSON Schemas and our validation)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from mastra.errors import ValidationError, WorkflowError
from mastra.mcp.link import require_sdk
from mastra.messages import ToolCall
from mastra.tools import Tool, ToolContext, ToolOutcome, tool

if TYPE_CHECKING:
    from mcp.server import Server, ServerRequestContext
    from mcp_types import CallToolRequestParams, CallToolResult, ListToolsResult

    from mastra.agent import Agent
    from mastra.mastra import Mastra
    from mastra.workflows import Workflow

__all__ = ["MCPServer"]

log = logging.getLogger("mastra.mcp")
_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-") or "mcp"


def _workflow_tool(workflow: Workflow) -> Tool[Any]:
    """A tool that runs ``workflow`` to its end: its arguments are the workflow's input when
    that is a Struct (an object), else ``{"input": <the input>}``."""
    direct = isinstance(workflow.input, type) and issubclass(workflow.input, msgspec.Struct)
    if direct:
        arguments: type[msgspec.Struct] = workflow.input
    else:
        kind = workflow.input if workflow.input is not None else Any
        arguments = msgspec.defstruct(
            f"run_{workflow.id}_input", [("input", kind)], forbid_unknown_fields=True, kw_only=True
        )

    async def run(args: Any) -> Any:
        data = args if direct else args.input
        started = workflow.create_run()
        result = await started.start(data)
        if result.status == "success":
            return result.result
        if result.status == "suspended":
            return {"status": "suspended", "runId": started.run_id, "suspended": result.suspended}
        raise WorkflowError(f"workflow {workflow.id!r} {result.status}: {result.error}")

    return Tool(
        f"run_{workflow.id}",
        workflow.description or f"Run the {workflow.id} workflow and return its result.",
        input=arguments,
        execute=run,
    )


class MCPServer:
    """Our tools, agents and workflows as the tools of an MCP server.

    Each tool keeps its id and JSON Schema; each agent becomes ``ask_<name>`` (argument
    ``prompt``, answer: its text); each workflow becomes ``run_<id>`` (arguments: its input;
    answer: its result). Arguments are validated with our schemas, and every failure (invalid
    arguments, an error in the tool, a failed workflow) comes back as an MCP tool error.

    Serve it over stdio with :meth:`run_stdio` (``mastra mcp serve app:mastra``), or over
    Streamable HTTP with :func:`mastra.mcp.mount` in the HTTP server.

    Args:
        name: the server's name (clients see it).
        id: the id in its HTTP route, ``/api/mcp/<id>/mcp`` (default: ``name`` as a slug).
        version: the version clients see.
        instructions: how to use the server, for the clients' models.
    """

    def __init__(
        self,
        name: str,
        tools: Iterable[Tool[Any] | Callable[..., Any]] = (),
        agents: Iterable[Agent] = (),
        workflows: Iterable[Workflow] = (),
        *,
        id: str | None = None,
        version: str = "1.0.0",
        instructions: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"an MCPServer needs a non-empty name, got {name!r}")
        self.name, self.version, self.instructions = name, version, instructions
        self.id = id if id is not None else _slug(name)
        if not isinstance(self.id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", self.id):
            raise ValidationError(
                f"an MCPServer id is letters, digits, '_', '.' and '-' (it is a URL path "
                f"segment), got {self.id!r}"
            )
        made = [t if isinstance(t, Tool) else tool(t) for t in tools]
        made += [agent.as_tool(f"ask_{agent.name}") for agent in agents]
        made += [_workflow_tool(workflow) for workflow in workflows]
        self.tools: dict[str, Tool[Any]] = {}
        for item in made:
            if item.id in self.tools:
                raise ValidationError(f"MCPServer {name!r} has two tools named {item.id!r}")
            self.tools[item.id] = item
        self._lowlevel: Server[Any] | None = None
        self._listing: ListToolsResult | None = None

    @classmethod
    def from_mastra(cls, mastra: Mastra, name: str | None = None, **options: Any) -> MCPServer:
        """A server offering everything ``mastra`` registers: its tools, agents and
        workflows (``options`` as for the constructor)."""
        return cls(
            name or mastra.config.name,
            tools=mastra.tools.values(),
            agents=mastra.agents.values(),
            workflows=mastra.workflows.values(),
            **options,
        )

    def __repr__(self) -> str:
        return f"MCPServer({self.name!r}, tools={list(self.tools)})"

    @property
    def lowlevel(self) -> Server[Any]:
        """The SDK server that speaks MCP for this one (made on first use)."""
        if self._lowlevel is None:
            require_sdk()
            from mcp.server import Server

            self._lowlevel = Server(
                self.name,
                version=self.version,
                instructions=self.instructions,
                on_list_tools=self._list_tools,
                on_call_tool=self._call_tool,
                get_tool_input_schema=self._input_schema,
            )
        return self._lowlevel

    async def run_stdio(self) -> None:
        """Serve one client on this process's stdin and stdout until it disconnects."""
        from mcp.server.stdio import stdio_server

        server = self.lowlevel
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    # -- handlers ---------------------------------------------------------------------------

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        found = self.tools.get(name)
        return found.parameters if found is not None else None

    async def _list_tools(self, ctx: ServerRequestContext[Any], params: Any) -> ListToolsResult:
        if self._listing is None:
            from mcp_types import ListToolsResult
            from mcp_types import Tool as ToolSpec

            self._listing = ListToolsResult(
                tools=[
                    ToolSpec(name=t.id, description=t.description, input_schema=t.parameters)
                    for t in self.tools.values()
                ]
            )
        return self._listing

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: CallToolRequestParams
    ) -> CallToolResult:
        from mcp import MCPError
        from mcp_types import INVALID_PARAMS, CallToolResult, TextContent

        chosen = self.tools.get(params.name)
        if chosen is None:
            known = ", ".join(sorted(self.tools)) or "none"
            raise MCPError(INVALID_PARAMS, f"unknown tool {params.name!r}; tools: {known}")
        call = ToolCall(f"mcp-{uuid.uuid4().hex}", chosen.id, params.arguments or {})
        outcome = await _with_progress(ctx, chosen, call)
        if outcome.error is not None:
            return CallToolResult(content=[TextContent(text=outcome.error)], is_error=True)
        return _result(outcome.result.content)


def _result(value: Any) -> CallToolResult:
    """A tool's value as an MCP result: text for a string; otherwise the JSON as text and as
    structured content (an object as it is, anything else as ``{"result": value}``, as the
    SDK's own servers do)."""
    from mcp_types import CallToolResult, TextContent

    if isinstance(value, str):
        return CallToolResult(content=[TextContent(text=value)])
    return CallToolResult(
        content=[TextContent(text=orjson.dumps(value).decode())],
        structured_content=value if isinstance(value, dict) else {"result": value},
    )


async def _with_progress(
    ctx: ServerRequestContext[Any], chosen: Tool[Any], call: ToolCall
) -> ToolOutcome:
    """Run the tool; its ``ctx.progress()`` reports go to the client as MCP progress
    notifications, in order, all sent before the result (a sync tool reports from its
    worker thread)."""
    loop = asyncio.get_running_loop()
    reports: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    counter = itertools.count(1)

    def report(message: str, data: dict[str, Any]) -> None:
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:  # a sync tool's worker thread
            here = False
        if here:
            reports.put_nowait((message, data))
        else:  # queued before the thread's result is delivered, so before join() below
            loop.call_soon_threadsafe(reports.put_nowait, (message, data))

    async def forward() -> None:
        while True:
            message, data = await reports.get()
            step = next(counter)
            progress, total = data.get("progress", step), data.get("total")
            try:
                await ctx.session.report_progress(
                    float(progress) if isinstance(progress, int | float) else float(step),
                    float(total) if isinstance(total, int | float) else None,
                    message,
                )
            except Exception as exc:  # the client left; the tool's result decides the rest
                log.debug("progress of %s not sent: %s", call.name, exc)
            finally:
                reports.task_done()

    forwarder = asyncio.create_task(forward())
    try:
        outcome = await chosen.run(call, ToolContext(tool_call_id=call.id, on_progress=report))
        await reports.join()
        return outcome
    finally:
        forwarder.cancel()
