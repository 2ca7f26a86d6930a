import orjson
import pytest

from mastra.errors import BadRequestError, ProviderError
from mastra.http import RetryPolicy
from mastra.llm.google import GoogleModel
from mastra.llm.types import Finish, JsonSchemaFormat, ModelRequest, ModelSettings, ToolSpec
from mastra.messages import ImagePart, Message, ReasoningPart, TextPart, ToolCall, ToolResult
from tests.servers import json_reply, sse_reply

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)
REQUEST = ModelRequest(
    messages=[Message.system("Be brief."), Message.user("Weather in Paris?")], tools=[WEATHER]
)
USAGE = {
    "promptTokenCount": 12,
    "candidatesTokenCount": 8,
    "thoughtsTokenCount": 2,
    "totalTokenCount": 22,
    "cachedContentTokenCount": 3,
}


def reply(parts, finish="STOP", usage=USAGE):
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "index": 0,
                **({"finishReason": finish} if finish else {}),
            }
        ],
        "modelVersion": "gemini-2.5-flash",
        "responseId": "resp-1",
    }
    if usage:
        body["usageMetadata"] = usage
    return body


@pytest.fixture
async def gemini():
    made = []

    def make(url):
        made.append(
            GoogleModel(
                "gemini-2.5-flash",
                api_key="AIza-test-key-00000000000000",
                base_url=f"{url}/v1beta",
                retry=RetryPolicy(max_attempts=2, initial_delay=0.01),
            )
        )
        return made[-1]

    yield make
    for model in made:
        await model.close()


async def test_generate_text_thoughts_and_calls(provider_server, gemini):
    url, script = await provider_server()
    script.add(
        json_reply(
            reply(
                [
                    {"text": "Let me think", "thought": True},
                    {"text": "Checking the weather."},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                    {
                        "functionCall": {
                            "name": "get_weather",
                            "args": {"city": "Lyon"},
                            "id": "fc-2",
                        }
                    },
                ]
            )
        )
    )
    response = await gemini(url).generate(REQUEST)
    assert response.message.parts == [
        ReasoningPart("Let me think"),
        TextPart("Checking the weather."),
        ToolCall("call_2", "get_weather", {"city": "Paris"}),
        ToolCall("fc-2", "get_weather", {"city": "Lyon"}),
    ]
    assert response.finish_reason == "tool_calls"
    assert (
        response.usage.input_tokens,
        response.usage.output_tokens,
        response.usage.cached_input_tokens,
        response.usage.total_tokens,
    ) == (12, 10, 3, 22)
    sent = script.requests[0]
    assert sent["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent["headers"]["x-goog-api-key"] == "AIza-test-key-00000000000000"
    assert sent["json"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert sent["json"]["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": WEATHER.parameters,
                }
            ]
        }
    ]
    assert sent["json"]["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


async def test_stream_with_alt_sse(provider_server, gemini):
    url, script = await provider_server()
    chunks = [
        reply([{"text": "Sun"}], finish=None, usage=None),
        reply([{"text": "ny "}, {"text": "", "thought": False}], finish=None, usage=None),
        reply([{"text": "today."}], finish="STOP", usage=USAGE),
    ]
    script.add(sse_reply([orjson.dumps(c).decode() for c in chunks], done=False))
    events = [e async for e in gemini(url).stream(REQUEST)]
    final = events[-1]
    assert isinstance(final, Finish)
    assert final.response.text == "Sunny today." and final.finish_reason == "stop"
    assert final.response.usage.total_tokens == 22
    sent = script.requests[0]
    assert sent["path"].endswith(":streamGenerateContent") and sent["query"] == {"alt": "sse"}


async def test_stream_function_call_and_bad_event(provider_server, gemini):
    url, script = await provider_server()
    chunks = [reply([{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}])]
    script.add(sse_reply([orjson.dumps(c).decode() for c in chunks], done=False))
    final = [e async for e in gemini(url).stream(REQUEST)][-1]
    assert final.response.message.tool_calls == [
        ToolCall("call_0", "get_weather", {"city": "Oslo"})
    ]
    assert final.finish_reason == "tool_calls"
    url, script = await provider_server()
    script.add(sse_reply(["[1, 2"], done=False))
    with pytest.raises(ProviderError, match="not a GenerateContentResponse"):
        [e async for e in gemini(url).stream(REQUEST)]


async def test_request_translation(provider_server, gemini):
    url, script = await provider_server()
    script.add(json_reply(reply([{"text": "{}"}])))
    request = ModelRequest(
        messages=[
            Message.user(
                [
                    TextPart("see"),
                    ImagePart(data=b"img", media_type="image/png"),
                    ImagePart(url="gs://b/x.jpg", media_type="image/jpeg"),
                ]
            ),
            Message.assistant(None, [ToolCall("c1", "get_weather", {"city": "X"})]),
            Message.tool(
                [
                    ToolResult("c1", "get_weather", {"temp": 3}),
                    ToolResult("c2", "other", "boom", is_error=True),
                ]
            ),
        ],
        tools=[WEATHER],
        response_format=JsonSchemaFormat("a", {"type": "object"}),
        settings=ModelSettings(
            tool_choice="get_weather", temperature=0.1, top_p=0.5, max_tokens=9, stop=["x"], seed=3
        ),
    )
    await gemini(url).generate(request)
    body = script.requests[0]["json"]
    assert body["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "see"},
                {"inlineData": {"mimeType": "image/png", "data": "aW1n"}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://b/x.jpg"}},
            ],
        },
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "X"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 3}}},
                {"functionResponse": {"name": "other", "response": {"error": "boom"}}},
            ],
        },
    ]
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    assert body["generationConfig"] == {
        "temperature": 0.1,
        "topP": 0.5,
        "maxOutputTokens": 9,
        "stopSequences": ["x"],
        "seed": 3,
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }


async def test_errors_and_blocked_prompt(provider_server, gemini):
    url, script = await provider_server()
    script.add(
        json_reply(
            {"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}},
            status=400,
        )
    )
    with pytest.raises(BadRequestError, match="API key not valid"):
        await gemini(url).generate(REQUEST)
    url, script = await provider_server()
    script.add(json_reply({"promptFeedback": {"blockReason": "SAFETY"}}))
    with pytest.raises(ProviderError, match="without a candidate"):
        await gemini(url).generate(REQUEST)


async def test_embeddings(provider_server, gemini, monkeypatch):
    monkeypatch.setattr("mastra.llm.google._EMBED_BATCH", 2)
    url, script = await provider_server()

    async def embed(request):
        from aiohttp import web

        texts = [r["content"]["parts"][0]["text"] for r in (await request.json())["requests"]]
        return web.json_response({"embeddings": [{"values": [len(t), 0.5]} for t in texts]})

    script.add(embed)
    vectors = await gemini(url).embed(["a", "bb", "ccc"])
    assert vectors[:, 0].tolist() == [1, 2, 3]
    assert script.requests[0]["path"].endswith(":batchEmbedContents")
    assert script.requests[0]["json"]["requests"][0]["model"] == "models/gemini-2.5-flash"
