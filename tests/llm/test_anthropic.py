import orjson
import pytest
from anthropic import AsyncAnthropic
from anthropic.types import Message as SDKMessage

from mastra.errors import ContextLengthError, ServerError
from mastra.http import RetryPolicy
from mastra.llm.anthropic import AnthropicModel
from mastra.llm.types import (
    Finish,
    JsonSchemaFormat,
    ModelRequest,
    ModelSettings,
    ReasoningDelta,
    ToolCallEnd,
    ToolSpec,
)
from mastra.messages import ImagePart, Message, ReasoningPart, TextPart, ToolCall, ToolResult
from tests.servers import json_reply, sse_reply

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)
REQUEST = ModelRequest(
    messages=[Message.system("Be brief."), Message.user("Weather in Paris?")],
    tools=[WEATHER],
    settings=ModelSettings(max_tokens=300),
)


def message(content, stop="end_turn"):
    return SDKMessage.model_validate(
        {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": 12},
        }
    ).model_dump(mode="json", exclude_unset=True)


def stream_events(blocks, stop="end_turn"):
    """The documented event sequence; blocks are (start_block, [deltas])."""
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_02",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-6",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 25, "output_tokens": 1},
            },
        }
    ]
    for index, (start, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        if index == 0:
            events.append({"type": "ping"})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 40},
        }
    )
    events.append({"type": "message_stop"})
    return sse_reply(
        [orjson.dumps(e).decode() for e in events],
        done=False,
        event_names=[e["type"] for e in events],
    )


def pieces(text, size=4):
    return [text[i : i + size] for i in range(0, len(text), size)]


TEXT_STREAM = [
    (
        {"type": "text", "text": ""},
        [{"type": "text_delta", "text": p} for p in pieces("Sunny and mild.")],
    )
]
TOOL_STREAM = [
    (
        {"type": "thinking", "thinking": "", "signature": ""},
        [
            {"type": "thinking_delta", "thinking": "Need weather."},
            {"type": "signature_delta", "signature": "sig123"},
        ],
    ),
    ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "Checking."}]),
    (
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
        [{"type": "input_json_delta", "partial_json": p} for p in pieces('{"city": "Paris"}', 3)],
    ),
    (
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
        [{"type": "input_json_delta", "partial_json": p} for p in pieces('{"city": "Rome"}', 2)],
    ),
]


@pytest.fixture
async def claude():
    made = []

    def make(url):
        made.append(
            AnthropicModel(
                "claude-sonnet-4-6",
                api_key="sk-ant-test-000000000000",
                base_url=f"{url}/v1",
                retry=RetryPolicy(max_attempts=3, initial_delay=0.01),
            )
        )
        return made[-1]

    yield make
    for model in made:
        await model.close()


async def sdk_result(url, stream):
    client = AsyncAnthropic(base_url=url, api_key="sk-ant-test", max_retries=0)
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "get_weather", "input_schema": WEATHER.parameters}],
    }
    if stream:
        async with client.messages.stream(**kwargs) as events:
            final = await events.get_final_message()
    else:
        final = await client.messages.create(**kwargs)
    await client.close()
    text = "".join(b.text for b in final.content if b.type == "text")
    calls = [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"]
    return text, calls, final.stop_reason, final.usage.input_tokens, final.usage.output_tokens


def ours(response):
    return (
        response.text,
        [(c.id, c.name, c.arguments) for c in response.message.tool_calls],
        response.finish_reason,
        response.usage.input_tokens,
        response.usage.output_tokens,
    )


STOP = {"end_turn": "stop", "tool_use": "tool_calls"}


@pytest.mark.parametrize(
    ("content", "stop"),
    [
        ([{"type": "text", "text": "Sunny."}], "end_turn"),
        (
            [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                },
            ],
            "tool_use",
        ),
    ],
)
async def test_generate_agrees_with_the_official_sdk(provider_server, claude, content, stop):
    url, script = await provider_server()
    script.add(json_reply(message(content, stop)))
    response = await claude(url).generate(REQUEST)
    text, calls, sdk_stop, sdk_in, sdk_out = await sdk_result(url, stream=False)
    assert ours(response) == (text, calls, STOP[sdk_stop], sdk_in, sdk_out)
    sent = script.requests[0]
    assert sent["path"] == "/v1/messages"
    assert sent["headers"]["x-api-key"] == "sk-ant-test-000000000000"
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["json"]["system"] == "Be brief." and sent["json"]["max_tokens"] == 300
    assert sent["json"]["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": WEATHER.parameters,
        }
    ]


@pytest.mark.parametrize(("blocks", "stop"), [(TEXT_STREAM, "end_turn"), (TOOL_STREAM, "tool_use")])
async def test_stream_agrees_with_the_official_sdk(provider_server, claude, blocks, stop):
    url, script = await provider_server()
    script.add(stream_events(blocks, stop))
    events = [e async for e in claude(url).stream(REQUEST)]
    final = events[-1]
    assert isinstance(final, Finish)
    text, calls, sdk_stop, sdk_in, sdk_out = await sdk_result(url, stream=True)
    assert ours(final.response) == (text, calls, STOP[sdk_stop], sdk_in, sdk_out)
    if blocks is TOOL_STREAM:
        assert final.response.message.parts[0] == ReasoningPart("Need weather.", "sig123")
        assert [e.index for e in events if isinstance(e, ToolCallEnd)] == [2, 3]
        assert any(isinstance(e, ReasoningDelta) for e in events)
    assert script.requests[0]["json"]["stream"] is True


async def test_request_translation(provider_server, claude):
    url, script = await provider_server()
    script.add(json_reply(message([{"type": "text", "text": "ok"}])))
    request = ModelRequest(
        messages=[
            Message.system("one"),
            Message.system("two"),
            Message.user([TextPart("see"), ImagePart(data=b"img", media_type="image/jpeg")]),
            Message(
                "assistant",
                [
                    ReasoningPart("hmm", "sig"),
                    ReasoningPart("no sig"),
                    TextPart("calling"),
                    ToolCall("t1", "get_weather", {"city": "X"}),
                ],
            ),
            Message.tool([ToolResult("t1", "get_weather", "boom", is_error=True)]),
            Message.user("and?"),
        ],
        tools=[WEATHER],
        settings=ModelSettings(tool_choice="required", temperature=0.5, stop=["END"]),
    )
    await claude(url).generate(request)
    body = script.requests[0]["json"]
    assert body["system"] == "one\n\ntwo"
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/jpeg", "data": "aW1n"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "X"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True},
                {"type": "text", "text": "and?"},
            ],
        },
    ]
    assert body["tool_choice"] == {"type": "any"}
    assert (body["temperature"], body["stop_sequences"], body["max_tokens"]) == (0.5, ["END"], 4096)


async def test_structured_output_through_a_forced_tool(provider_server, claude):
    url, script = await provider_server()
    answer = {"type": "tool_use", "id": "toolu_9", "name": "verdict", "input": {"ok": True}}
    script.add(json_reply(message([answer], "tool_use")))
    request = ModelRequest(
        messages=[Message.user("judge")],
        response_format=JsonSchemaFormat("verdict", {"type": "object"}),
    )
    response = await claude(url).generate(request)
    assert response.text == '{"ok":true}' and response.finish_reason == "stop"
    assert not response.message.tool_calls
    body = script.requests[0]["json"]
    assert body["tool_choice"] == {"type": "tool", "name": "verdict"}


async def test_overloaded_is_retried_and_errors_map(provider_server, claude):
    url, script = await provider_server()
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    script.add(json_reply(overloaded, status=529))
    script.add(json_reply(message([{"type": "text", "text": "fine"}])))
    assert (await claude(url).generate(REQUEST)).text == "fine"
    assert len(script.requests) == 2

    url, script = await provider_server()
    too_long = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 210000 tokens > 200000",
        },
    }
    script.add(json_reply(too_long, status=400))
    with pytest.raises(ContextLengthError, match="prompt is too long"):
        await claude(url).generate(REQUEST)


async def test_error_event_mid_stream(provider_server, claude):
    url, script = await provider_server()
    events = [
        {
            "type": "message_start",
            "message": {"id": "m", "model": "c", "content": [], "usage": {"input_tokens": 1}},
        },
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]
    script.add(sse_reply([orjson.dumps(e).decode() for e in events], done=False))
    with pytest.raises(ServerError, match="overloaded_error: Overloaded"):
        [e async for e in claude(url).stream(REQUEST)]
