"""Serve an agent over HTTP and call it three ways: MastraClient (Mastra's REST API), its
stream, and the OpenAI Chat Completions API. Runnable offline.

Run: python examples/server_and_client.py            (FunctionModel, offline)
     MASTRA_MODEL=openai/gpt-4o-mini python examples/server_and_client.py
For a real deployment: mastra serve app:mastra --port 4111 --workers 4
"""

import asyncio
import os

import aiohttp
from aiohttp import web

from mastra import Agent, Mastra, MastraClient, tool
from mastra.llm import ModelRequest, ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall
from mastra.server import ApiKeyAuth, create_app


@tool
def opening_hours(day: str) -> str:
    """When the shop is open.

    Args:
        day: a weekday in English.
    """
    return "closed" if day.lower() == "sunday" else "9:00-18:00"


def offline(request: ModelRequest) -> ModelResponse | str:
    """A stand-in model: asks the tool about the day named last, then answers from it."""
    last = request.messages[-1]
    if last.role != "tool":
        day = "Sunday" if "sunday" in last.text.lower() else "Monday"
        call = ToolCall("call_1", "opening_hours", {"day": day})
        return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")
    return f"Our hours that day: {last.tool_results[0].content}."


model = os.environ.get("MASTRA_MODEL") or FunctionModel(offline)
mastra = Mastra(agents=[Agent("shop", "Answer in one sentence.", model, tools=[opening_hours])])


async def main() -> None:
    runner = web.AppRunner(create_app(mastra, auth=ApiKeyAuth(["sk-example"])))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        async with MastraClient(base, api_key="sk-example") as client:
            print("agents:", list(await client.list_agents()))
            shop = client.get_agent("shop")
            answer = await shop.generate("When are you open on Monday?")
            print("generate:", answer["text"])
            kinds = [chunk["type"] async for chunk in shop.stream("And on Sunday?")]
            print("stream chunks:", " ".join(dict.fromkeys(kinds)))
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer sk-example"}) as http:
            asked = {"model": "shop", "messages": [{"role": "user", "content": "Open Monday?"}]}
            async with http.post(f"{base}/v1/chat/completions", json=asked) as reply:
                completion = await reply.json()
            print("openai:", completion["choices"][0]["message"]["content"])
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get(f"{base}/api/agents") as refused,
        ):
            print("without the key:", refused.status, (await refused.json())["error"])
    finally:
        await runner.cleanup()
        await mastra.aclose()


if __name__ == "__main__":
    asyncio.run(main())
