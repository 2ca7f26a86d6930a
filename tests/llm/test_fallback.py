"""FallbackModel against local servers speaking OpenAI's wire format: retryable failures move
on to the next model, request errors do not, the breaker skips a failing model until its
cool-down ends, and streams switch only before their first chunk."""

import asyncio
import socket

import orjson
import pytest
from aiohttp import web

from mastra.agent import Agent
from mastra.errors import BadRequestError, ServerError
from mastra.http import RetryPolicy, Timeouts
from mastra.llm import CircuitBreaker, FallbackModel, ModelRequest, TextDelta, get_model
from mastra.llm.openai import OpenAIChatModel
from mastra.messages import Message
from mastra.telemetry import InMemoryExporter, Telemetry
from tests.servers import json_reply, sse_reply

REQUEST = ModelRequest(messages=[Message.user("hi")])
FAST_RETRY = RetryPolicy(max_attempts=2, initial_delay=0.001, max_delay=0.001)


def answer(text):
    return json_reply(
        {
            "id": "1",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    )


def failing(status):
    return json_reply({"error": {"message": f"status {status}"}}, status=status)


def stalled(seconds):
    async def reply(request):
        await asyncio.sleep(seconds)
        return web.json_response({})

    return reply


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openai(url, name, **options):
    return OpenAIChatModel(
        name, api_key="sk-test", base_url=url, retry=options.pop("retry", FAST_RETRY), **options
    )


@pytest.fixture
async def servers(provider_server):
    async def make(*first_replies):
        primary_url, primary = await provider_server("/v1")
        backup_url, backup = await provider_server("/v1")
        for reply in first_replies:
            primary.add(reply)
        backup.add(answer("from the backup"))
        return primary_url, primary, backup_url, backup

    return make


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retryable_statuses_move_to_the_next_model_after_retries(servers, status):
    primary_url, primary, backup_url, backup = await servers(failing(status))
    model = FallbackModel([openai(primary_url, "a"), openai(backup_url, "b")])
    response = await model.generate(REQUEST)
    assert response.text == "from the backup"
    assert len(primary.requests) == 2 and len(backup.requests) == 1  # its retries first


async def test_timeouts_and_refused_connections_move_on(servers):
    primary_url, _, backup_url, _ = await servers(stalled(2))
    slow = openai(primary_url, "a", timeouts=Timeouts(total=0.1), retry=RetryPolicy(max_attempts=1))
    assert (await FallbackModel([slow, openai(backup_url, "b")]).generate(REQUEST)).text == (
        "from the backup"
    )
    refused = openai(f"http://127.0.0.1:{closed_port()}/v1", "gone")
    assert (await FallbackModel([refused, openai(backup_url, "b")]).generate(REQUEST)).text == (
        "from the backup"
    )
    for made in (slow, refused):
        await made.aclose()


async def test_a_request_error_is_not_retried_elsewhere(servers):
    primary_url, primary, backup_url, backup = await servers(failing(400))
    model = FallbackModel([openai(primary_url, "a"), openai(backup_url, "b")])
    with pytest.raises(BadRequestError):
        await model.generate(REQUEST)
    assert len(primary.requests) == 1 and backup.requests == []


async def test_when_every_model_fails_the_last_error_says_what_was_tried(servers):
    primary_url, _, backup_url, backup = await servers(failing(500))
    backup.replies[:] = [failing(502)]
    model = FallbackModel([openai(primary_url, "a"), openai(backup_url, "b")])
    with pytest.raises(ServerError) as caught:
        await model.generate(REQUEST)
    assert caught.value.status == 502
    assert "openai/a: ServerError 500; openai/b: ServerError 502" in caught.value.__notes__[0]


async def test_the_breaker_skips_a_failing_model_until_the_cool_down_ends(servers):
    primary_url, primary, backup_url, backup = await servers(
        failing(500), answer("primary is back")
    )
    now = [100.0]
    breaker = CircuitBreaker(failures=1, cooldown=30, clock=lambda: now[0])
    once = RetryPolicy(max_attempts=1)
    model = FallbackModel(
        [openai(primary_url, "a", retry=once), openai(backup_url, "b")], breaker=breaker
    )
    exporter = InMemoryExporter()
    agent = Agent("a", model=model, telemetry=Telemetry("t", exporters=[exporter]))
    assert (await agent.generate("1")).text == "from the backup"
    assert len(primary.requests) == 1
    now[0] += 29
    assert (await agent.generate("2")).text == "from the backup"
    assert len(primary.requests) == 1  # skipped while cooling down
    now[0] += 1
    assert (await agent.generate("3")).text == "primary is back"
    assert len(primary.requests) == 2 and len(backup.requests) == 2
    chats = [s for s in exporter.spans if s.name == "gen_ai.chat"]
    assert [e.name for e in chats[0].events] == ["mastra.model.fallback"]
    assert chats[0].events[0].attributes == {
        "model": "openai/a",
        "error": "ServerError",
        "status": 500,
    }
    assert chats[0].attributes["mastra.model.used"] == "openai/b"
    assert [e.name for e in chats[1].events] == ["mastra.model.skipped"]
    assert chats[2].attributes["mastra.model.used"] == "openai/a" and chats[2].events == []
    assert chats[0].attributes["gen_ai.system"] == "fallback"


def text_chunks(*words):
    return [
        orjson.dumps({"id": "s", "choices": [{"index": 0, "delta": {"content": w}}]}).decode()
        for w in words
    ]


async def test_streams_switch_only_before_their_first_chunk(servers):
    primary_url, primary, backup_url, backup = await servers(failing(503))
    backup.replies[:] = [sse_reply(text_chunks("from", " backup"))]
    model = FallbackModel([openai(primary_url, "a"), openai(backup_url, "b")])
    deltas = [e.text async for e in model.stream(REQUEST) if isinstance(e, TextDelta)]
    assert deltas == ["from", " backup"]

    primary.replies[:] = [sse_reply([*text_chunks("half"), "{broken"], done=False)]
    with pytest.raises(Exception, match="streamed an event that is not"):
        async for _ in model.stream(REQUEST):
            pass
    assert len(backup.requests) == 1  # no switch after "half" was streamed


async def test_agent_model_lists_and_get_model_lists(servers, monkeypatch):
    primary_url, primary, backup_url, _ = await servers(
        json_reply({"error": {"message": "slow down"}}, status=429, headers={"retry-after-ms": "1"})
    )
    monkeypatch.setenv("OPENAI_BASE_URL", primary_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("GROQ_BASE_URL", backup_url)
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    async with Agent("a", model=["openai/gpt-4o-mini", "groq/llama"]) as agent:
        assert isinstance(agent.model, FallbackModel)
        assert (await agent.generate("hi")).text == "from the backup"
    assert len(primary.requests) == 3  # the default policy's three attempts
    made = get_model(["openai/gpt-4o-mini", "groq/llama"])
    assert isinstance(made, FallbackModel) and made.model == "openai/gpt-4o-mini,groq/llama"
    await made.aclose()
    with pytest.raises(Exception, match="non-empty list of models"):
        FallbackModel([])
