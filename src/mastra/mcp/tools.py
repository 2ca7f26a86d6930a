"""``MCPTool``: a tool of an MCP server as a Mastra :class:`~mastra.tools.Tool`, and the
conversion of MCP tool results to the JSON values our tools return."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, Protocol

from mastra.errors import MastraError, ToolError, ValidationError
from mastra.messages import ToolCall, ToolResult
from mastra.tools import Tool, ToolContext, ToolOutcome

if TYPE_CHECKING:
    from mcp_types import CallToolResult
    from mcp_types import Tool as ToolSpec

__all__ = ["MCPTool", "result_value"]


class _Caller(Protocol):
    async def call_tool(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress: Any = None,
    ) -> Any: ...


def result_value(server: str, tool: str, result: CallToolResult) -> Any:
    """What a tool call produced, as a JSON value: the structured content when the server
    gives one, else the text (one block), else the content blocks as JSON objects. An error
    result raises :class:`ToolError` with the server's text."""
    if result.is_error:
        text = "\n".join(b.text for b in result.content if b.type == "text").strip()
        raise ToolError(text or f"MCP tool {tool!r} of server {server!r} failed (no message)")
    if result.structured_content is not None:
        return result.structured_content
    blocks = result.content
    if len(blocks) == 1 and blocks[0].type == "text":
        return blocks[0].text
    return [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in blocks]


class MCPTool(Tool[Any]):
    """A tool of an MCP server. ``id`` is ``<server>_<tool>``; the parameters are the
    server's JSON Schema, unchanged; ``timeout`` (default: the server's) bounds each call.

    Arguments are validated by the server, which MCP requires of it (the schema is the
    server's, so it is also the authority on it): a rejection, a failure in the tool, a
    timeout or a lost connection come back to the model as a tool error.
    """

    def __init__(self, client: _Caller, server: str, spec: ToolSpec, *, timeout: float) -> None:
        self.server, self.name = server, spec.name
        self._client = client
        self._schema: dict[str, Any] = dict(spec.input_schema)
        super().__init__(
            f"{server}_{spec.name}",
            spec.description or spec.title or "",
            execute=self._call_server,
        )
        self.timeout = timeout

    @functools.cached_property
    def parameters(self) -> dict[str, Any]:
        return self._schema

    async def _call_server(self, args: dict[str, Any], ctx: ToolContext | None) -> Any:
        progress = ctx.progress if ctx is not None else None
        return await self._client.call_tool(
            self.server, self.name, args, timeout=self.timeout, progress=progress
        )

    async def run(self, call: ToolCall, ctx: ToolContext | None = None) -> ToolOutcome:
        """Call the server's tool; every failure becomes an error result for the model."""
        started = time.perf_counter()
        error: str | None = None
        content: Any = None
        try:
            if call.raw_arguments is not None:
                raise ValidationError(
                    f"arguments are not a JSON object: {call.raw_arguments[:200]!r}"
                )
            content = await self._call_server(call.arguments, ctx)
        except ValidationError as exc:
            error = f"invalid arguments for tool {self.id!r}: {exc}"
        except MastraError as exc:
            error = f"tool {self.id!r} failed: {exc}"
        except Exception as exc:  # an SDK failure we do not map: still the model's to see
            error = f"tool {self.id!r} failed: {type(exc).__name__}: {exc}"
        result = ToolResult(
            call.id, self.id, error if error is not None else content, is_error=error is not None
        )
        invalid = error is not None and error.startswith("invalid arguments")
        return ToolOutcome(result, error, (time.perf_counter() - started) * 1000, invalid)

    def __repr__(self) -> str:
        return f"MCPTool({self.id!r})"
