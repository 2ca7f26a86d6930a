"""MCP (Model Context Protocol) on the official ``mcp`` SDK (``pip install 'mastra[mcp]'``).

``MCPClient`` gives agents the tools, resources and prompts of MCP servers reached over stdio
(``StdioServer``) or Streamable HTTP (``HttpServer``); ``MCPServer`` offers our tools, agents
and workflows to MCP clients over stdio (``mastra mcp serve app:mastra``) or Streamable HTTP
mounted in the HTTP server (``mount``). The SDK is imported on first use, not with this module.
"""

from mastra.mcp.client import MCPClient, Prompt, PromptArgument, Resource, ResourceContent
from mastra.mcp.config import HttpServer, StdioServer
from mastra.mcp.http import mcp_path, mount
from mastra.mcp.server import MCPServer
from mastra.mcp.tools import MCPTool

__all__ = [
    "HttpServer",
    "MCPClient",
    "MCPServer",
    "MCPTool",
    "Prompt",
    "PromptArgument",
    "Resource",
    "ResourceContent",
    "StdioServer",
    "mcp_path",
    "mount",
]
