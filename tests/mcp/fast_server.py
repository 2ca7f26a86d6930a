"""An MCP server made with the SDK's own ``MCPServer`` (FastMCP in SDK 1.x), for the tests:

    python fast_server.py [--http PORT] [--tools N]

stdio by default; ``--http PORT`` serves Streamable HTTP on 127.0.0.1:PORT/mcp;
``--tools N`` adds N more tools ``tool_0`` ... (each returns its number plus ``x``).
"""

import argparse
import os

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("fast", instructions="Test tools.")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def fail(message: str) -> str:
    """Fail with this message."""
    raise ToolError(message)


@server.tool()
async def slow(steps: int, delay: float, ctx: Context) -> str:
    """Report progress ``steps`` times, ``delay`` seconds apart."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
        await anyio.sleep(delay)
    return f"done after {steps} steps"


@server.resource("config://app", mime_type="application/json")
def config() -> str:
    """The app's settings."""
    return '{"mode": "test"}'


@server.prompt()
def review(code: str) -> str:
    """Ask for a code review."""
    return f"Please review this code:\n{code}"


def _numbered(n: int):
    def tool_n(x: int = 0) -> int:
        return n + x

    tool_n.__name__ = f"tool_{n}"
    tool_n.__doc__ = f"Tool number {n}: returns {n} + x."
    return tool_n


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int)
    parser.add_argument("--tools", type=int, default=0)
    options = parser.parse_args()
    for number in range(options.tools):
        server.add_tool(_numbered(number))
    if options.http:
        server.run("streamable-http", host="127.0.0.1", port=options.http)
    else:
        server.run()
