"""Streaming a 2,000-token completion that ends in a tool call, from a local server in another
process: client CPU time per token of our providers beside the official openai and anthropic
SDKs on the same bytes."""

import asyncio
import time

import pytest

from mastra.llm import Finish, ModelRequest, ModelSettings, ToolSpec, get_model
from mastra.messages import Message

STREAM_EVENTS = TOKENS = 2000
TOOL = ToolSpec(
    "lookup",
    "Search",
    {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}},
)
REQUEST = ModelRequest(
    messages=[Message.user("find it")], tools=[TOOL], settings=ModelSettings(max_tokens=4000)
)


async def ours(url, provider):
    if provider == "openai":
        model = get_model("openai/gpt-4o-mini", api_key="sk-local", base_url=f"{url}/v1/tools")
    else:
        model = get_model("anthropic/claude-sonnet-4-6", api_key="sk-local", base_url=f"{url}/v1")
    final = None
    async for event in model.stream(REQUEST):
        if isinstance(event, Finish):
            final = event.response
    await model.close()
    assert final.message.tool_calls[0].arguments == {"query": "quick brown fox", "limit": 10}
    return len(final.text)


async def openai_sdk(url):
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{url}/v1/tools", api_key="sk-local", max_retries=0)
    text, args = [], []
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "find it"}],
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": TOOL.parameters}}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            for call in choice.delta.tool_calls or []:
                args.append(call.function.arguments or "")
    await client.close()
    assert "".join(args) == '{"query":"quick brown fox","limit":10}'
    return len("".join(text))


async def anthropic_sdk(url):
    from anthropic import AsyncAnthropic

    client = AsyncAnthropic(base_url=url, api_key="sk-local", max_retries=0)
    async with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=4000,
        messages=[{"role": "user", "content": "find it"}],
        tools=[{"name": "lookup", "input_schema": TOOL.parameters}],
    ) as stream:
        final = await stream.get_final_message()
    await client.close()
    assert final.content[1].input == {"query": "quick brown fox", "limit": 10}
    return len(final.content[0].text)


CLIENTS = {
    "mastra-openai": lambda url: ours(url, "openai"),
    "openai-sdk": openai_sdk,
    "mastra-anthropic": lambda url: ours(url, "anthropic"),
    "anthropic-sdk": anthropic_sdk,
}


@pytest.mark.parametrize("name", list(CLIENTS))
def test_stream_2000_tokens_with_a_tool_call(benchmark, stream_server, name):
    consume, cpu = CLIENTS[name], []

    def run():
        started = time.process_time()
        assert asyncio.run(consume(stream_server)) > 0
        cpu.append(time.process_time() - started)

    benchmark.group = (
        "OpenAI format" if "openai" in name else "Anthropic format"
    ) + f", {TOKENS} tokens + tool call (client CPU)"
    benchmark.pedantic(run, rounds=7, warmup_rounds=1)
    cpu.sort()
    benchmark.extra_info["client CPU us/token"] = round(cpu[len(cpu) // 2] / TOKENS * 1e6, 2)
