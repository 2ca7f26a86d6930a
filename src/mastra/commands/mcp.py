"""``mastra mcp serve MODULE:ATTR``: a Mastra app's tools, agents and workflows as an MCP
server on stdio, for MCP clients that start it (Claude Desktop, IDEs, other agents).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mastra.mastra import Mastra
    from mastra.mcp.server import MCPServer

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    """Add ``mcp serve`` to the ``mastra`` command's subparsers."""
    mcp = commands.add_parser("mcp", help="serve a Mastra app over MCP (Model Context Protocol)")
    actions = mcp.add_subparsers(dest="mcp_command", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the app's tools, agents and workflows over MCP on stdin/stdout",
        description="Serve the tools, agents (as ask_<name>) and workflows (as run_<id>) of a "
        "Mastra app as one MCP server on stdin/stdout, for an MCP client that starts this "
        "command. Logs go to stderr.",
    )
    serve.add_argument("app", metavar="MODULE:ATTR", help="the Mastra to serve, e.g. app:mastra")
    serve.add_argument("--name", help="the server's name (default: the app's config name)")
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from mastra.commands import load_app
    from mastra.mcp.server import MCPServer

    mastra = load_app(args.app)
    asyncio.run(_run(MCPServer.from_mastra(mastra, args.name), mastra))
    return 0


async def _run(server: MCPServer, mastra: Mastra) -> None:
    try:
        await server.run_stdio()
    finally:
        await mastra.aclose()
