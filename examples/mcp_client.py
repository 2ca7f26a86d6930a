"""An agent using the tools of an MCP server, runnable offline.

The MCP server is this same file started with --serve: a Mastra ``MCPServer`` offering one
tool over stdio (any MCP server works the same way, e.g. ``StdioServer("npx", ["-y",
"@modelcontextprotocol/server-filesystem", "."])``). The agent runs on a scripted
FunctionModel that asks for the tool once, then answers with what it returned.

Run: python examples/mcp_client.py        (needs pip install 'mastra[mcp]')
"""

import asyncio
import sys

from mastra import Agent, tool
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.mcp import MCPClient, MCPServer, StdioServer
from mastra.messages import Message, ToolCall


@tool
def forecast(city: str, days: int = 1) -> dict:
    """The weather forecast for a city.

    Args:
        city: the city's name.
        days: how many days ahead (1-3).
    """
    return {"city": city, "days": days, "sky": "sunny", "high_c": 21}


def scripted(request):
    """Ask for the forecast once, then answer with the tool's result."""
    last = request.messages[-1]
    if last.role == "tool":
        result = last.tool_results[0].content
        return f"In {result['city']} it will be {result['sky']}, up to {result['high_c']} °C."
    call = ToolCall("call-1", "weather_forecast", {"city": "Lisbon", "days": 2})
    return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")


async def main() -> None:
    weather = StdioServer(sys.executable, (__file__, "--serve"), timeout=30)
    async with MCPClient(servers={"weather": weather}) as mcp:
        tools = await mcp.tools()
        print("tools:", [(t.id, sorted(t.parameters["properties"])) for t in tools])
        agent = Agent(
            "planner", "Plan trips with the weather tools.", FunctionModel(scripted), tools=tools
        )
        result = await agent.generate("Will it be sunny in Lisbon?")
        print("tool calls:", [(c.name, c.arguments) for c in result.tool_calls])
        print("answer:", result.text)
    # leaving the block stopped the server process and waited for it


if __name__ == "__main__":
    if "--serve" in sys.argv:
        asyncio.run(MCPServer("weather", tools=[forecast]).run_stdio())
    else:
        asyncio.run(main())
