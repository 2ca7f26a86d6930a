import orjson
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from mastra.errors import AuthenticationError, ContextLengthError, ProviderError, RateLimitError
from mastra.http import RetryPolicy
from mastra.llm.openai import OpenAIChatModel
from mastra.llm.types import (
    Finish,
    JsonSchemaFormat,
    ModelRequest,
    ModelSettings,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolSpec,
    UsageUpdate,
)
from mastra.messages import ImagePart, Message, TextPart, ToolCall, ToolResult
from tests.servers import json_reply, sse_reply

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
USAGE = {
    "prompt_tokens": 21,
    "completion_tokens": 9,
    "total_tokens": 30,
    "prompt_tokens_details": {"cached_tokens": 4},
}


def completion(message, finish="stop"):
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-123",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", **message},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": USAGE,
        }
    ).model_dump(mode="json", exclude_unset=True)


def chunk(delta=None, finish=None, usage=None, choices=True):
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-9",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
            if choices
            else [],
            **({"usage": usage} if usage else {}),
        }
    ).model_dump_json(exclude_unset=True)


def two_tool_calls_stream():
    """Two parallel tool calls whose arguments arrive a few characters at a time."""
    events = [chunk({"role": "assistant", "content": None})]
    for index, (call_id, city) in enumerate([("call_a", "Paris"), ("call_b", "Oslo")]):
        args = orjson.dumps({"city": city}).decode()
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                }
            )
        )
        for start in range(0, len(args), 3):
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {"index": index, "function": {"arguments": args[start : start + 3]}}
                        ]
                    }
                )
            )
    events.append(chunk({}, finish="tool_calls"))
    events.append(chunk(usage=USAGE, choices=False))
    return events


def text_stream(words, done=True):
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": w}) for w in words]
    events += [chunk({}), chunk({}, finish="stop"), chunk(usage=USAGE, choices=False)]
    return sse_reply(events, done=done)


REQUEST = ModelRequest(
    messages=[Message.system("Be brief."), Message.user("Weather in Paris?")], tools=[WEATHER]
)


@pytest.fixture
async def model_at():
    """OpenAI models at a local URL, closed after the test."""
    made = []

    def make(url, **kw):
        made.append(
            OpenAIChatModel(
                "gpt-4o-mini",
                api_key="sk-test-key-0000000000",
                base_url=url,
                retry=RetryPolicy(max_attempts=3, initial_delay=0.01),
                **kw,
            )
        )
        return made[-1]

    yield make
    for model in made:
        await model.close()


async def sdk_result(url, stream):
    """What the official SDK makes of the same server reply: text, calls, finish, usage."""
    client = AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0)
    kwargs = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": WEATHER.parameters},
            }
        ],
    }
    if not stream:
        done = await client.chat.completions.create(**kwargs)
        message = done.choices[0].message
        calls = [
            (c.id, c.function.name, orjson.loads(c.function.arguments))
            for c in message.tool_calls or []
        ]
        result = (
            message.content or "",
            calls,
            done.choices[0].finish_reason,
            done.usage.prompt_tokens,
            done.usage.completion_tokens,
        )
    else:
        text, calls, finish, usage = [], {}, None, None
        stream = await client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        async for part in stream:
            usage = part.usage or usage
            for choice in part.choices:
                text.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
                for call in choice.delta.tool_calls or []:
                    entry = calls.setdefault(call.index, [call.id, call.function.name, ""])
                    entry[2] += call.function.arguments or ""
        result = (
            "".join(text),
            [(i, n, orjson.loads(a)) for i, n, a in calls.values()],
            finish,
            usage.prompt_tokens,
            usage.completion_tokens,
        )
    await client.close()
    return result


def ours(response):
    return (
        response.text,
        [(c.id, c.name, c.arguments) for c in response.message.tool_calls],
        response.finish_reason,
        response.usage.input_tokens,
        response.usage.output_tokens,
    )


@pytest.mark.parametrize(
    "reply",
    [
        completion({"content": "It is sunny."}),
        completion(
            {
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            "tool_calls",
        ),
    ],
)
async def test_generate_agrees_with_the_official_sdk(provider_server, reply, model_at):
    url, script = await provider_server("/v1")
    script.add(json_reply(reply))
    model = model_at(url)
    response = await model.generate(REQUEST)
    assert ours(response) == await sdk_result(url, stream=False)
    assert response.usage.cached_input_tokens == 4 and response.usage.total_tokens == 30
    assert response.id == "chatcmpl-123"
    sent = script.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sk-test-key-0000000000"
    assert sent["json"]["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": WEATHER.parameters,
        },
    }
    assert sent["json"]["tool_choice"] == "auto"


@pytest.mark.parametrize(
    "reply", [text_stream(["It", "", " is", " sunny", "."]), sse_reply(two_tool_calls_stream())]
)
async def test_stream_agrees_with_the_official_sdk(provider_server, reply, model_at):
    url, script = await provider_server("/v1")
    script.add(reply)
    model = model_at(url)
    events = [e async for e in model.stream(REQUEST)]
    finish = events[-1]
    assert isinstance(finish, Finish)
    sdk = await sdk_result(url, stream=True)
    assert ours(finish.response)[0] == sdk[0]
    assert [(c.id, c.name, c.arguments) for c in finish.response.message.tool_calls] == [
        (i, n, a) for i, n, a in sdk[1]
    ]
    assert (
        finish.finish_reason,
        finish.response.usage.input_tokens,
        finish.response.usage.output_tokens,
    ) == sdk[2:]
    assert sum(isinstance(e, UsageUpdate) for e in events) == 1
    assert all(e.text for e in events if isinstance(e, TextDelta))  # no empty deltas
    body = script.requests[0]["json"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_tool_call_events_in_order(provider_server, model_at):
    url, script = await provider_server("/v1")
    script.add(sse_reply(two_tool_calls_stream()))
    model = model_at(url)
    events = [e async for e in model.stream(REQUEST)]
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    deltas = "".join(
        e.arguments_delta for e in events if isinstance(e, ToolCallDelta) and e.index == 1
    )
    assert [(s.index, s.id) for s in starts] == [(0, "call_a"), (1, "call_b")]
    assert deltas == '{"city":"Oslo"}'
    assert [e.tool_call for e in ends] == [
        ToolCall("call_a", "get_weather", {"city": "Paris"}),
        ToolCall("call_b", "get_weather", {"city": "Oslo"}),
    ]


async def test_stream_without_done_still_finishes(provider_server, model_at):
    url, script = await provider_server("/v1")
    script.add(text_stream(["a", "b"], done=False))
    model = model_at(url)
    events = [e async for e in model.stream(REQUEST)]
    assert events[-1].response.text == "ab" and events[-1].finish_reason == "stop"


async def test_request_translation(provider_server, model_at):
    url, script = await provider_server("/v1")
    script.add(json_reply(completion({"content": "ok"})))
    model = model_at(url)
    request = ModelRequest(
        messages=[
            Message.system("sys"),
            Message.user(
                [
                    TextPart("look"),
                    ImagePart(data=b"\x89PNG", media_type="image/png"),
                    ImagePart(url="https://x/y.jpg"),
                ]
            ),
            Message.assistant("calling", [ToolCall("c1", "get_weather", {"city": "Oslo"})]),
            Message.tool([ToolResult("c1", "get_weather", {"temp": 3})]),
        ],
        tools=[WEATHER],
        response_format=JsonSchemaFormat("answer", {"type": "object"}),
        settings=ModelSettings(
            tool_choice="get_weather",
            temperature=0.2,
            top_p=0.9,
            max_tokens=50,
            stop=["\n\n"],
            seed=7,
            extra={"user": "u-1"},
        ),
    )
    await model.generate(request)
    body = script.requests[0]["json"]
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
                {"type": "image_url", "image_url": {"url": "https://x/y.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp":3}'},
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }
    assert (
        body["temperature"],
        body["top_p"],
        body["max_completion_tokens"],
        body["stop"],
        body["seed"],
        body["user"],
    ) == (0.2, 0.9, 50, ["\n\n"], 7, "u-1")


async def test_refusal_and_bad_arguments(provider_server, model_at):
    url, script = await provider_server("/v1")
    script.add(json_reply(completion({"content": None, "refusal": "I can't help with that."})))
    script.add(
        json_reply(
            completion(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{oops"},
                        }
                    ],
                },
                "tool_calls",
            )
        )
    )
    model = model_at(url)
    refused = await model.generate(REQUEST)
    assert refused.finish_reason == "content_filter" and refused.text == "I can't help with that."
    broken = await model.generate(REQUEST)
    [call] = broken.message.tool_calls
    assert call.arguments == {} and call.raw_arguments == "{oops"


async def test_errors_map_to_the_provider_family(provider_server, model_at):
    url, script = await provider_server("/v1")
    error = {
        "error": {
            "message": "This model's maximum context length is 128000 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
    script.add(json_reply(error, status=400))
    model = model_at(url)
    with pytest.raises(ContextLengthError, match="maximum context length") as info:
        await model.generate(REQUEST)
    assert info.value.provider == "openai" and len(script.requests) == 1

    url, script = await provider_server("/v1")
    script.add(
        json_reply(
            {"error": {"message": "Rate limit reached", "type": "requests"}},
            status=429,
            headers={"retry-after-ms": "5"},
        )
    )
    script.add(json_reply(completion({"content": "after retry"})))
    model = model_at(url)
    assert (await model.generate(REQUEST)).text == "after retry"
    assert len(script.requests) == 2

    url, script = await provider_server("/v1")
    script.add(json_reply({"error": {"message": "Rate limit reached"}}, status=429))
    with pytest.raises(RateLimitError):
        await model_at(url).generate(REQUEST)


async def test_bad_json_from_the_server_is_a_provider_error(provider_server, model_at):
    url, script = await provider_server("/v1")
    script.add(sse_reply(["{not json"]))
    model = model_at(url)
    with pytest.raises(ProviderError, match="not a completion chunk"):
        [e async for e in model.stream(REQUEST)]
    url, script = await provider_server("/v1")
    script.add(json_reply({"choices": "nope"}))
    with pytest.raises(ProviderError, match="does not match the expected shape"):
        await model_at(url).generate(REQUEST)


async def test_missing_key_fails_at_first_use_naming_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = OpenAIChatModel("gpt-4o-mini")  # constructing is fine
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY"):
        await model.generate(REQUEST)


async def test_embeddings_are_batched_and_ordered(provider_server, monkeypatch, model_at):
    monkeypatch.setattr("mastra.llm.openai._EMBED_BATCH", 3)
    url, script = await provider_server("/v1")

    async def embeddings(request):
        from aiohttp import web

        inputs = (await request.json())["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0]}
            for i, t in enumerate(inputs)
        ][::-1]  # out of order on purpose
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": "m",
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    script.add(embeddings)
    model = model_at(url)
    vectors = await model.embed(["a", "bb", "ccc", "dddd", "eeeee"])
    assert vectors.dtype.name == "float32" and vectors[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert [len(r["json"]["input"]) for r in script.requests] == [3, 2]
