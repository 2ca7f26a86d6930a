"""The official openai SDK (sync, async, streaming) against /v1: a Mastra.py agent as a
model; its tools run server-side."""

import asyncio

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from mastra import Agent, Mastra
from mastra.llm.testing import FunctionModel
from mastra.server import ApiKeyAuth


@pytest.fixture
async def base_url(client):
    api = await client()
    return str(api.make_url("/v1"))


async def test_async_sdk_non_streaming(base_url):
    sdk = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0)
    completion = await sdk.chat.completions.create(
        model="weather",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "Weather in Paris"},
        ],
    )
    await sdk.close()
    assert completion.object == "chat.completion" and completion.model == "weather"
    choice = completion.choices[0]
    assert choice.message.content == "It is 18 C in Paris." and choice.finish_reason == "stop"
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    models = [m.id async for m in AsyncOpenAI(base_url=base_url, api_key="x").models.list()]
    assert sorted(models) == ["echo", "weather"]


async def test_async_sdk_streaming_with_usage(base_url):
    sdk = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0)
    stream = await sdk.chat.completions.create(
        model="weather",
        messages=[{"role": "user", "content": "Weather in Rome"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finishes, usage = "", [], None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    await sdk.close()
    assert text == "It is 18 C in Rome." and finishes == ["stop"]
    assert usage is not None and usage.completion_tokens > 0


async def test_sync_sdk_and_errors(base_url):
    """The sync client, in a thread (the server runs on this test's event loop)."""
    await asyncio.to_thread(sync_calls, base_url)


def sync_calls(base_url):
    sdk = OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=10)
    reply = sdk.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hey"}])
    assert reply.choices[0].message.content == "echo: hey"
    with pytest.raises(openai.NotFoundError) as caught:
        sdk.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "x"}])
    assert "no agent named 'gpt-5'" in str(caught.value)
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model="echo", messages=[])
    sdk.close()


async def test_the_sdk_with_an_api_key(client):
    api = await client(
        Mastra(agents=[Agent("echo", "x", FunctionModel(lambda r: "ok"))]),
        auth=ApiKeyAuth(["sk-server-1"]),
    )
    url = str(api.make_url("/v1"))
    good = AsyncOpenAI(base_url=url, api_key="sk-server-1", max_retries=0)
    assert (
        await good.chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "x"}]
        )
    ).choices[0].message.content == "ok"
    bad = AsyncOpenAI(base_url=url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.chat.completions.create(model="echo", messages=[{"role": "user", "content": "x"}])
    await asyncio.gather(good.close(), bad.close())


async def test_the_user_field_reaches_the_run_context(client):
    def instructions(run):
        return f"Serve {run.context.get('user', 'nobody')}."

    api = await client(
        Mastra(agents=[Agent("who", instructions, FunctionModel(lambda r: r.messages[0].text))])
    )
    sdk = AsyncOpenAI(base_url=str(api.make_url("/v1")), api_key="x", max_retries=0)
    asked = [{"role": "user", "content": "hi"}]
    tagged = await sdk.chat.completions.create(model="who", messages=asked, user="u-42")
    untagged = await sdk.chat.completions.create(model="who", messages=asked)
    await sdk.close()
    assert tagged.choices[0].message.content == "Serve u-42."
    assert untagged.choices[0].message.content == "Serve nobody."
