"""``MCPClient``: the tools, resources and prompts of MCP servers, for agents."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import orjson

from mastra.closeable import AsyncCloseable
from mastra.errors import NotFoundError, ValidationError
from mastra.mcp.config import HttpServer, ServerSpec, StdioServer
from mastra.mcp.link import Link, require_sdk
from mastra.mcp.tools import MCPTool, result_value
from mastra.messages import ImagePart, Message, Part, TextPart
from mastra.tools import Tool

if TYPE_CHECKING:
    from mcp import Client
    from mcp.shared.dispatcher import ProgressFnT
    from mcp_types import ContentBlock, PromptMessage

__all__ = ["MCPClient", "Prompt", "PromptArgument", "Resource", "ResourceContent"]

T = TypeVar("T")
Progress = Callable[..., None]
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PAGES = 1000  # a server that never stops paginating is cut off here


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """A resource a server offers: read it with ``MCPClient.read_resource(server, uri)``."""

    server: str
    uri: str
    name: str
    description: str = ""
    mime_type: str | None = None


class ResourceContent(msgspec.Struct, frozen=True, kw_only=True):
    """One part of a resource: ``text``, or binary ``data``."""

    uri: str
    mime_type: str | None = None
    text: str | None = None
    data: bytes | None = None


class PromptArgument(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str = ""
    required: bool = False


class Prompt(msgspec.Struct, frozen=True, kw_only=True):
    """A prompt template a server offers: fill it with ``MCPClient.get_prompt``."""

    server: str
    name: str
    description: str = ""
    arguments: tuple[PromptArgument, ...] = ()


def _check_servers(servers: Mapping[str, ServerSpec]) -> None:
    if not isinstance(servers, Mapping) or not servers:
        raise ValidationError(
            "MCPClient needs servers={name: StdioServer(...) | HttpServer(...)}, at least one"
        )
    for name, spec in servers.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(
                f"MCP server names are letters, digits, _ and - (they prefix tool names), "
                f"got {name!r}"
            )
        if not isinstance(spec, StdioServer | HttpServer):
            raise ValidationError(
                f"server {name!r} is {type(spec).__name__}; expected StdioServer or HttpServer"
            )


class MCPClient(AsyncCloseable):
    """Connections to MCP servers, by name.

    >>> async with MCPClient(servers={"fs": StdioServer("npx", ["-y", "server-fs", "."])}) as mcp:
    ...     agent = Agent("helper", "...", model, tools=await mcp.tools())

    Each server is connected on first use, by a task of its own that owns the connection
    (the SDK's sessions must be opened and closed by one task). A request that times out or
    fails comes back as an error naming the server; a server that died is reported as such
    and connected again on the next call. Leaving the ``async with`` (or ``aclose()``) ends
    every session and stops every server process it started, and waits until they exited.
    """

    def __init__(self, servers: Mapping[str, ServerSpec]) -> None:
        _check_servers(servers)
        require_sdk()
        self.servers: dict[str, ServerSpec] = dict(servers)
        self._links = {name: Link(name, spec) for name, spec in servers.items()}

    def __repr__(self) -> str:
        return f"MCPClient(servers={sorted(self.servers)})"

    def _link(self, server: str) -> Link:
        link = self._links.get(server)
        if link is None:
            known = ", ".join(sorted(self._links))
            raise NotFoundError(f"unknown MCP server {server!r}; servers: {known}")
        return link

    async def _each(self, server: str | None, fn: Callable[[str], Awaitable[list[T]]]) -> list[T]:
        names = [server] if server is not None else list(self._links)
        found = await asyncio.gather(*(fn(name) for name in names))
        return [item for items in found for item in items]

    async def _pages(
        self, server: str, what: str, fetch: Callable[[Client, str | None], Awaitable[Any]]
    ) -> list[Any]:
        """Every item of a paginated list (``fetch`` returns a page with ``next_cursor``)."""
        link, items = self._link(server), []
        cursor: str | None = None

        async def send(client: Client) -> Any:
            return await fetch(client, cursor)

        for _ in range(_PAGES):
            page = await link.request(what, send)
            items.append(page)
            cursor = page.next_cursor
            if cursor is None:
                break
        return items

    # -- tools ------------------------------------------------------------------------------

    async def tools(self, server: str | None = None) -> list[Tool[Any]]:
        """The tools of every server (or of one), named ``<server>_<tool>``, with the schemas
        the servers give; an agent calls them like any tool."""
        found = await self._each(server, self._tools_of)
        seen: set[str] = set()
        for made in found:
            if made.id in seen:
                raise ValidationError(
                    f"two MCP tools are named {made.id!r}; rename a server so that "
                    "<server>_<tool> names differ"
                )
            seen.add(made.id)
        return list(found)

    async def _tools_of(self, server: str) -> list[MCPTool]:
        pages = await self._pages(
            server, "tools/list", lambda c, cursor: c.list_tools(cursor=cursor)
        )
        timeout = self.servers[server].timeout
        return [MCPTool(self, server, spec, timeout=timeout) for p in pages for spec in p.tools]

    async def call_tool(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """Call ``tool`` of ``server`` and return what it produced (structured content, else
        its text, else its content blocks). ``progress(message, progress=, total=)`` receives
        the server's progress notifications (``ToolContext.progress`` fits).

        Raises:
            ToolError: the tool reported an error (its text is the message).
            ValidationError: the server rejected the arguments as a protocol error.
            TimeoutError: no answer within ``timeout`` (default: the server's).
            ConnectionError: the server could not be reached or died during the call.
            ProviderError: the server answered with a protocol error or a malformed result.
        """
        report = _progress(progress) if progress is not None else None

        async def send(client: Client) -> Any:
            return await client.call_tool(
                tool, arguments, read_timeout_seconds=timeout, progress_callback=report
            )

        result = await self._link(server).request(f"tools/call {tool!r}", send, timeout)
        return result_value(server, tool, result)

    # -- resources and prompts --------------------------------------------------------------

    async def resources(self, server: str | None = None) -> list[Resource]:
        """The resources of every server that offers any (or of one)."""
        return await self._each(server, self._resources_of)

    async def _resources_of(self, server: str) -> list[Resource]:
        if not await self._offers(server, "resources"):
            return []
        pages = await self._pages(
            server, "resources/list", lambda c, cursor: c.list_resources(cursor=cursor)
        )
        return [
            Resource(
                server=server,
                uri=str(r.uri),
                name=r.name,
                description=r.description or "",
                mime_type=r.mime_type,
            )
            for page in pages
            for r in page.resources
        ]

    async def read_resource(self, server: str, uri: str) -> list[ResourceContent]:
        """The contents of the resource at ``uri``."""

        async def send(client: Client) -> Any:
            return await client.read_resource(uri)

        result = await self._link(server).request(f"resources/read {uri!r}", send)
        return [
            ResourceContent(
                uri=str(c.uri),
                mime_type=c.mime_type,
                text=getattr(c, "text", None),
                data=base64.b64decode(c.blob) if hasattr(c, "blob") else None,
            )
            for c in result.contents
        ]

    async def prompts(self, server: str | None = None) -> list[Prompt]:
        """The prompts of every server that offers any (or of one)."""
        return await self._each(server, self._prompts_of)

    async def _prompts_of(self, server: str) -> list[Prompt]:
        if not await self._offers(server, "prompts"):
            return []
        pages = await self._pages(
            server, "prompts/list", lambda c, cursor: c.list_prompts(cursor=cursor)
        )
        return [
            Prompt(
                server=server,
                name=p.name,
                description=p.description or "",
                arguments=tuple(
                    PromptArgument(
                        name=a.name, description=a.description or "", required=bool(a.required)
                    )
                    for a in p.arguments or ()
                ),
            )
            for page in pages
            for p in page.prompts
        ]

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, str] | None = None
    ) -> list[Message]:
        """The prompt ``name`` filled with ``arguments``, as messages for an agent."""
        values = dict(arguments or {})

        async def send(client: Client) -> Any:
            return await client.get_prompt(name, values)

        result = await self._link(server).request(f"prompts/get {name!r}", send)
        return [_message(m) for m in result.messages]

    async def _offers(self, server: str, capability: str) -> bool:
        session = await self._link(server).session()
        assert session.client is not None
        return getattr(session.client.server_capabilities, capability, None) is not None

    async def aclose(self) -> None:
        """End every session and stop every server process (waits until they exited)."""
        await asyncio.gather(*(link.aclose() for link in self._links.values()))


def _progress(report: Progress) -> ProgressFnT:
    async def forward(progress: float, total: float | None, message: str | None) -> None:
        text = message or (f"{progress:g}/{total:g}" if total else f"{progress:g}")
        report(text, progress=progress, total=total)

    return forward


def _message(message: PromptMessage) -> Message:
    part = _part(message.content)
    if message.role == "assistant":
        return Message("assistant", [part])
    return Message.user([part])


def _part(block: ContentBlock) -> Part:
    if block.type == "text":
        return TextPart(block.text)
    if block.type == "image":
        return ImagePart(data=base64.b64decode(block.data), media_type=block.mime_type)
    if block.type == "resource" and hasattr(block.resource, "text"):
        return TextPart(block.resource.text)
    return TextPart(orjson.dumps(block.model_dump(mode="json", exclude_none=True)).decode())
