"""An ``MCPServer`` over Streamable HTTP inside our aiohttp server.

The transport is the SDK's: its ``StreamableHTTPSessionManager`` (sessions, SSE streams,
resumption, both protocol eras) is an ASGI application. An aiohttp handler hands it each
request through a small ASGI bridge; the manager runs in a task of its own for the server's
lifetime (its task group must be entered and left by one task). The route is Mastra's,
``{prefix}/mcp/{server id}/mcp``, behind the server's own middleware (auth, CORS, request
ids, body limit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict

from mastra.errors import ValidationError
from mastra.mcp.server import MCPServer

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

__all__ = ["mcp_path", "mount"]

log = logging.getLogger("mastra.mcp")

_WIND_DOWN = 5.0  # seconds a request whose client left has to finish
_UNFORWARDED = frozenset({"content-length", "transfer-encoding"})  # aiohttp frames the body


def mcp_path(server_id: str, prefix: str = "/api") -> str:
    """Mastra's route of the MCP server ``server_id``: ``{prefix}/mcp/{server_id}/mcp``."""
    return f"{prefix}/mcp/{server_id}/mcp"


def mount(
    app: web.Application, server: MCPServer, path: str | None = None, *, prefix: str = "/api"
) -> str:
    """Serve ``server`` over Streamable HTTP at ``path`` (default: Mastra's route,
    ``{prefix}/mcp/{server.id}/mcp``) on ``app``, before the app starts; returns the path.

    The MCP sessions live while the app runs: they start with it and end when it shuts
    down (their open streams close then, so a graceful shutdown does not wait on them).
    """
    if not isinstance(server, MCPServer):
        raise ValidationError(f"mount() takes an MCPServer, got {type(server).__name__}")
    route = path or mcp_path(server.id, prefix)
    endpoint = _Endpoint(server)
    app.router.add_route("*", route, endpoint.handle)
    app.on_startup.append(endpoint.start)
    app.on_shutdown.append(endpoint.stop)
    return route


class _Endpoint:
    """One mounted server: its session manager, run by an owner task while the app runs."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._manager: StreamableHTTPSessionManager | None = None
        self._stop = asyncio.Event()
        self._owner: asyncio.Task[None] | None = None

    async def start(self, app: web.Application) -> None:
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        manager = StreamableHTTPSessionManager(app=self.server.lowlevel)
        running: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._owner = asyncio.create_task(
            self._run(manager, running), name=f"mcp-http:{self.server.id}"
        )
        await running
        self._manager = manager

    async def _run(
        self, manager: StreamableHTTPSessionManager, running: asyncio.Future[None]
    ) -> None:
        try:
            async with manager.run():
                running.set_result(None)
                await self._stop.wait()
        except Exception as exc:
            if not running.done():
                running.set_exception(exc)
            else:
                log.exception(
                    "MCP server %r: its HTTP sessions ended with an error", self.server.id
                )

    async def stop(self, app: web.Application) -> None:
        self._manager = None
        self._stop.set()
        if self._owner is not None:
            await self._owner

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one request. The SDK runs in a task of its own: aiohttp cancels a handler
        whose client left, but an ASGI app expects to hear ``http.disconnect`` and finish
        (a session opened by a request whose client read the answer and hung up must stay
        open), so the cancellation becomes that message."""
        manager = self._manager
        if manager is None:
            raise web.HTTPServiceUnavailable(reason="the MCP server is not running")
        exchange = _Exchange(request)
        serving = asyncio.ensure_future(
            manager.handle_request(exchange.scope(), exchange.receive, exchange.send)
        )
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            exchange.over.set()
            await asyncio.wait({serving}, timeout=_WIND_DOWN)
            if not serving.done():
                serving.cancel()
            elif not serving.cancelled() and serving.exception() is not None:
                log.debug("MCP request ended after its client left: %r", serving.exception())
            raise
        finally:
            exchange.over.set()
        return exchange.response()


class _Exchange:
    """One HTTP request as an ASGI ``scope``/``receive``/``send``, answered through aiohttp:
    a response sent in one piece becomes a ``web.Response`` (so middleware still adds its
    headers); a streamed one (SSE) is written as it comes."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.over = asyncio.Event()  # the client left, or the answer is complete
        self._status = 500
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._body = b""
        self._stream: web.StreamResponse | None = None
        self._read = False

    def scope(self) -> dict[str, Any]:
        request = self.request
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        own = transport.get_extra_info("sockname") if transport is not None else None
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": f"{request.version.major}.{request.version.minor}",
            "method": request.method,
            "scheme": request.scheme,
            "path": request.path,
            "raw_path": request.raw_path.split("?", 1)[0].encode("latin-1"),
            "query_string": request.query_string.encode("latin-1"),
            "root_path": "",
            "headers": [(name.lower(), value) for name, value in request.raw_headers],
            "client": tuple(peer[:2]) if isinstance(peer, tuple) else None,
            "server": tuple(own[:2]) if isinstance(own, tuple) else None,
            "state": {},
        }

    async def receive(self) -> dict[str, Any]:
        """The whole body at once (aiohttp enforces the server's size limit), then, once
        the exchange is over, a disconnect."""
        if not self._read and not self.over.is_set():
            self._read = True
            return {"type": "http.request", "body": await self.request.read(), "more_body": False}
        await self.over.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if self.over.is_set():  # nobody is listening any more
            return
        if message["type"] == "http.response.start":
            self._status = message["status"]
            for name, value in message.get("headers", ()):
                key = name.decode("latin-1")
                if key.lower() not in _UNFORWARDED:
                    self._headers.add(key, value.decode("latin-1"))
            return
        if message["type"] != "http.response.body":
            return
        chunk, more = message.get("body", b""), message.get("more_body", False)
        if self._stream is None and not more:
            self._body += chunk
            return
        if self._stream is None:
            self._stream = web.StreamResponse(status=self._status, headers=self._headers)
            await self._stream.prepare(self.request)
        if chunk:
            await self._stream.write(chunk)
        if not more:
            await self._stream.write_eof()

    def response(self) -> web.StreamResponse:
        if self._stream is not None:
            return self._stream
        return web.Response(status=self._status, headers=self._headers, body=self._body)
