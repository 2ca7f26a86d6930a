"""A Mastra app's agent, tools and workflow offered over MCP (Streamable HTTP), mounted in the
Mastra HTTP server at Mastra's route for MCP servers, and called by an MCP client. Offline.

Run: python examples/mcp_server.py        (needs pip install 'mastra[mcp]')
Over stdio instead, for MCP clients that start the server themselves:
     mastra mcp serve examples.mcp_server:mastra
"""

import asyncio

import msgspec
from aiohttp import web

from mastra import Agent, Mastra, tool
from mastra.llm.testing import FunctionModel
from mastra.mcp import HttpServer, MCPClient, MCPServer, mount
from mastra.messages import ToolCall
from mastra.server import create_app
from mastra.workflows import Workflow, step


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


class Draft(msgspec.Struct):
    title: str
    body: str


@step
async def review(ctx, draft: Draft) -> dict:
    return {"title": draft.title.title(), "words": len(draft.body.split()), "ok": True}


editor = Workflow("review", input=Draft, description="Review a draft.").then(review).commit()
helper = Agent(
    "helper",
    "Answer briefly.",
    FunctionModel(lambda r: "Short answers only."),
    description="Answers questions about style.",
)
mastra = Mastra(agents=[helper], workflows=[editor], tools=[word_count])


async def main() -> None:
    app = create_app(mastra, studio=False)
    path = mount(app, MCPServer.from_mastra(mastra, "writing"))  # /api/mcp/writing/mcp
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}{path}"
    print("MCP endpoint:", url)
    try:
        async with MCPClient({"writing": HttpServer(url)}) as mcp:
            tools = {t.id: t for t in await mcp.tools()}
            print("tools:", sorted(tools))
            calls = [
                ("writing_word_count", {"text": "one two three"}),
                ("writing_ask_helper", {"prompt": "How long should a title be?"}),
                ("writing_run_review", {"title": "mcp notes", "body": "tools over the wire"}),
                ("writing_word_count", {"text": 42}),  # invalid: comes back as a tool error
            ]
            for name, arguments in calls:
                outcome = await tools[name].run(ToolCall("c", name, arguments))
                print(f"{name}: {outcome.result.content!r}")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
